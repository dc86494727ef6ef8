"""The mean-field game of the data-sharing model (docs/ODD.md section 6, docs/game.md).

:class:`MeanFieldGame` reduces the model to representative agents on the role-to-role mixing
measured from the scenario's network (:mod:`.mixing`).  Its Δ is the roles' decision rules in
``agents/`` (the code the agent-based run uses, under the same countermeasure objects) summed over
the requests a holder expects in a month, so it is a payoff function that
:mod:`simulation.analyses.game` analyses like any table game.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from agents import Role, enterprise, government, incentives, public
from agents.roles import HOLDER_ROLES, ROLE_KEYS
from simulation.analyses.mean_field.mixing import PATHS, STANCES, Mixing, measure_mixing
from simulation.config import Scenario
from simulation.core.countermeasures import Countermeasure, Package


@dataclass(frozen=True)
class MeanFieldGame:
    """The data-sharing model reduced to a representative agent per role, on the role-to-role mixing
    of a network (:class:`Mixing`; by default the complete graph of ordinary holders).

    At role shares (x, y, z) a holder of role a files ``mixing.rate[a, b]`` requests a month with
    holders of role b and receives ``rate[b, a]·N_b/N_a`` from them; each is described as
    :class:`incentives.Requests` rows: one per path the rules can route it by (catalogued in a tier,
    chance θ·tier share; uncatalogued, (1 − θ)·tier share, refused outright where the provider is
    more restricted than the tolerance) and per stance of each side, weighted by the chance of each
    (a side shares with the probability of its role's share).  Δ of a holder's role is the sum of
    (share − hoard) of the role's own decision rules over the requests it receives and files,
    exactly what ``DataSharingModel.strategy_payoffs`` sums over the month's actual requests.  The
    public's Δ is ``public.payoffs`` at the expected share of departments' requests served and the
    expected incident rate.

    State: with ``state`` given (a :class:`MeanFieldState`, as :func:`mean_field_path` moves it),
    capabilities and trust per role pair and pair of stances are that state's; otherwise frozen, with
    ``long_run=False`` at the mixing's initial means and trust, with ``long_run=True`` at the fixed
    points the countermeasures drive the capabilities to (:func:`long_run_quality`).  Levers are
    those the scenario's countermeasures (and any ``extra`` ones) set at ``step``.
    """

    scenario: Scenario
    step: int
    long_run: bool = False
    extra: tuple[Countermeasure, ...] = ()
    mixing: Mixing | None = None
    state: "MeanFieldState | None" = None
    roles: tuple[str, ...] = ROLE_KEYS
    name: str = field(init=False)

    def __post_init__(self) -> None:
        horizon = ", long run" if self.long_run else ""
        where = "" if self.mixing is None else " on its network"
        object.__setattr__(self, "name", f"mean field of {self.scenario.name}{where}{horizon}")
        if self.mixing is None:
            object.__setattr__(self, "mixing", Mixing.complete(self.scenario))

    @cached_property
    def package(self) -> Package:
        return Package.of(self.scenario, self.extra)

    @cached_property
    def levers(self) -> incentives.Levers:
        return self.package.levers_at(self.step)

    @cached_property
    def capabilities(self) -> dict[str, float]:
        """Cognition per role, technology, security and quality per holder role of the representative agents."""
        if self.state is not None:
            return self.state.capabilities()
        p, mix = self.scenario.parameters, self.mixing
        state = {"cognition_government": mix.cognition[0], "cognition_enterprise": mix.cognition[1],
                 "cognition_public": mix.cognition[2], "technology_government": mix.technology[0],
                 "technology_enterprise": mix.technology[1], "security_government": mix.security[0],
                 "security_enterprise": mix.security[1], "quality_government": mix.quality[0],
                 "quality_enterprise": mix.quality[1]}
        if not self.long_run:
            return state
        rates = self.package.capability_rates_at(self.step)
        if rates.training > 0:
            state["cognition_government"] = state["cognition_enterprise"] = 1.0
        if rates.publicity > 0:
            state["cognition_public"] = 1.0
        for role in (r.key for r in HOLDER_ROLES):
            if rates.technology > 0:
                state[f"technology_{role}"] = 1.0
            if rates.security > 0:
                state[f"security_{role}"] = 1.0
            state[f"quality_{role}"] = long_run_quality(p, state[f"technology_{role}"], state[f"quality_{role}"])
        return state

    @cached_property
    def partners(self) -> np.ndarray:
        """``partners[a, b]``: holders of role b a holder of role a is linked to on the complete graph."""
        sizes = self.mixing.holders
        return sizes[None, :] - np.eye(2)

    @cached_property
    def filed(self) -> np.ndarray:
        """``filed[a, b]``: requests a holder of role a files with holders of role b in a month."""
        return self.mixing.rate

    @cached_property
    def received(self) -> np.ndarray:
        """``received[a, b]``: requests a holder of role a receives from holders of role b in a month."""
        n = self.mixing.holders
        return self.mixing.rate.T * n[None, :] / n[:, None]

    def trust(self, requester: Role, provider: Role) -> np.ndarray:
        """Trust on a requester–provider link, ``[requester stance, provider stance]`` in the order (share, hoard)."""
        if self.state is not None:
            return self.state.trust[requester, provider]
        return np.full((2, 2), self.mixing.trust[requester, provider])

    def path_chance(self, requester: Role, provider: Role) -> np.ndarray:
        """Chance of each of :data:`PATHS` for a request from ``requester``'s role to ``provider``'s."""
        theta = self.levers.tiering
        open_, conditional, restricted = self.mixing.tiers[requester, provider]
        refused = self.mixing.over_tolerance[requester, provider]
        return np.array([theta * open_, theta * conditional, theta * restricted,
                         (1.0 - theta) * (1.0 - refused) * (open_ + conditional),
                         (1.0 - theta) * (1.0 - refused) * restricted, (1.0 - theta) * refused])

    def requests(self, requester: Role, provider: Role, watched, quality: float | None = None,
                 trust_of: tuple[int | None, int | None] = (None, None)) -> incentives.Requests:
        """The requests a holder of ``requester``'s role files with one of ``provider``'s role, one row
        per (path, requester stance, provider stance), stances in the order (share, hoard); ``watched``
        (the share of the public participating) broadcasts over leading axes.  Trust on each row is
        that of the row's pair of stances, except that a side whose stance index ``trust_of`` names
        (0 share, 1 hoard) has the trust of that stance on every row: a holder weighing its two
        stances on a request does so over the link it has, built by the stance it played."""
        p, c, mix = self.scenario.parameters, self.capabilities, self.mixing
        trust_rows = np.array(list(itertools.product(range(len(PATHS)), range(2), range(2))))
        for side, index in enumerate(trust_of):
            if index is not None:
                trust_rows[:, side + 1] = index
        _, conditional, restricted = mix.tiers[requester, provider]
        rows = np.array(list(itertools.product(range(len(PATHS)), range(2), range(2))))
        path, asks, gives = rows[:, 0], STANCES[rows[:, 1]], STANCES[rows[:, 2]]
        n = len(rows)
        exposure = np.array([0.0, p.tiered_exposure, p.tiered_exposure] + [conditional + restricted] * 3)[path]
        reach = mix.watched_reach[requester, provider]
        return incentives.Requests(
            size=np.full(n, p.request_share * mix.size[requester, provider]),
            quality=np.full(n, c[f"quality_{provider.key}"] if quality is None else quality),
            technology=np.full(n, c[f"technology_{provider.key}"]), security=np.full(n, c[f"security_{provider.key}"]),
            trust=self.trust(requester, provider)[trust_rows[:, 1], trust_rows[:, 2]],
            exposure=exposure, automatic=path == 0, not_shareable=np.isin(path, (2, 5)),
            requester_shares=asks, provider_shares=gives,
            watched=reach * np.asarray(watched, dtype=float)[..., None] * np.ones(n),
            perception=np.full(n, c[f"cognition_{requester.key}"]),
            restricted=np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0])[path])

    def weights(self, requester: Role, provider: Role, shares: np.ndarray, requester_stance=None,
                provider_stance=None) -> np.ndarray:
        """Chance of each row of :meth:`requests` (shape (..., rows)).  A side whose stance is given
        (1 or 0) has it for certain; otherwise it shares with its role's share."""
        def stance(role, given):
            if given is not None:
                return np.broadcast_to(np.array([given, 1.0 - given]), shares.shape[:-1] + (2,))
            s = shares[..., role]
            return np.stack([s, 1.0 - s], axis=-1)
        w = (self.path_chance(requester, provider)[:, None, None]
             * stance(requester, requester_stance)[..., None, :, None]
             * stance(provider, provider_stance)[..., None, None, :])
        return w.reshape(shares.shape[:-1] + (-1,))

    def holder_advantage(self, role: Role, shares: np.ndarray) -> np.ndarray:
        """Δ of a representative holder of ``role``: (share − hoard) of its role's rules, summed over
        the requests it expects to receive and to file in a month."""
        p, lv, rule = self.scenario.parameters, self.levers, _RULES[role]
        z = shares[..., Role.PUBLIC]
        delta = np.zeros(shares.shape[:-1])
        for other in HOLDER_ROLES:
            # As provider: the rule evaluates both of the holder's own stances (provider_shares is not read).
            share, hoard = rule.provider_payoffs(p, lv, self.requests(other, role, z))
            delta = delta + self.received[role, other] * np.sum(
                self.weights(other, role, shares, provider_stance=1.0) * (share - hoard), axis=-1)
            # As requester: likewise for requester_shares.
            delta = delta + self.filed[role, other] * np.sum(
                self.weights(role, other, shares, requester_stance=1.0) * self._requester_gain[role, other], axis=-1)
        return delta

    def row_gaps(self, requester: Role, provider: Role, shares: np.ndarray, quality: float | None = None,
                 own: int | None = None):
        """Per row of :meth:`requests`, (share − hoard) per data unit to the provider with the row's
        chance, and to the requester with its chance, at ``shares`` (one point), for a provider of
        the role's quality or of ``quality``; with ``own`` (0 share, 1 hoard) each side weighs its
        stances over the trust of links its ``own`` stance built."""
        p, lv = self.scenario.parameters, self.levers
        point = np.asarray(shares, dtype=float)[None, :]
        watched = point[0, Role.PUBLIC]
        as_provider = self.requests(requester, provider, watched, quality, (None, own))
        as_requester = self.requests(requester, provider, watched, quality, (own, None))
        share, hoard = _RULES[provider].provider_payoffs(p, lv, as_provider)
        asked, passive = _RULES[requester].requester_payoffs(p, lv, as_requester)
        scale = 1.0 / as_provider.size[0] if as_provider.size[0] > 0 else 0.0
        return ((share - hoard) * scale, self.weights(requester, provider, point, provider_stance=1.0)[0],
                (asked - passive) * scale, self.weights(requester, provider, point, requester_stance=1.0)[0])

    @cached_property
    def _requester_gain(self) -> dict[tuple[Role, Role], np.ndarray]:
        """(share − hoard) of the requester's rule per row; it does not depend on the shares."""
        p, lv = self.scenario.parameters, self.levers
        gains = {}
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            share, hoard = _RULES[requester].requester_payoffs(p, lv, self.requests(requester, provider, 0.0))
            gains[requester, provider] = share - hoard
        return gains

    @cached_property
    def _outcomes(self) -> dict[tuple[Role, Role], tuple[np.ndarray, np.ndarray]]:
        """Per row, the chance a request is fulfilled (escalation and arbitration included) and the
        chance it is fulfilled and leaks; neither depends on the shares."""
        p, lv = self.scenario.parameters, self.levers
        outcomes = {}
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            req = self.requests(requester, provider, 0.0)
            done = incentives.fulfilment_probability(p, lv, req, req.requester_shares)
            outcomes[requester, provider] = done, done * incentives.incident_probability(p, req.security, req.exposure)
        return outcomes

    def fulfilment(self, requester: Role, provider: Role, shares, requester_stance=None, provider_stance=None):
        """Chance a request from ``requester``'s role to ``provider``'s is fulfilled (escalation and
        arbitration included), and chance it is fulfilled and leaks."""
        w = self.weights(requester, provider, shares, requester_stance, provider_stance)
        done, leak = self._outcomes[requester, provider]
        return np.sum(w * done, axis=-1), np.sum(w * leak, axis=-1)

    def served(self, shares: np.ndarray) -> np.ndarray:
        """Expected share of a department's requests that are fulfilled this month, as a member of the
        public sees it (``DataSharingModel._served_share``: 0 for one with no department among its
        neighbours, hence the mixing's ``served_reach``): its requests to each role, weighted by how
        many it files there, fulfilled at that role's stance shares, for a department of either stance."""
        gov = Role.GOVERNMENT
        result = np.zeros(shares.shape[:-1])
        filed = {other: self.filed[gov, other] for other in HOLDER_ROLES}
        total = sum(filed.values())
        if total == 0:
            return result
        for mine, weight in ((1.0, shares[..., gov]), (0.0, 1.0 - shares[..., gov])):
            done = sum(filed[other] * self.fulfilment(gov, other, shares, requester_stance=mine)[0] for other in filed)
            result = result + weight * done / total
        return self.mixing.served_reach * result

    def incident_rate(self, shares: np.ndarray) -> np.ndarray:
        """Expected incidents per holder per month (the public's recent incident rate at its fixed point)."""
        n = self.mixing.holders
        total = np.zeros(shares.shape[:-1])
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            _, leaked = self.fulfilment(requester, provider, shares)
            total = total + n[requester] * self.filed[requester, provider] * leaked
        return total / n.sum()

    def public_advantage(self, shares: np.ndarray, incident_rate=None) -> np.ndarray:
        p, lv, c = self.scenario.parameters, self.levers, self.capabilities
        rate = self.incident_rate(shares) if incident_rate is None else incident_rate
        participate, bystand = public.payoffs(p, lv, self.served(shares), self.mixing.privacy_concern, rate,
                                              c["cognition_public"])
        return participate - bystand

    def advantage(self, shares: np.ndarray) -> np.ndarray:
        shares = np.asarray(shares, dtype=float)
        incident = None if self.state is None else self.state.incident_memory
        return np.stack([self.holder_advantage(Role.GOVERNMENT, shares), self.holder_advantage(Role.ENTERPRISE, shares),
                         self.public_advantage(shares, incident)], axis=-1)


_RULES = {Role.GOVERNMENT: government, Role.ENTERPRISE: enterprise}


def long_run_quality(p, technology: float, initial: float) -> float:
    """Fixed point of a holder's quality from ``initial`` (docs/ODD.md section 3, steps 2 and 5):
    technology's gain g·τ·(1 − q) against ageing δ·q, plus, while the data is below the standard q*
    and remediation costs anything (τ < 1), the share ℓ of the gap closed in each month the holder
    remediates, which a holder of the complete graph does every month (it provides data every month)."""
    gain, decay, learn, standard = (p.technology_quality_gain * technology, p.quality_decay, p.remediation_learning,
                                    p.quality_standard)
    remediates = technology < 1.0 and learn > 0
    if gain + decay == 0:  # only remediation moves quality, and it stops at the standard
        return standard if remediates and initial < standard else initial
    ageing = gain / (gain + decay)
    if ageing >= standard or not remediates:
        return ageing
    return (gain + learn * standard) / (gain + decay + learn)


def scenario_game(scenario: Scenario, long_run: bool = False, extra: tuple[Countermeasure, ...] = (),
                  mixing: Mixing | None = None) -> MeanFieldGame:
    """The mean field at a month by which every countermeasure has ramped up fully, on the mixing
    of the scenario's own network (measured for its seed) unless ``mixing`` is given."""
    mixing = measure_mixing(scenario) if mixing is None else mixing
    return MeanFieldGame(scenario, Package.of(scenario, extra).full_strength_step, long_run, extra, mixing)


def complete_graph_game(scenario: Scenario, long_run: bool = False,
                        extra: tuple[Countermeasure, ...] = ()) -> MeanFieldGame:
    """The mean field of ordinary holders on the complete graph, at full strength."""
    return scenario_game(scenario, long_run, extra, Mixing.complete(scenario))


@dataclass(frozen=True)
class MeanFieldState:
    """What the model carries from month to month, for the representative agents: capabilities per
    role, trust on a link per pair of roles and pair of stances ``trust[a, b, sa, sb]`` (stances in
    the order share, hoard; ``trust[a, b, sa, sb] == trust[b, a, sb, sa]``: one link), and the
    public's memory of the incident rate."""

    cognition: np.ndarray  # (3,)
    technology: np.ndarray  # (2,)
    security: np.ndarray  # (2,)
    quality: np.ndarray  # (2,)
    trust: np.ndarray  # (2, 2, 2, 2)
    incident_memory: float

    @classmethod
    def initial(cls, scenario: Scenario, mixing: Mixing) -> "MeanFieldState":
        trust = np.broadcast_to(mixing.trust[:, :, None, None], (2, 2, 2, 2)).copy()
        return cls(mixing.cognition.copy(), mixing.technology.copy(), mixing.security.copy(), mixing.quality.copy(),
                   trust, 0.0)

    def capabilities(self) -> dict[str, float]:
        state = {f"cognition_{r.key}": float(self.cognition[r]) for r in Role}
        for r in HOLDER_ROLES:
            state |= {f"technology_{r.key}": float(self.technology[r]), f"security_{r.key}": float(self.security[r]),
                      f"quality_{r.key}": float(self.quality[r])}
        return state
