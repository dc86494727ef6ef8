"""Reading configuration files: YAML, ``extends:``, dotted overrides and friendly errors.

Files are read with ``yaml.safe_load`` (nothing in a file is executed).  A scenario file may name
another one in ``extends:`` (relative to the file that says it); its fields are merged over that
file's.  Every problem becomes a :class:`ConfigError` whose message names the file, the field
path, the value and what is allowed (with the nearest valid key for a typo).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simulation.config.keys import block_at, check_key, set_at, unknown_key_hint
from simulation.config.schema import Scenario, field_bounds, field_unit, range_text
from simulation.errors import ConfigError

# ---------------------------------------------------------------------------------------------
# YAML files and extends


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping with safe_load, turning every failure into a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> dict:
    """A YAML mapping from text (a file's or an upload's) with safe_load; ``source`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{source}: line {_line(exc)}: tag {_tag(exc)} is not allowed (plain YAML only; nothing in a file is executed)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: line {_line(exc)}: YAML syntax error: {_problem(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


def _line(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return str(mark.line + 1) if mark is not None else "?"


def _tag(exc: yaml.YAMLError) -> str:
    found = re.search(r"'([^']+)'", getattr(exc, "problem", "") or "")
    return found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "?"


def _problem(exc: yaml.YAMLError) -> str:
    return getattr(exc, "problem", None) or str(exc).splitlines()[0]


def deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The file's fields merged over those of the file it extends (recursively)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError(f"{chain[0]}: extends: cycle {cycle}")
    return merged_with_parent(read_yaml(path), str(path), path.parent, (*chain, path))


def merged_with_parent(data: dict, source: str, folder: Path, chain: tuple[Path, ...] = ()) -> dict:
    """Scenario ``data`` merged over the file its ``extends`` names (relative to ``folder``)."""
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{source}: extends: expected a file path, got {parent!r}")
    parent_path = (folder / parent) if not Path(parent).is_absolute() else Path(parent)
    if not parent_path.is_file():
        raise ConfigError(f"{source}: extends: file not found: {parent_path}")
    return deep_merge(resolve_extends(parent_path, chain), data)


# ---------------------------------------------------------------------------------------------
# Overrides


def parse_override(text: str) -> tuple[str, Any]:
    """``dotted.key=value`` as typed by a user; the value is read as a YAML scalar."""
    if "=" not in text:
        raise ConfigError(f"{text}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    if raw.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return key.strip(), float(raw)  # so the non-finite check names it, not a type error
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def apply_overrides(data: dict, overrides: dict[str, Any], source: str) -> dict:
    """A copy of scenario ``data`` with each dotted key set to its value (keys checked first)."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for dotted, value in overrides.items():
        check_key(Scenario, dotted, source)
        try:
            set_at(data, dotted, value)
        except TypeError as exc:
            raise ConfigError(f"{source}: {dotted}: {exc}") from None
    return data


# ---------------------------------------------------------------------------------------------
# Validation and its messages


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """One line per problem: the file, the field path, the value and what is allowed."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        path = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: {path}: unknown key{unknown_key_hint(model, loc[:-1], loc[-1])}")
        else:
            lines.append(f"{source}: {path}: {_short(err.get('input'))} is not allowed: {_allowed(model, loc, err)}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(model: type[BaseModel], loc: list[str], err: dict) -> str:
    parent = block_at(model, loc[:-1]) if loc else None
    field = parent.model_fields.get(loc[-1]) if parent and loc else None
    message = err["msg"]
    if err["type"] in ("finite_number",):
        message = "NaN and infinite numbers are not allowed"
    if field is None:
        return message.removeprefix("Value error, ")
    low, high = field_bounds(field)
    kind = getattr(field.annotation, "__name__", str(field.annotation))
    unit = field_unit(field)
    unit_text = f" {unit}" if unit != "-" else ""
    if low is not None or high is not None:
        if err["type"] in ("greater_than_equal", "less_than_equal"):
            message = "out of range"
        return f"{message}; allowed: {kind} in {range_text(low, high)}{unit_text} ({field.description})"
    return f"{message} ({field.description})"


def _non_finite(data: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinity in plain data (pydantic's own check stops at the
    first type error, and misses numbers in free-form mappings)."""
    if isinstance(data, float) and not math.isfinite(data):
        return path or "(value)"
    if isinstance(data, dict):
        for key, value in data.items():
            found = _non_finite(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(data, list):
        for i, value in enumerate(data):
            found = _non_finite(value, f"{path}.{i}")
            if found:
                return found
    return None


def validated(data: dict, model: type[BaseModel], source: str) -> Any:
    """``data`` validated against ``model``, every problem a ConfigError naming ``source``."""
    bad = _non_finite(data)
    if bad:
        raise ConfigError(f"{source}: {bad}: NaN and infinite numbers are not allowed")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, source)) from None


def read_validated(path: str | Path, model: type[BaseModel]) -> tuple[dict, Any]:
    """A YAML file as written and validated against ``model`` (experiments, games, study specs)."""
    data = read_yaml(Path(path))
    return data, validated(data, model, str(path))


def validate_data(data: dict, source: str) -> Scenario:
    """Scenario data (a file merged with its parents and overrides) as a validated Scenario."""
    return validated(data, Scenario, source)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None,
                  overrides_source: str = "overrides") -> Scenario:
    """Read, resolve ``extends``, apply dotted overrides and validate a scenario file.
    ``overrides_source`` names where the overrides came from in messages about them."""
    path = Path(path)
    return _scenario_from(resolve_extends(path), str(path), path.resolve().parent, overrides, overrides_source)


def load_scenario_text(text: str, source: str, folder: str | Path) -> Scenario:
    """A scenario from text that was never a file here (an upload), read and validated exactly as
    :func:`load_scenario` reads a file in ``folder`` (where its ``extends`` is looked up)."""
    folder = Path(folder).resolve()
    return _scenario_from(merged_with_parent(parse_yaml(text, source), source, folder), source, folder)


def _scenario_from(data: dict, source: str, folder: Path, overrides: dict[str, Any] | None = None,
                   overrides_source: str = "overrides") -> Scenario:
    if overrides:
        data = apply_overrides(data, overrides, f"{source} ({overrides_source})")
    scenario = validate_data(data, source)
    if scenario.network.kind == "file":
        net_path = Path(scenario.network.path)
        if not net_path.is_absolute():
            net_path = folder / net_path
        if not net_path.is_file():
            raise ConfigError(f"{source}: network.path: file not found: {net_path}")
        scenario.network.path = str(net_path)
    return scenario
