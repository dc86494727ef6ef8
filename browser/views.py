"""What the page draws, without Solara: the network and chart figures (matplotlib), their legend
and captions, the indicator cards' texts and the levers' captions."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from pydantic.fields import FieldInfo

from agents import Role
from browser.controls import GROUPS, lever_fields
from browser.live import ENT, GOV, PUB, BrowserModel
from simulation.config import Scenario, field_bounds
from simulation.config.keys import value_at
from simulation.config.schema import field_unit
from simulation.core.metrics import components
from simulation.core.model import DataSharingModel
from simulation.core.requests import KINDS
from simulation.core.runner import timeseries_of
from simulation.experiments.numbers import number

# ---------------------------------------------------------------------------------------------
# Network view

ROLE_COLOURS = {GOV: ("#1d4e89", "#a9c4e4"), ENT: ("#b5520b", "#f5c9a6"), PUB: ("#2a7f62", "#b9dfcf")}  # (sharing, not)
ISOLATED_RING, ISLAND_RING, LINK_COLOUR = "#d62728", "#7b2cbf", "#555555"


def recent_links(model: DataSharingModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holder links with a request fulfilled within the window, and the data each carried this step."""
    recent = model.recent_flow_mask()
    carried = (model.flows.forward + model.flows.backward)[recent]
    return model.links.u[recent], model.links.v[recent], carried


def island_masks(model: DataSharingModel, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks over holders: isolated (no recent flow), and on an island apart from the largest group."""
    h = model.layout.holders
    _, labels = components(h, u, v)
    isolated = (np.bincount(u, minlength=h) + np.bincount(v, minlength=h)) == 0
    apart = (labels != np.argmax(np.bincount(labels))) & ~isolated
    return isolated, apart


def legend_html() -> str:
    """The network's legend as page text: drawn once by the browser instead of into every frame."""
    def dot(face: str, ring: str = "transparent") -> str:
        return (f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;background:{face};'
                f'border:2px solid {ring};vertical-align:middle;margin:0 3px 0 10px"></span>')

    items = [f"{dot(ROLE_COLOURS[r][0])}{dot(ROLE_COLOURS[r][1])}{name} (dark: sharing, light: not)"
             for r, name in ((r, r.label) for r in Role)]
    items += [f"{dot('white', ISOLATED_RING)}holder with no request fulfilled, either way, in the last months",
              f"{dot('white', ISLAND_RING)}holder on an island apart from the largest group",
              f'<span style="display:inline-block;width:22px;border-top:3px solid {LINK_COLOUR};vertical-align:middle;'
              f'margin:0 3px 0 10px"></span>a request fulfilled in the last months, wider with more volume this month;'
              ' size of a holder: its data volume']
    return '<div style="font-size:0.85em;line-height:1.6">' + "<br>".join(items) + "</div>"


LEGEND_HTML = legend_html()
ROLE_RGBA = np.array([[to_rgba(ROLE_COLOURS[r][s]) for s in (0, 1)] for r in Role])  # [role, not sharing]
NO_RING = (0.0, 0.0, 0.0, 0.0)


class NetworkFigure:
    """The network of one model.  Artists are made once and updated each step, because building a
    figure from scratch costs several times more than redrawing it; it holds no text for the same
    reason (the title and legend are page text)."""

    def __init__(self, model: BrowserModel) -> None:
        pos, h = model.positions, model.layout.holders
        self.figure = Figure(figsize=(5.6, 5.6))
        ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(-1.04, 1.04)
        ax.set_ylim(-1.04, 1.04)
        self.links = LineCollection([], colors=LINK_COLOUR, alpha=0.5, zorder=1)
        ax.add_collection(self.links)
        sizes = np.full(model.layout.total, 6.0)
        sizes[:h] = 14 + 30 * np.sqrt(model.holders.volume)  # area grows with data volume
        self.nodes = ax.scatter(pos[:, 0], pos[:, 1], s=sizes, linewidths=1.3, zorder=2)

    def update(self, model: BrowserModel) -> None:
        pos, h = model.positions, model.layout.holders
        u, v, carried = recent_links(model)
        peak = carried.max() if len(carried) else 0.0
        self.links.set_segments(np.stack([pos[u], pos[v]], axis=1))
        self.links.set_linewidths(0.4 + (3.0 * np.sqrt(carried / peak) if peak > 0 else 0.0))
        self.nodes.set_facecolors(ROLE_RGBA[model.population.role, 1 - model.population.strategy])
        isolated, apart = island_masks(model, *model.recent_flow_links(two_way=True))
        rings = np.tile(NO_RING, (model.layout.total, 1))
        rings[:h][isolated], rings[:h][apart] = to_rgba(ISOLATED_RING), to_rgba(ISLAND_RING)
        self.nodes.set_edgecolors(rings)


def network_caption(model: DataSharingModel) -> str:
    m = model.metrics
    return (f"Month {model.steps}: {m['islands']} islands of two-way exchange"
            f" ({m['islands_either_way']} if a delivery either way joins holders);"
            f" the largest connected group holds {m['largest_component_share']:.0%} of data holders")


# ---------------------------------------------------------------------------------------------
# Charts

SHARE = (0.0, 1.02)
GRID_COLOUR = "#7a5195"
CHARTS = (  # title, {metric: (label, colour)}, fixed y range or None
    ("Sharing volume per month", {"sharing_volume": ("volume", "#333333")}, None),
    ("Requests per month", {
        "requests_filed": ("filed", "#333333"),
        "requests_granted": ("granted", "#2a7f62"),
        "requests_refused": ("refused", "#d62728"),
        "requests_escalated": ("escalated", "#1d4e89"),
    }, None),
    ("Requests fulfilled; answered late", {
        "fulfilment_catalogued": ("fulfilled, between departments", "#2a7f62"),
        "fulfilment_cross_sector": ("fulfilled, cross-sector", "#8fbf7f"),
        "beyond_window_share": ("beyond the window", "#d62728"),
    }, SHARE),
    ("Grants per month: voluntary and forced", {
        "grants_voluntary": ("voluntary", "#2a7f62"),
        "grants_forced": ("forced by the authority", "#1d4e89"),
        "authority_backlog": ("cases queued", "#999999"),
    }, None),
    ("Waiting time (working days)", {
        "wait_mean_days": ("mean", "#333333"),
        "wait_p90_days": ("90th percentile", "#999999"),
    }, None),
    ("Data islands", {
        "islands": ("two-way exchange", ISLAND_RING),
        "islands_either_way": ("either way", "#c9a6e4"),
    }, None),
    ("Integration and trust", {
        "largest_component_share": ("largest group", ISLAND_RING),
        "producer_integration": ("producers integrated", "#b5520b"),
        "mean_trust": ("mean trust", "#1d4e89"),
    }, SHARE),
    ("Adoption by role", {
        "adoption_government": ("departments", ROLE_COLOURS[GOV][0]),
        "adoption_enterprise": ("enterprises", ROLE_COLOURS[ENT][0]),
        "adoption_public": ("public", ROLE_COLOURS[PUB][0]),
        "grid_sharing": ("grid company", GRID_COLOUR),
    }, SHARE),
    ("Countermeasure cost per month (10k yuan)", {
        "countermeasure_cost": ("outlays", "#333333"),
        "net_countermeasure_cost": ("net of fines", "#999999"),
    }, None),
)


class ChartFigure:
    """The live charts of one model, drawn like :class:`NetworkFigure` (artists made once)."""

    def __init__(self) -> None:
        self.figure = Figure(figsize=(7.0, 7.4))
        self.figure.subplots_adjust(left=0.08, right=0.98, top=0.96, bottom=0.07, hspace=0.45, wspace=0.22)
        self.figure.supxlabel("month", fontsize=8)  # one figure label: per-axes labels cost a layout pass
        self.axes = self.figure.subplots(4, 2, sharex=True).ravel()
        self.lines = []
        for ax, (title, series, fixed) in zip(self.axes, CHARTS):
            for metric, (label, colour) in series.items():
                (line,) = ax.plot([], [], label=label, color=colour)
                self.lines.append((metric, line))
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.locator_params(nbins=4)  # fewer ticks: drawing them is much of the cost of a redraw
            if fixed:
                ax.set_ylim(*fixed)
            if len(series) > 1:
                ax.legend(fontsize=6, frameon=False, loc="upper left", ncols=2)

    def update(self, model: DataSharingModel) -> None:
        frame = timeseries_of(model)
        for metric, line in self.lines:
            line.set_data(frame["step"].to_numpy(), frame[metric].to_numpy())
        for ax, (_, _, fixed) in zip(self.axes, CHARTS):
            ax.relim()
            ax.autoscale_view(scaley=fixed is None)
        self.axes[0].set_xlim(0, max(1, model.steps))


# ---------------------------------------------------------------------------------------------
# Texts of the page


def countermeasure_status(model: DataSharingModel) -> list[str]:
    """One line per countermeasure: off, or when it starts and how strong it is now."""
    lines = []
    for countermeasure in model.package:
        short = GROUPS[countermeasure.name][1] if countermeasure.name in GROUPS else countermeasure.name
        if countermeasure.enabled:
            lines.append(
                f"{short}: on from month {countermeasure.settings.start},"
                f" full from month {countermeasure.full_strength_step},"
                f" now {countermeasure.strength(model.steps):.0%}"
            )
        else:
            lines.append(f"{short}: off")
    return lines


def indicator_texts(model: DataSharingModel) -> list[str]:
    """The cards: this month's requests and how they were answered, islands, volume and stances."""
    m = model.metrics
    has_grid = bool((model.holders.kind_code == KINDS.index("grid")).any())
    return [
        f"Step: {model.steps}",
        f"Requests: {m['requests_filed']:,} filed, {m['requests_granted']:,} granted,"
        f" {m['requests_refused']:,} refused,"
        f" {m['requests_escalated']:,} escalated",
        f"Fulfilled: {m['fulfilment_rate']:.0%}",
        f"Wait: {m['wait_mean_days']:.1f} working days (90%: {m['wait_p90_days']:.0f})",
        f"Answered late: {m['beyond_window_share']:.0%}",
        f"Producers integrated: {m['producer_integration']:.0%}",
        f"Islands: {m['islands']} ({m['islands_either_way']} either way)",
        f"Cumulative volume: {m['cumulative_volume']:,.0f}",
        f"Holders sharing: {m['adoption_holders']:.0%}",
        *([f"Grid company: {'shares' if m['grid_sharing'] else 'hoards'}"] if has_grid else []),
    ]


def session_line(model: BrowserModel) -> str:
    """Which scenario and seed the model runs, and its population."""
    lay = model.layout
    return (f"Scenario {model.config.name}, seed {model.seed}: {lay.government} departments,"
            f" {lay.enterprise} enterprises, {lay.public} members of the public.")


def shown_value(value: Any, unit: str) -> str:
    text = number(value) if not isinstance(value, str) else value
    return text if unit == "-" else f"{text} {unit}"


def lever_caption(key: str, field: FieldInfo, value: Any) -> str:
    """The value in effect and its unit, then the field's declared meaning (schema.py)."""
    unit = "-" if key.endswith(".enabled") else field_unit(field)
    return f"{shown_value(value, unit)}: {field.description}"


def lever_guide(config: Scenario) -> list[str]:
    """Every lever: the value in effect, what it means, and its declared range (from the config)."""
    lines = []
    for key, field, label in lever_fields():
        low, high = field_bounds(field)
        unit = field_unit(field)
        extent = ("" if low is None
                  else f" (range {number(low)} to {number(high)}" + ("" if unit == "-" else f" {unit}") + ")")
        value = value_at(config, key)
        shown = ("on" if value else "off") if isinstance(value, bool) else number(value)
        lines.append(f"{label}: {shown}. {field.description.capitalize()}{extent}.")
    return lines
