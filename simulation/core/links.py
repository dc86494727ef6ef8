"""Per-link state of the holder network as one struct of arrays, and this month's flows over it."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NEVER = -(10**9)  # "last flow" of a link that never carried data


@dataclass
class Links:
    """Holder-holder links, one row per link, ``u < v``.  A new per-link array is one field here
    and its value for new links in :meth:`add`; dropping and appending rows keep every field aligned."""

    u: np.ndarray
    v: np.ndarray
    trust: np.ndarray
    last_flow: np.ndarray  # month of the last flow over the link (NEVER if none)
    last_active: np.ndarray  # month of creation or of the last flow (for decay)

    @classmethod
    def new(cls, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> "Links":
        return cls(u, v, trust, np.full(len(u), NEVER, dtype=np.int64), np.full(len(u), step, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.u)

    def keep(self, mask: np.ndarray) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name)[mask])

    def add(self, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> None:
        new = Links.new(u, v, trust, step)
        for field in fields(self):
            setattr(self, field.name, np.concatenate([getattr(self, field.name), getattr(new, field.name)]))

    def flowed(self, mask: np.ndarray, step: int) -> None:
        self.last_flow[mask] = step
        self.last_active[mask] = step

    def recent(self, step: int, window: int) -> np.ndarray:
        """Which links carried data within the last ``window`` months."""
        return (step - self.last_flow) < window


@dataclass
class Flows:
    """Data sent this month over each holder link, in both directions."""

    forward: np.ndarray  # u -> v
    backward: np.ndarray  # v -> u
    sent: np.ndarray  # per holder, total sent
    shared_fraction: np.ndarray  # per holder, largest share of its data sent on any link

    @classmethod
    def none(cls, links: int, holders: int) -> "Flows":
        zeros = np.zeros(links)
        return cls(zeros, zeros, np.zeros(holders), np.zeros(holders))
