"""The browser's controls, pure: one per population size and countermeasure lever, read from the
config's fields, and the scenario and seed they describe.

Every lever is a dotted scenario key (``countermeasures.ecosystem.link_rate``): the model is the
chosen scenario file, then a loaded package's changes, then every lever moved from where it
started.  Nothing the page sends can crash it: a bad seed, an impossible combination or a model too
large for this machine's memory (estimated before it is built) comes back as a one-line problem for
the page, and the scenario's own values are used instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from agents.roles import ROLE_KEYS
from simulation.config import ConfigError, Countermeasures, Population, Scenario, field_bounds, load_scenario
from simulation.config.keys import value_at
from simulation.config.package import LeverFile, package_yaml
from simulation.config.schema import field_unit
from simulation.core.capacity import check_run_fits
from simulation.core.network import layout_of

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
PRESETS = tuple(sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml")))
DEFAULT_PRESET = "baseline"

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
    "arbitration": "authority orders conditional data shared",
    "authority_capacity": "authority's cases a month per 100 holders",
    "case_cost": "authority's cost per case",
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
            for name in ROLE_KEYS]
    for block, (title, short) in GROUPS.items():
        for name, info in Countermeasures.model_fields[block].annotation.model_fields.items():
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
            rows.append((f"countermeasures.{block}.{name}", info, label))
    return rows


def lever_groups() -> list[tuple[str, list[tuple[str, FieldInfo, str]]]]:
    """The levers by card: population sizes, then one card per countermeasure."""
    rows = lever_fields()
    groups = [("Population", [row for row in rows if row[0].startswith("population.")])]
    for block, (title, _) in GROUPS.items():
        groups.append((title, [row for row in rows if row[0].startswith(f"countermeasures.{block}.")]))
    return groups


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
LABELS = {key: label for key, _, label in lever_fields()}

# ---------------------------------------------------------------------------------------------
# From the controls to a scenario and a seed

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
    if (SEED_TEXT.fullmatch(str(text)) and len(digits.lstrip("0")) <= len(str(SEED_MAX))
            and SEED_LOW <= int(digits) <= SEED_MAX):
        return int(digits), None
    shown = str(text).strip()
    shown = shown if len(shown) <= SHOWN_TEXT else f"{shown[:SHOWN_TEXT]}... ({len(shown):,} characters)"
    return None, f"Seed {shown!r} is not a whole number from {SEED_LOW} to {SEED_MAX}"


def problem_line(exc: BaseException) -> str:
    """An error as one line for the page and the log: a ConfigError's first line (it names the file
    and field), otherwise the error's type and first line."""
    lines = str(exc).splitlines()
    first = lines[0] if lines else ""
    return first if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {first}".rstrip(": ")


def control_value(key: str, value: Any) -> Any:
    """A scenario value as its control holds it (a switch reads on or off)."""
    return ("on" if value else "off") if key.endswith(".enabled") else value


def start_of(config: Scenario, preset: str, seed: str = "") -> dict[str, Any]:
    """Where the controls start for a scenario: at the values in effect in it."""
    return {"preset": preset, "seed": seed} | {key: control_value(key, value_at(config, key))
                                               for key, _, _ in lever_fields()}


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
        check_fits(config, f"{path} (levers)")
    except ConfigError as exc:
        problems.append(f"{exc}. The scenario's own values are used.")
        config = load_scenario(path)
    if seed_problem:
        problems.append(f"{seed_problem}; the scenario's seed {config.seed} is used.")
    return config, config.seed if seed is None else seed, problems


def check_fits(config: Scenario, source: str) -> None:
    """A ConfigError when one run of ``config`` would not fit in this machine's memory.  A network
    file's size is known only once it is read: an uploaded package's was checked when it was read
    (:mod:`browser.uploads`), so it is not read again at every redraw of the page."""
    if config.network.kind != "file":
        check_run_fits(layout_of(config.population), config.network, config.steps, source)


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
    def of_package(cls, package: LeverFile) -> "Settings":
        start = start_of(package.scenario, package.preset,
                         str(package.scenario.seed) if "seed" in package.changes else "")
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
        return package_yaml(config.model_copy(update={"seed": seed}), preset,
                            load_scenario(SCENARIO_DIR / f"{preset}.yaml"))
