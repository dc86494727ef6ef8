"""Reading configuration files: YAML, ``extends:``, dotted overrides and friendly errors.

Files are read with safe_load's loader (nothing in a file is executed), with these changes
(:class:`SafeLoader`): a number in exponent notation such as ``1e-3`` is a number, as in YAML 1.2; a
key written twice in one mapping is refused (safe_load keeps the last silently); a text larger than
:data:`MAX_BYTES`, a document of more than :data:`MAX_WRITTEN_VALUES` written values, one whose
aliases would expand it beyond :data:`MAX_VALUES` values, or one that nests deeper than
:data:`MAX_DEPTH` levels is refused before anything is built.  Only what JSON can hold is accepted:
a date, ``!!binary``, ``!!set`` or ``!!omap`` value is refused, naming its key.  A scenario file may name
another one in ``extends:`` (relative to the file that says it); its fields are merged over that
file's, and a relative ``network.path`` stays relative to the file that says it.  Every problem
becomes a :class:`ConfigError` whose message names the file, the field path, the value and what is
allowed (with the nearest valid key for a typo).
"""

from __future__ import annotations

import datetime
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

# A scenario file holds a few hundred values and an experiment's sweep lists a few thousand; a
# 500-byte "billion laughs" document expands to 10^9 through nested aliases.  The limits are far
# above any real file and far below what hangs validation.
MAX_VALUES = 1_000_000
MAX_DEPTH = 64
# Written out, the largest real file (a sweep of a few thousand values) is tens of kilobytes; the
# pure-Python parser takes about 30 microseconds a value, so these refuse a huge file in seconds
# (a 2.2 MB flat list took 42 s to be read, then refused) instead of after reading all of it.
MAX_BYTES = 1_000_000
MAX_WRITTEN_VALUES = 100_000


class UnreadableDocument(yaml.YAMLError):
    """A document refused before it is built: too large once its aliases expand, nested too deep,
    or an alias inside the block it names."""


class DuplicateKey(UnreadableDocument):
    """A key written twice in one mapping: safe_load would keep the second and drop the first."""


MERGE_TAG = "tag:yaml.org,2002:merge"


class SafeLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader (only plain YAML types) that reads ``1e-3`` as a number, counts
    the values written while it reads them, measures each document's expanded size and depth before
    constructing it, and refuses a key written twice in one mapping."""

    def __init__(self, stream):
        super().__init__(stream)
        self.written_values = 0

    def compose_node(self, parent, index):
        self.written_values += 1
        if self.written_values > MAX_WRITTEN_VALUES:
            raise UnreadableDocument(f"holds more than {MAX_WRITTEN_VALUES:,} values"
                                     " (configuration files hold at most a few thousand)")
        return super().compose_node(parent, index)

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_expanded_size(node)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node)
        return super().construct_mapping(node, deep=deep)


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """DuplicateKey for the first key written twice among the mapping's own keys (keys merged in
    with ``<<: *name`` may be overridden; that is what merging is for)."""
    seen: dict[tuple[str, Any], int] = {}
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
            continue
        key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKey(f"line {line}: key {key_node.value!r} is written twice in one mapping"
                               f" (first on line {seen[key]}); the second would silently replace the first")
        seen[key] = line


# YAML 1.1's float pattern (PyYAML's) needs a dot, so "1e-3" would be a string; YAML 1.2 reads it as
# a number.  Added after the 1.1 patterns, so everything they match reads as before.
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the values ``root`` expands to, and its depth, without expanding it: each distinct
    node (an alias is the node it names) is measured once, in a loop rather than by recursion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, measured_children = stack.pop()
        key = id(node)
        if measured_children:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            open_nodes.discard(key)
            if size[key] > MAX_VALUES:
                raise UnreadableDocument(f"its aliases (*name) expand it to more than {MAX_VALUES:,} values;"
                                         " write the values out or use fewer aliases")
            if depth[key] > MAX_DEPTH:
                raise UnreadableDocument(f"nested more than {MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise UnreadableDocument("an alias (*name) stands inside the block its anchor (&name) names:"
                                     " a value cannot contain itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def load_yaml_text(text: str) -> Any:
    """YAML text read with :class:`SafeLoader` (plain YAML types only), no larger than :data:`MAX_BYTES`
    and holding only what JSON holds."""
    if len(text) > MAX_BYTES:
        raise UnreadableDocument(f"{len(text) / 1e6:,.1f} MB is too large for a configuration file"
                                 f" (at most {MAX_BYTES / 1e6:,.0f} MB)")
    data = yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a SafeLoader subclass: safe_load's types only
    found = _not_plain(data)
    if found:
        where, value = found
        raise UnreadableDocument(f"{where + ': ' if where else ''}{_kind(value)} is not allowed: only text, numbers,"
                                 " true/false, null, lists and mappings (quote it to make it text)")
    return data


PLAIN = (str, int, float, bool, type(None))
NOT_PLAIN = ((datetime.datetime, "a date and time"), (datetime.date, "a date"), (bytes, "binary data (!!binary)"),
             (set, "a set (!!set)"), (tuple, "an ordered mapping (!!omap or !!pairs)"))


def _not_plain(data: Any, path: str = "") -> tuple[str, Any] | None:
    """The dotted path and value of the first value (or key) JSON cannot hold, in a loop over
    every value rather than by recursion."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                inner = f"{where}.{key}" if where else str(key)
                if not isinstance(key, PLAIN):
                    return inner, key
                stack.append((inner, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value))
        elif not isinstance(value, PLAIN):
            return where, value
    return None


def _kind(value: Any) -> str:
    return next((text for kind, text in NOT_PLAIN if isinstance(value, kind)), f"a {type(value).__name__}")


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping with :class:`SafeLoader`, turning every failure into a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> dict:
    """A YAML mapping from text (a file's or an upload's) read by :class:`SafeLoader`; ``source`` names it in errors."""
    try:
        data = load_yaml_text(text)
    except UnreadableDocument as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except RecursionError:  # the parser recurses once per level, before the depth check can run
        raise ConfigError(f"{source}: nested too deeply to read (at most {MAX_DEPTH} levels)") from None
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{source}: line {_line(exc)}: tag {_tag(exc)} is not allowed"
                          " (plain YAML only; nothing in a file is executed)") from None
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
    return merged_with_parent(_network_path_from(path, read_yaml(path)), str(path), path.parent, (*chain, path))


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


def _network_path_from(path: Path, data: dict) -> dict:
    """``data`` with a relative ``network.path`` made absolute against the folder of ``path``, the
    file that names it (so a parent's network file stays the parent's when a child extends it)."""
    network = data.get("network")
    if isinstance(network, dict) and isinstance(network.get("path"), str) and network["path"]:
        named = Path(network["path"])
        if not named.is_absolute():
            data["network"] = {**network, "path": str(path.parent / named)}
    return data


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
        value = load_yaml_text(raw) if raw.strip() else raw
    except UnreadableDocument as exc:  # a value YAML reads but refused: no fallback to the text as typed
        raise ConfigError(f"{text[:60]}: {exc}") from None
    except (yaml.YAMLError, RecursionError):
        value = raw
    return key.strip(), value


def apply_overrides(data: dict, overrides: dict[str, Any], source: str) -> dict:
    """A copy of scenario ``data`` with each dotted key set to its value (keys checked first).  A
    mapping given for a block is merged into the block: the keys it names change, the others keep
    their values (``countermeasures.security={enabled: true}`` leaves the security levers as they were)."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for dotted, value in overrides.items():
        check_key(Scenario, dotted, source)
        if isinstance(value, dict):
            value = deep_merge(_block_in(data, dotted), value)
        try:
            set_at(data, dotted, value)
        except TypeError as exc:
            raise ConfigError(f"{source}: {dotted}: {exc}") from None
    return data


def _block_in(data: dict, dotted: str) -> dict:
    """The block of plain ``data`` at a dotted key as written so far ({} where it holds none)."""
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


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
