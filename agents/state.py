"""The agents' state, declared once (docs/ODD.md section 2): structs of NumPy arrays with one row per
agent, per holder or per member of the public.  The model owns one instance of each; the Mesa agent
views (``agents/base.py``, ``agents/public.py``) read and write them through the declarations.

A new state variable is one :class:`Array` line in its struct: its dtype and meaning are declared
there, every value assigned to it is kept in that dtype, and :meth:`StateArrays.describe` lists it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Array:
    """One declared state array of a :class:`StateArrays` struct: its dtype and its meaning."""

    def __init__(self, dtype: type, meaning: str) -> None:
        self.dtype = np.dtype(dtype)
        self.meaning = meaning
        self.name = ""
        self.owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.owner = name, owner

    def __get__(self, struct: StateArrays | None, owner: type | None = None) -> Any:
        return self if struct is None else struct.__dict__[self.name]

    def __set__(self, struct: StateArrays, value: Any) -> None:
        struct.__dict__[self.name] = np.asarray(value, dtype=self.dtype)

    def view(self) -> property:
        """A Mesa agent's property backed by this array at the agent's row (``agent.index`` less the
        struct's first node): the agent reads and writes the model's state, never a copy."""
        array = self

        def row(agent) -> tuple[np.ndarray, int]:
            struct = agent.model.arrays_of(array.owner)
            return array.__get__(struct), agent.index - struct.first

        def getter(agent):
            values, at = row(agent)
            return values[at].item()

        def setter(agent, value) -> None:
            values, at = row(agent)
            values[at] = value

        return property(getter, setter, doc=self.meaning)


class StateArrays:
    """A struct of equal-length arrays, one row per member; its :class:`Array` class attributes are
    the declaration.  ``first`` is the network node of row 0 (agents are numbered departments, then
    enterprises, then the public), so a node's row is ``node - first``."""

    declared: tuple[Array, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.declared = tuple(value for value in vars(cls).values() if isinstance(value, Array))

    def __init__(self, first: int = 0, **arrays: Any) -> None:
        names = {array.name for array in self.declared}
        if set(arrays) != names:
            raise TypeError(f"{type(self).__name__} needs exactly {sorted(names)}; "
                            f"missing {sorted(names - set(arrays))}, unknown {sorted(set(arrays) - names)}")
        self.first = first
        for array in self.declared:
            setattr(self, array.name, arrays[array.name])

    def __len__(self) -> int:
        return len(getattr(self, self.declared[0].name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} rows from node {self.first})"

    @classmethod
    def empty(cls, first: int = 0) -> StateArrays:
        """A struct with no rows."""
        return cls(first, **{array.name: np.zeros(0, array.dtype) for array in cls.declared})

    def rows(self, mask: np.ndarray) -> StateArrays:
        """A new struct of the rows where ``mask`` is True (this one unchanged)."""
        return type(self)(self.first, **{array.name: getattr(self, array.name)[mask] for array in self.declared})

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False, every array alike."""
        for array in self.declared:
            setattr(self, array.name, getattr(self, array.name)[mask])

    def extend(self, other: StateArrays) -> None:
        """Append ``other``'s rows, every array alike."""
        for array in self.declared:
            setattr(self, array.name, np.concatenate([getattr(self, array.name), getattr(other, array.name)]))

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(name, dtype, meaning) of every declared array, in declaration order."""
        return [(array.name, str(array.dtype), array.meaning) for array in cls.declared]


class Population(StateArrays):
    """One row per agent, in node order (departments, then enterprises, then the public)."""

    role = Array(np.int8, "the agent's Role")
    strategy = Array(np.int8, "0 = passive / hoard / bystand, 1 = active / share / participate")
    cognition = Array(np.float64, "understanding of what sharing yields, in [0, 1]")
    payoff = Array(np.float64, "payoff earned this month (benefits fully perceived)")


class Holders(StateArrays):
    """One row per data holder (departments, then enterprises): a holder's row is its node."""

    kind_code = Array(np.int8, "the holder's kind, an index into simulation.core.requests.KINDS")
    volume = Array(np.float64, "data units produced per month (median holder = 1)")
    quality = Array(np.float64, "data quality in [0, 1]")
    technology = Array(np.float64, "technology capacity in [0, 1]")
    security = Array(np.float64, "security capacity in [0, 1]")
    open = Array(np.float64, "share of its catalogue in the unconditional tier")
    conditional = Array(np.float64, "share of its catalogue in the conditional tier")
    restricted = Array(np.float64, "share of its catalogue that may not be shared")
    isolation_spell = Array(np.int64, "months in a row without a recent fulfilled request either way")
    last_provided = Array(np.int64, "last month its data reached another holder (far in the past if never)")


class Public(StateArrays):
    """One row per member of the public; row 0 is the first node after the holders."""

    privacy_concern = Array(np.float64, "privacy concern in [0, 1]")
