"""The policymakers' browser app: Mesa's SolaraViz over the data-sharing model.

Run it with ``make viz`` (http://127.0.0.1:8765; ``PORT=`` changes the port).  Pick a scenario,
move the countermeasure levers, press Reset to apply them, then Step or Play.  The cards and charts
follow the requests of each month under the sharing rules (filed, granted, refused, escalated; the
share fulfilled, waiting times and late answers), the islands (also counting two-way exchanges
only), producer integration and each role's stance, the grid company's among them.

Every control is a dotted scenario key (``countermeasures.ecosystem.link_rate``), so a control is
an override of the chosen scenario file; the sliders take their ranges, defaults and units from
the pydantic fields in ``simulation/config/schema.py``.  A control left at its starting position keeps
the scenario's own value, so a preset with no control touched is exactly its file.  Nothing the
page sends can crash it: a bad seed or an impossible combination is reported on the page and the
scenario's own values are used instead.
"""

from __future__ import annotations

import math
import re
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import solara
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter
from pydantic.fields import FieldInfo

from agents import Role
from simulation.config import ConfigError, Countermeasures, Population, Scenario, field_bounds, load_scenario
from simulation.config.keys import value_at
from simulation.core.metrics import components
from simulation.core.model import DataSharingModel
from simulation.core.requests import KINDS
from simulation.core.runner import timeseries_of

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
PRESETS = tuple(sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml")))
DEFAULT_PRESET = "baseline"

# ---------------------------------------------------------------------------------------------
# Controls: one per population size and countermeasure lever, read from the config's fields

GROUPS = {  # countermeasure block: (title, short name for the start and ramp sliders)
    "ecosystem": ("Ecosystem (government leads)", "Ecosystem"),
    "mechanism": ("Mechanism (evaluation, ownership, pricing)", "Mechanism"),
    "cognition": ("Cognition (training, publicity)", "Cognition"),
    "security": ("Security & technology", "Security"),
}
PLAIN_NAMES = {  # where a field's own name is not what a policymaker would say
    "government": "government departments",
    "public": "members of the public",
    "enterprise": "enterprises",
    "coordinator_strength": "government leadership",
    "link_rate": "brokered links",
    "escalation": "refusals taken to the authority",
    "arbitration": "authority rules for sharing",
    "vouched_trust": "trust the authority vouches",
    "enterprise_subsidy": "enterprise subsidy per unit",
    "public_reward": "reward for public participation",
    "evaluation_reward": "reward per unit provided in time",
    "evaluation_penalty": "fine per unit refused",
    "price_per_quality": "price per unit at full quality",
    "price_cap": "price cap per unit",
    "participation_cost_cut": "participation effort cut",
    "tiering": "graded catalogues",
    "tiering_cost": "graded catalogue cost",
    "link_cost": "cost per brokered link",
    "coordinator_budget": "coordination office budget",
}
AS_IN_SCENARIO = "as in scenario"
SWITCH = {AS_IN_SCENARIO: None, "on": True, "off": False}
HORIZON = Scenario.model_fields["steps"].default  # start and ramp sliders span the default horizon
SPAN_OVER_DEFAULT = 10  # open-ended ranges are cut at ten times the default, to stay draggable
SLIDER_POSITIONS = 100


def field_unit(field: FieldInfo) -> str:
    return (field.json_schema_extra or {}).get("unit", "-")


def lever_fields() -> list[tuple[str, FieldInfo, str]]:
    """(dotted key, field, label) of every population size and countermeasure lever on the page."""
    rows = [(f"population.{name}", Population.model_fields[name], PLAIN_NAMES[name].capitalize())
            for name in ("government", "enterprise", "public")]
    for block, (title, short) in GROUPS.items():
        for name, field in Countermeasures.model_fields[block].annotation.model_fields.items():
            if name == "enabled":
                label = title
            elif name == "start":
                label = f"{short} start month"
            elif name == "ramp":
                label = f"{short} ramp-up months"
            elif name == "scale":
                label = f"{short} scale (1 = as designed)"
            else:
                label = PLAIN_NAMES.get(name, name.replace("_", " ")).capitalize()
            rows.append((f"countermeasures.{block}.{name}", field, label))
    return rows


def slider_for(field: FieldInfo, label: str) -> dict[str, Any]:
    """A Mesa slider over the field's declared range, starting at its default."""
    low, high = field_bounds(field)
    default = field.default
    if field_unit(field) in ("month", "months"):
        high = min(high, HORIZON)
    elif default > 0:
        high = min(high, SPAN_OVER_DEFAULT * default)
    if field.annotation is int:
        return {"type": "SliderInt", "label": label, "value": default, "min": low, "max": high, "step": 1}
    step = 10.0 ** math.floor(math.log10((high - low) / SLIDER_POSITIONS))
    return {"type": "SliderFloat", "label": label, "value": default, "min": low, "max": high, "step": step}


def control_for(key: str, field: FieldInfo, label: str) -> dict[str, Any]:
    if key.endswith(".enabled"):
        return {"type": "Select", "label": label, "value": AS_IN_SCENARIO, "values": list(SWITCH)}
    return slider_for(field, label)


def build_controls() -> dict[str, dict[str, Any]]:
    """SolaraViz ``model_params``: keys are dotted scenario keys, plus the preset and the seed."""
    controls: dict[str, dict[str, Any]] = {
        "preset": {"type": "Select", "label": "Scenario", "value": DEFAULT_PRESET, "values": list(PRESETS)},
        # Mesa 3.5 hands a text box's string to the model (mesa#3516); BrowserModel parses it.
        "seed": {"type": "InputText", "label": "Seed (blank: the scenario's)", "value": ""},
    }
    controls |= {key: control_for(key, field, label) for key, field, label in lever_fields()}
    return controls


CONTROLS = build_controls()

# ---------------------------------------------------------------------------------------------
# The model of one browser session

SEED_TEXT = re.compile(r"\s*\+?\d+\s*")
SEED_MAX = 2**63 - 1


def parse_seed(text: Any) -> tuple[int | None, str | None]:
    """(seed, None) for a whole number, (None, None) for a blank box, (None, problem) otherwise."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, None
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if isinstance(text, str) and SEED_TEXT.fullmatch(text) and int(text) <= SEED_MAX:
        return int(text), None
    return None, f"Seed {str(text).strip()!r} is not a whole number from 0 to {SEED_MAX}"


def overrides_from(controls: dict[str, Any]) -> dict[str, Any]:
    """Dotted overrides for the controls moved from their starting position."""
    overrides = {}
    for key, value in controls.items():
        if key.endswith(".enabled"):
            value = SWITCH.get(value)
            if value is not None:
                overrides[key] = value
        elif value != CONTROLS[key]["value"]:
            overrides[key] = value
    return overrides


def scenario_from_controls(controls: dict[str, Any]) -> tuple[Scenario, int, list[str]]:
    """The scenario, seed and problems (for the page) that the controls describe; never raises."""
    values = {key: spec["value"] for key, spec in CONTROLS.items()} | controls
    problems = []
    preset = values.pop("preset")
    if preset not in PRESETS:
        problems.append(f"Scenario {preset!r} is not one of {', '.join(PRESETS)}; {DEFAULT_PRESET} is used")
        preset = DEFAULT_PRESET
    seed, seed_problem = parse_seed(values.pop("seed"))
    path = SCENARIO_DIR / f"{preset}.yaml"
    try:
        config = load_scenario(path, overrides=overrides_from(values))
    except ConfigError as exc:
        problems.append(f"{exc}. The scenario's own values are used.")
        config = load_scenario(path)
    if seed_problem:
        problems.append(f"{seed_problem}; the scenario's seed {config.seed} is used.")
    return config, config.seed if seed is None else seed, problems


class BrowserModel(DataSharingModel):
    """The model built from the page's controls; keeps what the page draws.

    Args:
        scenario: ignored.  Mesa's Reset passes its own scenario object to every model; here the
            seed control fixes every random draw instead.
        controls: the page's controls by key (see ``CONTROLS``); missing ones take their default.
    """

    def __init__(self, scenario: Any = None, **controls: Any) -> None:
        unknown = sorted(set(controls) - set(CONTROLS))
        if unknown:
            raise TypeError(f"unknown controls: {', '.join(unknown)}")
        config, seed, problems = scenario_from_controls(controls)
        super().__init__(config, seed=seed)
        self.seed = seed
        self.problems = problems


    @cached_property
    def positions(self) -> np.ndarray:
        """Node positions, computed once per model (that is, once per Reset)."""
        return role_layout(self)


# ---------------------------------------------------------------------------------------------
# Network view

GOV, ENT, PUB = Role
RING_RADIUS = {GOV: 0.35, ENT: 0.7, PUB: 1.0}
ROLE_COLOURS = {GOV: ("#1d4e89", "#a9c4e4"), ENT: ("#b5520b", "#f5c9a6"), PUB: ("#2a7f62", "#b9dfcf")}  # (sharing, not)
ISOLATED_RING, ISLAND_RING, LINK_COLOUR = "#d62728", "#7b2cbf", "#555555"


def role_layout(model: DataSharingModel) -> np.ndarray:
    """Concentric rings: the coordinator at the centre, departments, enterprises, then the public;
    each ring ordered by the mean angle of its neighbours on the inner rings so that ties stay short."""
    n, role = model.layout.total, model.role
    adjacency = nx.to_scipy_sparse_array(model.graph, nodelist=range(n), format="csr")
    angle = np.full(n, np.nan)  # NaN: not placed yet (the coordinator, at the centre, never is)
    departments = np.flatnonzero(role == GOV)[1:]
    angle[departments] = evenly_spaced(len(departments))
    for ring in (ENT, PUB):
        members = np.flatnonzero(role == ring)
        placed = ~np.isnan(angle)
        towards = adjacency[members][:, placed]
        sin, cos = towards @ np.sin(angle[placed]), towards @ np.cos(angle[placed])
        target = np.where((sin == 0) & (cos == 0), evenly_spaced(len(members)), np.arctan2(sin, cos))
        angle[members[np.argsort(target, kind="stable")]] = evenly_spaced(len(members))
    radius = np.array([RING_RADIUS[r] for r in Role])[role]
    radius[0], angle[0] = 0.0, 0.0  # the coordinator
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def evenly_spaced(count: int) -> np.ndarray:
    """Angles of ``count`` points evenly around a circle."""
    return 2 * np.pi * np.arange(count) / max(count, 1)


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

    items = [f"{dot(ROLE_COLOURS[r][0])}{dot(ROLE_COLOURS[r][1])}{name} (dark: sharing, light: not)" for r, name in ((r, r.label) for r in Role)]
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
        sizes[:h] = 14 + 30 * np.sqrt(model.volume)  # area grows with data volume
        self.nodes = ax.scatter(pos[:, 0], pos[:, 1], s=sizes, linewidths=1.3, zorder=2)

    def update(self, model: BrowserModel) -> None:
        pos, h = model.positions, model.layout.holders
        u, v, carried = recent_links(model)
        peak = carried.max() if len(carried) else 0.0
        self.links.set_segments(np.stack([pos[u], pos[v]], axis=1))
        self.links.set_linewidths(0.4 + (3.0 * np.sqrt(carried / peak) if peak > 0 else 0.0))
        self.nodes.set_facecolors(ROLE_RGBA[model.role, 1 - model.strategy])
        isolated, apart = island_masks(model, u, v)
        rings = np.tile(NO_RING, (model.layout.total, 1))
        rings[:h][isolated], rings[:h][apart] = to_rgba(ISOLATED_RING), to_rgba(ISLAND_RING)
        self.nodes.set_edgecolors(rings)


def network_caption(model: DataSharingModel) -> str:
    m = model.metrics
    return (f"Month {model.steps}: {m['islands']} islands ({m['islands_two_way']} counting two-way exchanges only);"
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
        "fulfilment_rate": ("fulfilled", "#2a7f62"),
        "beyond_window_share": ("beyond the window", "#d62728"),
    }, SHARE),
    ("Waiting time (working days)", {
        "wait_mean_days": ("mean", "#333333"),
        "wait_p90_days": ("90th percentile", "#999999"),
    }, None),
    ("Data islands", {
        "islands": ("islands", ISLAND_RING),
        "islands_two_way": ("two-way only", "#c9a6e4"),
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
    ("Countermeasure cost per month", {"countermeasure_cost": ("cost", "#333333")}, None),
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
# The page

LABELS = {key: label for key, _, label in lever_fields()}


def countermeasure_status(model: DataSharingModel) -> list[str]:
    """One line per countermeasure: off, or when it starts and how strong it is now."""
    lines = []
    for countermeasure in model.package:
        short = GROUPS[countermeasure.name][1] if countermeasure.name in GROUPS else countermeasure.name
        if countermeasure.enabled:
            lines.append(
                f"{short}: on from month {countermeasure.settings.start}, full from month {countermeasure.full_strength_step},"
                f" now {countermeasure.strength(model.steps):.0%}"
            )
        else:
            lines.append(f"{short}: off")
    return lines


def number(x: float) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def indicator_texts(model: DataSharingModel) -> list[str]:
    """The cards: this month's requests and how they were answered, islands, volume and stances."""
    m = model.metrics
    has_grid = bool((model.kind_code == KINDS.index("grid")).any())
    return [
        f"Step: {model.steps}",
        f"Requests: {m['requests_filed']:,} filed, {m['requests_granted']:,} granted, {m['requests_refused']:,} refused,"
        f" {m['requests_escalated']:,} escalated",
        f"Fulfilled: {m['fulfilment_rate']:.0%}",
        f"Wait: {m['wait_mean_days']:.1f} working days (90%: {m['wait_p90_days']:.0f})",
        f"Answered late: {m['beyond_window_share']:.0%}",
        f"Producers integrated: {m['producer_integration']:.0%}",
        f"Islands: {m['islands']} ({m['islands_two_way']} two-way)",
        f"Cumulative volume: {m['cumulative_volume']:,.0f}",
        f"Holders sharing: {m['adoption_holders']:.0%}",
        *([f"Grid company: {'shares' if m['grid_sharing'] else 'hoards'}"] if has_grid else []),
    ]


@solara.component
def Indicators(model: BrowserModel):
    update_counter.get()
    with solara.Column(gap="4px"):
        with solara.Row(style={"flex-wrap": "wrap"}):
            for text in indicator_texts(model):
                with solara.Card(margin=1, elevation=1):
                    solara.Text(text, style={"font-size": "1.25em", "font-weight": "bold"})
        for problem in model.problems:
            solara.Warning(problem)
        lay = model.layout
        solara.Text(
            f"Scenario {model.config.name}, seed {model.seed}: {lay.government} departments,"
            f" {lay.enterprise} enterprises, {lay.public} members of the public."
        )
        for line in countermeasure_status(model):
            solara.Text(line, style={"font-size": "0.9em"})
        solara.Text(
            "Controls take effect on Reset; one left where it started keeps the scenario's value."
            " Page 1 lists every lever in effect.",
            style={"color": "#666666", "font-size": "0.9em"},
        )


@solara.component
def LeverGuide(model: BrowserModel):
    """Every control: the value in effect, what it means, and its declared range (from the config)."""
    with solara.Column(gap="2px"):
        solara.Text("Levers in effect since the last Reset", style={"font-size": "1.2em", "font-weight": "bold"})
        for key, field, label in lever_fields():
            low, high = field_bounds(field)
            unit = field_unit(field)
            extent = "" if low is None else f" (range {number(low)} to {number(high)}" + ("" if unit == "-" else f" {unit}") + ")"
            value = value_at(model.config, key)
            shown = ("on" if value else "off") if isinstance(value, bool) else number(value)
            solara.Text(f"{label}: {shown}. {field.description.capitalize()}{extent}.", style={"font-size": "0.9em"})


@solara.component
def NetworkView(model: BrowserModel):
    tick = update_counter.get()
    view = solara.use_memo(lambda: NetworkFigure(model), [model])
    view.update(model)
    with solara.Column(gap="0px"):
        solara.Text(network_caption(model), style={"font-weight": "bold"})
        solara.FigureMatplotlib(view.figure, dependencies=[model, tick], format="png", dpi=80)
        solara.HTML(unsafe_innerHTML=LEGEND_HTML)


@solara.component
def Charts(model: BrowserModel):
    tick = update_counter.get()
    view = solara.use_memo(ChartFigure, [model])
    view.update(model)
    solara.FigureMatplotlib(view.figure, dependencies=[model, tick], format="png", dpi=90)


# Play's pause between steps (Mesa's default is 100 ms).  Once, on a machine loaded by other jobs,
# pressing Play or Pause at 100 ms ended in Solara's "Too many renders" error (Play's steps changed
# the state during every pass of the click's redraw, which takes a few tenths of a second); a longer
# pause leaves the redraw room.  The Play Interval slider still goes down to 1 ms.
PLAY_INTERVAL_MS = 500


@solara.component
def Page():
    model = solara.use_memo(BrowserModel, dependencies=[])  # one model per browser session
    SolaraViz(
        model,
        components=[(Indicators, 0), (NetworkView, 0), (Charts, 0), (LeverGuide, 1)],
        model_params=CONTROLS,
        name="Government–enterprise–public data sharing",
        play_interval=PLAY_INTERVAL_MS,
    )
