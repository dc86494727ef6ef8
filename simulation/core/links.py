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
    last_forward: np.ndarray  # month a request last brought u's data to v (NEVER if none)
    last_backward: np.ndarray  # month a request last brought v's data to u
    last_active: np.ndarray  # month of creation or of the last fulfilled request (for decay)

    @classmethod
    def new(cls, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> "Links":
        never = np.full(len(u), NEVER, dtype=np.int64)
        return cls(u, v, trust, never, never.copy(), np.full(len(u), step, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.u)

    def keep(self, mask: np.ndarray) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name)[mask])

    def add(self, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> None:
        new = Links.new(u, v, trust, step)
        for field in fields(self):
            setattr(self, field.name, np.concatenate([getattr(self, field.name), getattr(new, field.name)]))

    def flowed(self, forward: np.ndarray, backward: np.ndarray, step: int) -> None:
        self.last_forward[forward] = step
        self.last_backward[backward] = step
        self.last_active[forward | backward] = step

    def recent(self, step: int, window: int, two_way: bool = False) -> np.ndarray:
        """Which links carried data within the last ``window`` months (in both directions if ``two_way``)."""
        forward, backward = (step - self.last_forward) < window, (step - self.last_backward) < window
        return forward & backward if two_way else forward | backward


@dataclass
class Flows:
    """Data units moved this month by fulfilled requests over each holder link, in both directions."""

    forward: np.ndarray  # units u -> v
    backward: np.ndarray  # units v -> u
    sent: np.ndarray  # per holder, units provided
    received: np.ndarray  # per holder, units received

    @classmethod
    def none(cls, links: int, holders: int) -> "Flows":
        zeros = np.zeros(links)
        return cls(zeros, zeros, np.zeros(holders), np.zeros(holders))
