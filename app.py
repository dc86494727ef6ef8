"""The policymakers' browser app: Mesa's SolaraViz over the data-sharing model.

Run it with ``make viz`` (http://127.0.0.1:8765; ``PORT=`` changes the port).  Pick a scenario
(the levers move to its values), move the countermeasure levers, press Reset to apply them, then
Step or Play.  The cards and charts follow the requests of each month under the sharing rules
(filed, granted, refused, escalated; the share fulfilled, waiting times and late answers), the
islands (also counting two-way exchanges only), producer integration and each role's stance, the
grid company's among them.

The levers sit in the sidebar, one card per countermeasure; each shows its value, unit and meaning
as declared in ``simulation/config/schema.py``.  "Save package" downloads the levers as the
smallest scenario file that ``extends`` the chosen scenario (``simulation/config/package.py``);
dropping such a file on the page sets the levers, after the same validation as the CLI's.
"Compare with baseline" runs the levers as set and the baseline over N shared seeds in background
processes through the batch's own runner (``simulation/experiments/compare.py``), shows the bands
and the final-year effects, and offers a one-page PDF brief (``simulation/experiments/brief.py``).

Every lever is a dotted scenario key (``countermeasures.ecosystem.link_rate``): the model is the
chosen scenario file, then a loaded package's changes, then every lever moved from where it
started.  Nothing the page sends can crash it: a bad seed or an impossible combination is reported
on the page in one line and the scenario's own values are used instead.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
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
from simulation.config.package import Package, changed_values, package_yaml, read_package
from simulation.config.schema import field_unit
from simulation.core.metrics import components
from simulation.core.model import DataSharingModel
from simulation.core.requests import KINDS
from simulation.core.runner import timeseries_of
from simulation.experiments.brief import draw_band
from simulation.experiments.brief import number as brief_number
from simulation.experiments.brief import brief_pdf
from simulation.experiments.compare import (BANDS, DEFAULT_RUNS, Comparison, effects, plan_comparison, ready,
                                            run_comparison)
from simulation.experiments.outcomes import FINAL_YEAR
from simulation.experiments.plan import RunSpec

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
SWITCH = {"on": True, "off": False}
HORIZON = Scenario.model_fields["steps"].default  # start and ramp sliders span the default horizon
SPAN_OVER_DEFAULT = 10  # open-ended ranges are cut at ten times the default, to stay draggable
SLIDER_POSITIONS = 100


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
        return {"type": "Select", "label": label, "value": "on" if field.default else "off", "values": list(SWITCH)}
    return slider_for(field, label)


def build_controls() -> dict[str, dict[str, Any]]:
    """Every control by key: dotted scenario keys, plus the preset and the seed.  ``value`` is where
    a control starts before a scenario is chosen (the field's default)."""
    controls: dict[str, dict[str, Any]] = {
        "preset": {"type": "Select", "label": "Scenario", "value": DEFAULT_PRESET, "values": list(PRESETS)},
        # Mesa 3.5 hands a text box's string to the model (mesa#3516); BrowserModel parses it.
        "seed": {"type": "InputText", "label": "Seed (blank: the scenario's)", "value": ""},  # parsed by parse_seed
    }
    controls |= {key: control_for(key, field, label) for key, field, label in lever_fields()}
    return controls


CONTROLS = build_controls()

# ---------------------------------------------------------------------------------------------
# The model of one browser session

SEED_TEXT = re.compile(r"\s*\+?\d+\s*")
SEED_LOW, SEED_MAX = field_bounds(Scenario.model_fields["seed"])
SHOWN_TEXT = 40  # characters of a bad entry quoted back on the page


def parse_seed(text: Any) -> tuple[int | None, str | None]:
    """(seed, None) for a whole number in the schema's seed range, (None, None) for a blank box,
    (None, problem) otherwise; a number of thousands of digits is refused by its length, before
    Python's int() would refuse it with a traceback."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, None
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    digits = str(text).strip().lstrip("+")
    if SEED_TEXT.fullmatch(str(text)) and len(digits.lstrip("0")) <= len(str(SEED_MAX)) and SEED_LOW <= int(digits) <= SEED_MAX:
        return int(digits), None
    shown = str(text).strip()
    shown = shown if len(shown) <= SHOWN_TEXT else f"{shown[:SHOWN_TEXT]}... ({len(shown):,} characters)"
    return None, f"Seed {shown!r} is not a whole number from {SEED_LOW} to {SEED_MAX}"


def control_value(key: str, value: Any) -> Any:
    """A scenario value as its control holds it (a switch reads on or off)."""
    return ("on" if value else "off") if key.endswith(".enabled") else value


def start_of(config: Scenario, preset: str, seed: str = "") -> dict[str, Any]:
    """Where the controls start for a scenario: at the values in effect in it."""
    return {"preset": preset, "seed": seed} | {key: control_value(key, value_at(config, key)) for key, _, _ in lever_fields()}


DEFAULT_START = {key: spec["value"] for key, spec in CONTROLS.items()}


def overrides_from(controls: dict[str, Any], start: dict[str, Any] | None = None) -> dict[str, Any]:
    """Dotted overrides for the controls moved from their starting position."""
    start = start or DEFAULT_START
    overrides = {}
    for key, value in controls.items():
        if key in ("preset", "seed") or value == start.get(key, CONTROLS[key]["value"]):
            continue
        overrides[key] = SWITCH.get(value, value) if key.endswith(".enabled") else value
    return overrides


def scenario_from_controls(controls: dict[str, Any], start: dict[str, Any] | None = None,
                           changes: dict[str, Any] | None = None) -> tuple[Scenario, int, list[str]]:
    """The scenario, seed and problems (for the page) that the controls describe; never raises.

    The chosen preset file, then a loaded package's ``changes`` to it, then every control moved
    from its ``start`` position (default: the fields' defaults)."""
    values = {key: spec["value"] for key, spec in CONTROLS.items()} | controls
    problems = []
    preset = values.get("preset")
    if preset not in PRESETS:
        problems.append(f"Scenario {preset!r} is not one of {', '.join(PRESETS)}; {DEFAULT_PRESET} is used")
        preset = DEFAULT_PRESET
    seed, seed_problem = parse_seed(values.get("seed"))
    path = SCENARIO_DIR / f"{preset}.yaml"
    try:
        config = load_scenario(path, overrides={**(changes or {}), **overrides_from(values, start)})
    except ConfigError as exc:
        problems.append(f"{exc}. The scenario's own values are used.")
        config = load_scenario(path)
    if seed_problem:
        problems.append(f"{seed_problem}; the scenario's seed {config.seed} is used.")
    return config, config.seed if seed is None else seed, problems


@dataclass(frozen=True)
class Settings:
    """One browser session's controls: where they are, where they started, and the changes of a
    loaded package to its preset (which also hold fields that have no control)."""

    controls: dict[str, Any]
    start: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_preset(cls, preset: str, seed: str = "") -> "Settings":
        start = start_of(load_scenario(SCENARIO_DIR / f"{preset}.yaml"), preset, seed)
        return cls(start, start)

    @classmethod
    def of_package(cls, package: Package) -> "Settings":
        start = start_of(package.scenario, package.preset, str(package.scenario.seed) if "seed" in package.changes else "")
        return cls(start, start, package.changes)

    def moved(self, key: str, value: Any) -> "Settings":
        if key == "preset":  # choosing a scenario starts from it
            return Settings.of_preset(value, self.controls["seed"]) if value in PRESETS else self
        return replace(self, controls={**self.controls, key: value})

    def scenario(self) -> tuple[Scenario, int, list[str]]:
        return scenario_from_controls(self.controls, self.start, self.changes)

    def package_yaml(self) -> str:
        """These settings as a scenario file extending their preset (raises ConfigError when a
        control is out of bounds or the seed box is not a seed)."""
        config, seed, problems = self.scenario()
        if problems:
            raise ConfigError(problems[0])
        preset = self.controls["preset"]
        return package_yaml(config.model_copy(update={"seed": seed}), preset, load_scenario(SCENARIO_DIR / f"{preset}.yaml"))


class BrowserModel(DataSharingModel):
    """The model built from the page's controls; keeps what the page draws.

    Args:
        scenario: ignored.  Mesa's Reset passes its own scenario object to every model; here the
            seed control fixes every random draw instead.
        settings: the session's settings, read at each Reset (Mesa passes them as a fixed parameter).
        controls: without ``settings``, controls by key (see ``CONTROLS``); missing ones take their default.
    """

    def __init__(self, scenario: Any = None, settings: solara.Reactive[Settings] | None = None, **controls: Any) -> None:
        unknown = sorted(set(controls) - set(CONTROLS))
        if unknown:
            raise TypeError(f"unknown controls: {', '.join(unknown)}")
        if settings is not None:
            config, seed, problems = settings.value.scenario()
        else:
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



# ---------------------------------------------------------------------------------------------
# The levers: one card per countermeasure, each slider with its value, unit and meaning


def shown_value(value: Any, unit: str) -> str:
    text = number(value) if not isinstance(value, str) else value
    return text if unit == "-" else f"{text} {unit}"


def lever_groups() -> list[tuple[str, list[tuple[str, FieldInfo, str]]]]:
    """The levers by card: population sizes, then one card per countermeasure."""
    rows = lever_fields()
    groups = [("Population", [row for row in rows if row[0].startswith("population.")])]
    for block, (title, _) in GROUPS.items():
        groups.append((title, [row for row in rows if row[0].startswith(f"countermeasures.{block}.")]))
    return groups


def lever_caption(key: str, field: FieldInfo, value: Any) -> str:
    """The value in effect and its unit, then the field's declared meaning (schema.py)."""
    unit = "-" if key.endswith(".enabled") else field_unit(field)
    return f"{shown_value(value, unit)}: {field.description}"


@solara.component
def Lever(key: str, field: FieldInfo, settings: solara.Reactive[Settings]):
    spec, value = CONTROLS[key], settings.value.controls[key]

    def move(new: Any) -> None:
        settings.value = settings.value.moved(key, new)

    if spec["type"] == "Select":
        solara.Select(spec["label"], values=spec["values"], value=value, on_value=move, dense=True)
    else:
        slider = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
        low, high = min(spec["min"], value), max(spec["max"], value)  # a loaded package may lie beyond the span
        slider(spec["label"], value=value, on_value=move, min=low, max=high, step=spec["step"], thumb_label=True)
    solara.Text(lever_caption(key, field, value), style={"font-size": "0.8em", "color": "#555555"})


@solara.component
def LeverControls(settings: solara.Reactive[Settings]):
    controls = settings.value.controls

    def choose(name: str, value: Any) -> None:
        settings.value = settings.value.moved(name, value)

    with solara.Card("Levers", margin=0):
        solara.Select("Scenario", values=list(PRESETS), value=controls["preset"],
                      on_value=lambda value: choose("preset", value))
        solara.InputText(CONTROLS["seed"]["label"], value=controls["seed"], on_value=lambda value: choose("seed", value))
        _, _, problems = settings.value.scenario()
        for problem in problems:
            solara.Warning(problem, dense=True)
        solara.Text("Each control starts at the chosen scenario's value; press Reset to apply them.",
                    style={"font-size": "0.85em", "color": "#666666"})
    for title, rows in lever_groups():
        with solara.Card(title, margin=0):
            for key, field_info, _ in rows:
                Lever(key, field_info, settings)


# ---------------------------------------------------------------------------------------------
# Save and load a package


@solara.component
def PackagePanel(settings: solara.Reactive[Settings]):
    message, set_message = solara.use_state(None)

    def download() -> str:
        try:
            return settings.value.package_yaml()
        except ConfigError as exc:
            set_message(f"Not saved: {str(exc).splitlines()[0]}")
            return f"# not saved: {exc}\n"

    def upload(file: dict) -> None:
        name = file["name"]
        try:
            text = file["data"].decode("utf-8")
            package = read_package(text, name, SCENARIO_DIR)
        except UnicodeDecodeError:
            set_message(f"{name}: not a UTF-8 text file")
            return
        except ConfigError as exc:
            set_message(str(exc).splitlines()[0])
            return
        settings.value = Settings.of_package(package)
        set_message(f"Loaded {name}: {len(package.changes)} changes to {package.preset}. Press Reset to run it.")

    with solara.Card("Package", margin=0):
        solara.FileDownload(download, filename=f"{settings.value.controls['preset']}_package.yaml",
                            label="Save package (YAML)", mime_type="application/x-yaml")
        solara.FileDrop(label="Drop a saved package (YAML) here to load it", on_file=upload, lazy=False)
        if message:
            (solara.Success if message.startswith("Loaded") else solara.Error)(message, dense=True)


# ---------------------------------------------------------------------------------------------
# Compare with the baseline over many seeds (in a background thread; the runs in processes)

_EXECUTOR: ProcessPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def shared_executor() -> ProcessPoolExecutor:
    """The server's pool of run processes, shared by every session (spawn, as the batch).  Started
    when the first page opens, and each process imports the model at once, so that the first
    comparison does not wait for that (measured by ``python -m benchmarks.compare_panel``)."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            workers = os.cpu_count() or 1
            _EXECUTOR = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(workers):
                _EXECUTOR.submit(ready)
        return _EXECUTOR


@dataclass(frozen=True)
class CompareRequest:
    """What one comparison runs, and how the brief names it."""

    specs: list[RunSpec]
    title: str
    changes: dict[str, Any]


def compare_request(settings: Settings, runs: int, months: int) -> CompareRequest:
    """The comparison of the settings as they are now (raises ConfigError when they do not validate)."""
    config, seed, problems = settings.scenario()
    if problems:
        raise ConfigError(problems[0])
    baseline = load_scenario(SCENARIO_DIR / f"{DEFAULT_PRESET}.yaml")
    package = config.model_copy(update={"seed": seed})
    specs = plan_comparison(package, baseline, runs, months)
    changes = changed_values(package, baseline)
    title = f"The {settings.controls['preset']} scenario" + (f" with {len(changes)} changes to the baseline" if changes else "")
    return CompareRequest(specs, title, changes)


class CompareFigure:
    """The five compared indicators over time: the mean of each arm and its 95% band."""

    def __init__(self, comparison: Comparison) -> None:
        self.figure = Figure(figsize=(11.0, 2.6))
        self.figure.subplots_adjust(left=0.04, right=0.99, top=0.86, bottom=0.16, wspace=0.28)
        for ax, metric in zip(self.figure.subplots(1, len(BANDS)), BANDS):
            draw_band(ax, comparison, metric)


def effects_html(table) -> str:
    """The final-year effects as an HTML table (Markdown would fetch a renderer from a CDN)."""
    cell = 'style="padding:2px 8px;text-align:right"'
    head = "".join(f"<th {cell}>{h}</th>" for h in ("outcome", "package", "baseline", "effect", "95% CI"))
    body = "".join(
        f"<tr><td style='padding:2px 8px'>{row.label}</td><td {cell}>{brief_number(row.package)}</td>"
        f"<td {cell}>{brief_number(row.baseline)}</td><td {cell}>{brief_number(row.effect)}</td>"
        f"<td {cell}>{brief_number(row.effect_low)} to {brief_number(row.effect_high)}</td></tr>"
        for row in table.itertuples())
    return f'<table class="effects" style="font-size:0.9em;border-collapse:collapse"><tr>{head}</tr>{body}</table>'


@solara.component
def CompareResults(outcome: tuple[CompareRequest, Comparison]):
    request, comparison = outcome
    table = solara.use_memo(lambda: effects(comparison), [comparison])
    figure = solara.use_memo(lambda: CompareFigure(comparison).figure, [comparison])
    runs = len(comparison.seeds)
    solara.Text(f"{request.title}: {runs} runs of each arm, {comparison.steps} months, seeds shared by both arms."
                f" Lines: mean; bands: 95% interval of the mean.", style={"font-weight": "bold"})
    solara.FigureMatplotlib(figure, format="png", dpi=80)
    solara.Text("Final-year effects of the package (package minus baseline, paired by seed; 95% interval)")
    solara.HTML(tag="div", unsafe_innerHTML=effects_html(table))
    solara.FileDownload(lambda: brief_pdf(comparison, request.title, request.changes), filename="brief.pdf",
                        label="Download the one-page brief (PDF)", mime_type="application/pdf")


@solara.component
def ComparePanel(settings: solara.Reactive[Settings]):
    runs = solara.use_reactive(DEFAULT_RUNS)
    months = solara.use_reactive(HORIZON)
    problem, set_problem = solara.use_state(None)

    def job(request: CompareRequest) -> tuple[CompareRequest, Comparison] | None:
        def progress(done: int, total: int) -> None:
            task.progress = 100.0 * done / total

        comparison = run_comparison(request.specs, shared_executor(), progress, cancelled=lambda: not task.is_current())
        return None if comparison is None else (request, comparison)

    task = solara.lab.use_task(job, dependencies=None)

    def start() -> None:
        try:
            request = compare_request(settings.value, runs.value, months.value)
        except ConfigError as exc:
            set_problem(str(exc).splitlines()[0])
            return
        set_problem(None)
        task(request)

    with solara.Card("Compare with baseline", margin=0):
        solara.Text("Runs the levers as set now (no Reset needed) and the baseline (the same world, every countermeasure"
                    " off) on the same seeds, in background processes: the single run above stays usable.",
                    style={"font-size": "0.9em"})
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            with solara.Column(style={"min-width": "260px"}):
                solara.SliderInt("Runs per arm", value=runs, min=2, max=50, thumb_label=True)
                solara.Text(f"{runs.value} runs each", style={"font-size": "0.8em"})
            with solara.Column(style={"min-width": "260px"}):
                solara.SliderInt("Months per run", value=months, min=FINAL_YEAR, max=2 * HORIZON, thumb_label=True)
                solara.Text(f"{months.value} months", style={"font-size": "0.8em"})
            solara.Button("Compare with baseline", on_click=start, disabled=task.pending, color="primary")
            solara.Button("Cancel", on_click=task.cancel, disabled=not task.pending)
        if problem:
            solara.Error(problem, dense=True)
        if task.pending:
            solara.ProgressLinear(task.progress if task.progress is not None else True)
            solara.Text(f"Running: {task.progress or 0:.0f}% of the runs done")
        elif task.cancelled:
            solara.Warning("Comparison cancelled.", dense=True)
        elif task.error:
            solara.Error(f"The comparison failed: {task.exception}", dense=True)
        if task.latest is not None and not task.pending:
            CompareResults(task.latest)


# Play's pause between steps (Mesa's default is 100 ms).  Once, on a machine loaded by other jobs,
# pressing Play or Pause at 100 ms ended in Solara's "Too many renders" error (Play's steps changed
# the state during every pass of the click's redraw, which takes a few tenths of a second); a longer
# pause leaves the redraw room.  The Play Interval slider still goes down to 1 ms.
PLAY_INTERVAL_MS = 500


@solara.component
def SidebarCards(settings: solara.Reactive[Settings]):
    with solara.Sidebar():
        PackagePanel(settings)
        LeverControls(settings)


@solara.component
def SidebarLevers(settings: solara.Reactive[Settings]):
    # Solara orders sidebar content by how deep in the page it is declared: one level deeper than
    # Mesa's sidebar puts the levers below its Reset, Step and Play.
    SidebarCards(settings)


@solara.component
def Page():
    settings = solara.use_reactive(Settings.of_preset(DEFAULT_PRESET))  # one session's controls
    solara.use_effect(lambda: None if shared_executor() else None, [])  # run processes ready before Compare
    model = solara.use_memo(lambda: BrowserModel(settings=settings), dependencies=[])  # and its own model
    SolaraViz(
        model,
        components=[(Indicators, 0), (NetworkView, 0), (Charts, 0), (LeverGuide, 1)],
        model_params={"settings": settings},  # fixed: Reset builds the model from the session's settings
        name="Government–enterprise–public data sharing",
        play_interval=PLAY_INTERVAL_MS,
    )
    SidebarLevers(settings)
    ComparePanel(settings)
