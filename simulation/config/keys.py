"""Dotted keys such as ``parameters.trust_gain``: the one place that walks them.

A dotted key names a field through the nested blocks of a pydantic model.  It is walked through
the model class (the declared field: :func:`field_at`, :func:`check_key`), through a validated
object (the value in effect: :func:`value_at`) and through plain file data (an override:
:func:`set_at`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from functools import reduce
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simulation.errors import ConfigError


def is_block(annotation: Any) -> bool:
    """Whether a field's annotation is a nested block (a pydantic model) rather than a value."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def block_at(model: type[BaseModel], parts: Sequence[str]) -> type[BaseModel] | None:
    """The block a path of field names leads to, or None where the path leaves the blocks."""
    current: Any = model
    for part in parts:
        if not is_block(current) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
    return current if is_block(current) else None


def field_at(model: type[BaseModel], dotted: str) -> FieldInfo:
    """The declared field of a dotted key (KeyError if the key names no field)."""
    *blocks, name = dotted.split(".")
    parent = block_at(model, blocks)
    if parent is None or name not in parent.model_fields:
        raise KeyError(dotted)
    return parent.model_fields[name]


def leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every field that holds a value (not a block), with its dotted key, in declaration order."""
    for name, field in model.model_fields.items():
        if is_block(field.annotation):
            yield from leaf_fields(field.annotation, f"{prefix}{name}.")
        else:
            yield prefix + name, field


def check_key(model: type[BaseModel], dotted: str, source: str) -> None:
    """Raise a ConfigError naming the nearest valid key when ``dotted`` names no field of ``model``."""
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        parent = block_at(model, parts[:depth])
        if parent is None or part not in parent.model_fields:
            raise ConfigError(f"{source}: unknown key '{dotted}'{unknown_key_hint(model, parts[:depth], part)}")


def unknown_key_hint(model: type[BaseModel], where: Sequence[str], name: str) -> str:
    """What to say about an unknown ``name`` inside the block at ``where``: the nearest valid key,
    or the valid keys there."""
    prefix = ".".join(where)
    parent = block_at(model, where)
    if parent is None:
        return f"; {prefix} holds a value, not a block of keys"
    fields = list(parent.model_fields)
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{_joined(prefix, close[0])}'?)"
    return f"; valid keys here: {', '.join(_joined(prefix, field) for field in fields)}"


def _joined(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def value_at(obj: Any, dotted: str) -> Any:
    """The value of a dotted key in a validated object (typed as its field declares)."""
    return reduce(getattr, dotted.split("."), obj)


def set_at(data: dict, dotted: str, value: Any) -> None:
    """Set a dotted key in nested plain data, adding the blocks it needs; TypeError where the data
    holds a value in place of a block."""
    *blocks, name = dotted.split(".")
    node = data
    for part in blocks:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise TypeError(f"{part} is not a block")
    node[name] = value
