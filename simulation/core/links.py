"""Per-link state of the holder network as one struct of arrays, and this month's flows over it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from agents.state import Array, StateArrays

NEVER = -(10**9)  # "last flow" of a link that never carried data


class Links(StateArrays):
    """Holder-holder links, one row per link, ``u < v``.  A new per-link array is one declaration
    here and its value for new links in :meth:`new`; dropping and appending rows keep every array
    aligned."""

    u = Array(np.int64, "the link's lower holder")
    v = Array(np.int64, "the link's higher holder")
    trust = Array(np.float64, "trust between the two holders, in [0, 1]")
    last_forward = Array(np.int64, "month a request last brought u's data to v (NEVER if none)")
    last_backward = Array(np.int64, "month a request last brought v's data to u (NEVER if none)")
    last_active = Array(np.int64, "month of creation or of the last fulfilled request (for decay)")
    u_expects = Array(np.float64, "u's expected fulfilment of its requests to v, in [0, 1] (1 on a new link)")
    v_expects = Array(np.float64, "v's expected fulfilment of its requests to u, in [0, 1] (1 on a new link)")

    @classmethod
    def new(cls, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> "Links":
        never = np.full(len(u), NEVER, dtype=np.int64)
        return cls(u=u, v=v, trust=trust, last_forward=never, last_backward=never.copy(),
                   last_active=np.full(len(u), step, dtype=np.int64), u_expects=np.ones(len(u)),
                   v_expects=np.ones(len(u)))

    def learn_outcomes(self, link: np.ndarray, u_asked: np.ndarray, fulfilled: np.ndarray, memory: float) -> None:
        """Requesters update their expected fulfilment on each link direction toward the month's
        outcomes there (the share of their requests answered)."""
        m = len(self)
        for asked, expects in ((u_asked, "u_expects"), (~u_asked, "v_expects")):
            count = np.bincount(link[asked], minlength=m)
            answered = np.bincount(link[asked], fulfilled[asked], minlength=m)
            seen = count > 0
            values = getattr(self, expects)
            values[seen] += memory * (answered[seen] / count[seen] - values[seen])

    def add(self, u: np.ndarray, v: np.ndarray, trust: np.ndarray, step: int) -> None:
        self.extend(Links.new(u, v, trust, step))

    def flowed(self, forward: np.ndarray, backward: np.ndarray, step: int) -> None:
        self.last_forward[forward] = step
        self.last_backward[backward] = step
        self.last_active[forward | backward] = step

    def recent(self, step: int, window: int, two_way: bool = False) -> np.ndarray:
        """Which links carried data within the last ``window`` months (in both directions if ``two_way``)."""
        forward, backward = (step - self.last_forward) < window, (step - self.last_backward) < window
        return forward & backward if two_way else forward | backward


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class PublicTies:
    """The links with the public, which never change, prepared once.  Their adjacency is split into
    one column block per role (a role's node ids are contiguous), so one sparse product per role
    counts every agent's neighbours of that role with some property; ``present`` counts them all;
    the public-public pairs are the only same-role ones among them."""

    u: np.ndarray  # one end of every link with the public (the lower node)
    v: np.ndarray
    blocks: tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]
    present: tuple[np.ndarray, np.ndarray, np.ndarray]  # per role: each agent's neighbours of it over these links
    same_role_u: np.ndarray
    same_role_v: np.ndarray
