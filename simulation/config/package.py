"""A package as a scenario file: the settings of a scenario written as the smallest file that
``extends`` the preset they started from, and such a file read back (the browser app saves and
loads packages this way; ``python -m simulation validate`` accepts what it writes).

The file holds ``extends``, a ``name`` and only the fields whose value differs from the preset's;
reading it resolves ``extends`` in the scenarios folder and validates it as the CLI does
(:func:`simulation.config.loader.load_scenario_text`).  A package comes from a page, so it names no
file of the server outside that folder: its ``network.path`` must resolve (links followed) to a file
inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simulation.config.keys import leaf_fields, set_at, value_at
from simulation.config.loader import load_scenario, load_scenario_text, parse_yaml
from simulation.config.schema import Scenario
from simulation.errors import ConfigError

LABEL_KEYS = ("name", "description")  # what a scenario is called, not what it does


def changed_values(scenario: Scenario, base: Scenario) -> dict[str, Any]:
    """Dotted key: value of every field where ``scenario`` differs from ``base``, in declaration
    order (labels left out)."""
    changed = {}
    for key, _ in leaf_fields(Scenario):
        if key in LABEL_KEYS:
            continue
        value = value_at(scenario, key)
        if value != value_at(base, key):
            changed[key] = value
    return changed


def package_data(scenario: Scenario, preset: str, base: Scenario, name: str | None = None) -> dict[str, Any]:
    """The file's content: ``extends`` the preset's file, a name, and the changed fields nested as
    a scenario file nests them."""
    data: dict[str, Any] = {"extends": f"{preset}.yaml", "name": name or f"{preset}_package"}
    for key, value in changed_values(scenario, base).items():
        set_at(data, key, value)
    return data


def package_yaml(scenario: Scenario, preset: str, base: Scenario, name: str | None = None) -> str:
    """The package as YAML text, keys in declaration order."""
    return yaml.safe_dump(package_data(scenario, preset, base, name), sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class LeverFile:
    """A saved lever file (a "package" in the browser app) read back: the preset it extends, the fields it
    changes and the scenario they make."""

    preset: str
    changes: dict[str, Any]
    scenario: Scenario


def read_package(text: str, source: str, scenario_dir: str | Path) -> LeverFile:
    """A package file's text, validated as the CLI validates a scenario file in ``scenario_dir``.
    Its ``extends`` must name a preset of that folder, since the package is read as changes to it,
    and its ``network.path`` a file inside that folder (checked before anything is opened).
    Raises ConfigError (one line per problem, naming ``source``)."""
    scenario_dir = Path(scenario_dir).resolve()
    data = parse_yaml(text, source)
    parent = data.get("extends")
    presets = sorted(path.name for path in scenario_dir.glob("*.yaml"))
    if not isinstance(parent, str) or parent not in presets:
        raise ConfigError(f"{source}: extends: {parent!r} is not allowed:"
                          f" a package extends one of {', '.join(presets)}")
    _check_network_path(data, source, scenario_dir)
    scenario = load_scenario_text(text, source, scenario_dir)
    preset = parent.removesuffix(".yaml")
    return LeverFile(preset, changed_values(scenario, load_scenario(scenario_dir / parent)), scenario)


def _check_network_path(data: dict, source: str, scenario_dir: Path) -> None:
    """Refuse a ``network.path`` that resolves outside ``scenario_dir`` (an absolute path, ``..``
    or a link leading out), so that a package can make the server read none of its other files."""
    network = data.get("network")
    named = network.get("path") if isinstance(network, dict) else None
    if named is None:
        return
    if not isinstance(named, str) or "\0" in named:
        raise ConfigError(f"{source}: network.path: {named!r} is not allowed: a file name in the scenarios folder")
    if not (scenario_dir / named).resolve().is_relative_to(scenario_dir):
        raise ConfigError(f"{source}: network.path: {named!r} is not allowed: a package names a network file"
                          " inside the project's scenarios folder")
