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
from agents.dynamics import grown_capabilities
from agents.roles import HOLDER_ROLES, ROLE_KEYS
from simulation.analyses.mean_field.mixing import PATHS, STANCES, Mixing, measure_mixing
from simulation.config import Scenario
from simulation.core import requests as requests_rules
from simulation.core.authority import monthly_capacity, service_chance
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
    public_near: float | None = None  # participation of departments' public neighbours (None: the public's share)
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
        # What a month of growth does from nothing is each capability's rate (training also builds
        # technology): every capability a countermeasure grows at all tends to 1.
        cognition, technology, security, _ = grown_capabilities(
            p, self.package.capability_rates_at(self.step), np.array([False, False, True]), np.zeros(3),
            np.zeros(2), np.zeros(2), np.zeros(2))
        for r in Role:
            if cognition[r] > 0:
                state[f"cognition_{r.key}"] = 1.0
        for r in HOLDER_ROLES:
            role = r.key
            if technology[r] > 0:
                state[f"technology_{role}"] = 1.0
            if security[r] > 0:
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

    def readiness(self, requester: Role, provider: Role) -> np.ndarray:
        """Share of its full-need rate a requester asks at on a requester–provider link, by its expected
        fulfilment there, ``[requester stance, provider stance]``: 1 on new links (no state)."""
        if self.state is None:
            return np.ones((2, 2))
        return requests_rules.readiness(self.scenario.parameters, self.state.expects[requester, provider])

    @cached_property
    def service(self) -> float:
        """Chance an escalated case is decided before its requester withdraws it: the state's, or, with
        no state, that of an authority with an empty queue."""
        if self.state is not None:
            return self.state.service
        p = self.scenario.parameters
        return service_chance(0.0, 0.0, monthly_capacity(self.levers, int(self.mixing.holders.sum())), p.case_patience)

    def pull(self, requester: Role, provider: Role, shares: np.ndarray) -> np.ndarray:
        """Factor on the requests a holder of ``requester``'s role files with ``provider``'s from the public
        around it (a department's public neighbours, participating with the public's share, or with
        ``public_near`` when given), capped as the model caps a link's monthly rate at 1."""
        p, mix = self.scenario.parameters, self.mixing
        rate = mix.requests_per_link[requester, provider]
        z = shares[..., Role.PUBLIC] if self.public_near is None else np.full(shares.shape[:-1], self.public_near)
        if rate <= 0:
            return np.ones_like(z)
        full = np.minimum(1.0, rate * requests_rules.public_pull(p, z, 1.0)) / rate
        reach = mix.pulled_reach[requester, provider]
        return (1.0 - reach) + reach * full

    def path_chance(self, requester: Role, provider: Role, tiers=None, over_tolerance=None) -> np.ndarray:
        """Chance of each of :data:`PATHS` for a request from ``requester``'s role to ``provider``'s (of a
        provider with the role pair's mean tier mix, or with ``tiers`` (..., 3) and ``over_tolerance``
        (...), in the last axis): a department asking a department uses the catalogued channel, every
        other pair is catalogued as far as graded catalogues reach."""
        theta = 1.0 if requester == provider == Role.GOVERNMENT else self.levers.tiering
        tiers = self.mixing.tiers[requester, provider] if tiers is None else np.asarray(tiers, dtype=float)
        refused = self.mixing.over_tolerance[requester, provider] if over_tolerance is None else over_tolerance
        refused = np.asarray(refused, dtype=float)[..., None]
        shareable = (1.0 - theta) * (1.0 - refused)
        return np.concatenate([theta * tiers, shareable * tiers, (1.0 - theta) * refused], axis=-1)

    def requests(self, requester: Role, provider: Role, watched, quality=None,
                 trust_of: tuple[int | None, int | None] = (None, None), size=None,
                 cognition: tuple = (None, None), technology=None, security=None,
                 sensitive=None, trust_offset=0.0) -> incentives.Requests:
        """The requests a holder of ``requester``'s role files with one of ``provider``'s role, one row
        per (path, requester stance, provider stance), stances in the order (share, hoard); ``watched``
        (the share of the public participating) broadcasts over leading axes, and so do ``quality``
        (the provider's, default its role's) and ``size`` (the request's need, default the pair's
        mean), and so do a side's ``cognition`` (requester's, provider's; default its role's) and the
        provider's ``technology``, ``security`` and ``sensitive`` share (the exposure of an
        uncatalogued request), and the link's ``trust_offset`` from its pair's trust.
        Trust on each row is that of the row's pair of stances, except that a side whose
        stance index ``trust_of`` names (0 share, 1 hoard) has the trust of that stance on every
        row: a holder weighing its two stances on a request does so over the link it has, built by
        the stance it played."""
        p, c, mix = self.scenario.parameters, self.capabilities, self.mixing
        trust_rows = np.array(list(itertools.product(range(len(PATHS)), range(2), range(2))))
        for side, index in enumerate(trust_of):
            if index is not None:
                trust_rows[:, side + 1] = index
        _, conditional, restricted = mix.tiers[requester, provider]
        rows = np.array(list(itertools.product(range(len(PATHS)), range(2), range(2))))
        path, asks, gives = rows[:, 0], STANCES[rows[:, 1]], STANCES[rows[:, 2]]
        n = len(rows)

        def column(value):
            return np.asarray(value, dtype=float)[..., None] * np.ones(n)
        quality = c[f"quality_{provider.key}"] if quality is None else quality
        size = mix.size[requester, provider] if size is None else size
        sensitive = column(conditional + restricted if sensitive is None else sensitive)
        catalogued_exposure = np.array([0.0, p.tiered_exposure, p.tiered_exposure] + [0.0] * 4)[path]
        exposure = np.where(path < 3, catalogued_exposure, sensitive)
        reach = mix.watched_reach[requester, provider]
        return incentives.Requests(
            size=column(p.request_share * np.asarray(size, dtype=float)), quality=column(quality),
            technology=column(c[f"technology_{provider.key}"] if technology is None else technology),
            security=column(c[f"security_{provider.key}"] if security is None else security),
            trust=np.clip(self.trust(requester, provider)[trust_rows[:, 1], trust_rows[:, 2]] + column(trust_offset),
                          0.0, 1.0),
            exposure=exposure, automatic=path == 0, not_shareable=np.isin(path, (2, 6)),
            conditional=np.isin(path, (1, 4)).astype(float),
            obliged=np.full(n, float(requester == provider == Role.GOVERNMENT)),
            requester_shares=asks, provider_shares=gives,
            watched=reach * column(watched),
            perception=column(c[f"cognition_{requester.key}"] if cognition[0] is None else cognition[0]),
            provider_perception=column(c[f"cognition_{provider.key}"] if cognition[1] is None else cognition[1]),
            provider_value=_RULES[provider].value_per_unit(p), requester_value=_RULES[requester].value_per_unit(p),
            restricted=np.isin(path, (2, 5)).astype(float), service=self.service)

    def _unnormalised(self, requester: Role, provider: Role, shares: np.ndarray, requester_stance=None,
                      provider_stance=None) -> np.ndarray:
        def stance(role, given):
            if given is not None:
                return np.broadcast_to(np.array([given, 1.0 - given]), shares.shape[:-1] + (2,))
            s = shares[..., role]
            return np.stack([s, 1.0 - s], axis=-1)
        w = (self.path_chance(requester, provider)[:, None, None]
             * stance(requester, requester_stance)[..., None, :, None]
             * stance(provider, provider_stance)[..., None, None, :]
             * self.readiness(requester, provider)[None, :, :])
        return w.reshape(shares.shape[:-1] + (-1,))

    def weights(self, requester: Role, provider: Role, shares: np.ndarray, requester_stance=None,
                provider_stance=None) -> np.ndarray:
        """Chance of each row of :meth:`requests` given that a request is filed (shape (..., rows)).  A
        side whose stance is given (1 or 0) has it for certain; otherwise it shares with its role's
        share; a requester asks more readily where it expects more (:meth:`readiness`)."""
        w = self._unnormalised(requester, provider, shares, requester_stance, provider_stance)
        total = w.sum(axis=-1, keepdims=True)
        return np.divide(w, total, out=np.zeros_like(w), where=total > 0)

    def demand(self, requester: Role, provider: Role, shares: np.ndarray, requester_stance=None,
               provider_stance=None) -> np.ndarray:
        """Requests filed per request the base rate would file: the public's pull times the readiness
        the requesters' expectations leave."""
        w = self._unnormalised(requester, provider, shares, requester_stance, provider_stance)
        return self.pull(requester, provider, shares) * w.sum(axis=-1)

    def holder_advantage(self, role: Role, shares: np.ndarray) -> np.ndarray:
        """Δ of a representative holder of ``role``: (share − hoard) of its role's rules, summed over
        the requests it expects to receive and to file in a month."""
        p, lv, rule = self.scenario.parameters, self.levers, _RULES[role]
        z = shares[..., Role.PUBLIC]
        delta = np.zeros(shares.shape[:-1])
        for other in HOLDER_ROLES:
            # As provider: the rule evaluates both of the holder's own stances (provider_shares is not read).
            share, hoard = rule.provider_payoffs(p, lv, self.requests(other, role, z))
            delta = delta + self.received[role, other] * self.demand(other, role, shares, provider_stance=1.0) * np.sum(
                self.weights(other, role, shares, provider_stance=1.0) * (share - hoard), axis=-1)
            # As requester: likewise for requester_shares.
            delta = delta + self.filed[role, other] * self.demand(role, other, shares, requester_stance=1.0) * np.sum(
                self.weights(role, other, shares, requester_stance=1.0) * self._requester_gain[role, other], axis=-1)
        return delta

    def row_gaps(self, requester: Role, provider: Role, shares: np.ndarray, quality=None, own: int | None = None,
                 size=None, cognition=None, technology=None, security=None, sensitive=None, trust_offset=0.0):
        """Per row of :meth:`requests`, (share − hoard) per data unit to the provider and to the
        requester, at ``shares`` (one point), for a provider of
        the role's quality or of ``quality`` and a request of the pair's mean need or of ``size``
        and each side deciding with its role's cognition or with ``cognition``, and of the role's or
        the given ``technology``, ``security`` and ``sensitive`` share, over a link ``trust_offset``
        from its pair's trust (each may be an array of levels: the gaps then have
        a leading axis); with ``own`` (0 share, 1
        hoard) each side weighs its stances over the trust of links its ``own`` stance built."""
        p, lv = self.scenario.parameters, self.levers
        point = np.asarray(shares, dtype=float)[None, :]
        watched = point[0, Role.PUBLIC]
        as_provider = self.requests(requester, provider, watched, quality, (None, own), size, (None, cognition),
                                    technology, security, sensitive, trust_offset)
        as_requester = self.requests(requester, provider, watched, quality, (own, None), size, (cognition, None),
                                     technology, security, sensitive, trust_offset)
        share, hoard = _RULES[provider].provider_payoffs(p, lv, as_provider)
        asked, passive = _RULES[requester].requester_payoffs(p, lv, as_requester)
        units = as_provider.size
        scale = np.divide(1.0, units, out=np.zeros_like(units), where=units > 0)
        return (share - hoard) * scale, (asked - passive) * scale

    def size_levels(self, requester: Role, provider: Role) -> np.ndarray:
        """Needs of requests from ``requester``'s role to ``provider``'s, one per equally likely level."""
        return self.mixing.size_levels[requester, provider]

    @cached_property
    def _requester_gain(self) -> dict[tuple[Role, Role], np.ndarray]:
        """(share − hoard) of the requester's rule per row, over the pair's levels of need (whether a
        case is worth the requester's effort depends on the size); it does not depend on the shares."""
        p, lv = self.scenario.parameters, self.levers
        gains = {}
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            req = self.requests(requester, provider, 0.0, size=self.size_levels(requester, provider))
            share, hoard = _RULES[requester].requester_payoffs(p, lv, req)
            gains[requester, provider] = np.mean(share - hoard, axis=0)
        return gains

    def outcomes(self, requester: Role, provider: Role) -> dict[str, np.ndarray]:
        """Per row and level of need (shape (levels, rows)), the chances the rules give a request:
        ``granted`` voluntarily, ``refused`` (what a requester could escalate), ``escalated`` (where
        the case is worth the requester's effort), ``forced`` (a refusal escalated, decided in time
        and ruled for sharing), ``done`` (granted or forced) and ``leaked`` (done and leaks)."""
        return self._outcomes[requester, provider]

    @cached_property
    def _outcomes(self) -> dict[tuple[Role, Role], dict[str, np.ndarray]]:
        p, lv = self.scenario.parameters, self.levers
        outcomes = {}
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            req = self.requests(requester, provider, 0.0, size=self.size_levels(requester, provider))
            worth = incentives.escalation_worth(p, lv, req, _RULES[requester].value_per_unit(p))
            refused = incentives.refusal_probability(p, req, req.requester_shares)
            done = incentives.fulfilment_probability(p, lv, req, req.requester_shares, worth)
            chances = {
                "granted": np.where(req.not_shareable, 0.0, 1.0 - refused), "refused": refused,
                "escalated": refused * lv.escalation * worth,
                "forced": refused * incentives.forced_grant_probability(lv, req, worth), "done": done,
                "leaked": done * incentives.incident_probability(p, req.security, req.exposure)}
            outcomes[requester, provider] = {name: np.broadcast_to(chance, req.size.shape)
                                             for name, chance in chances.items()}
        return outcomes

    def fulfilment(self, requester: Role, provider: Role, shares, requester_stance=None, provider_stance=None):
        """Chance a request from ``requester``'s role to ``provider``'s is fulfilled (the authority's
        forced grants included), and chance it is fulfilled and leaks."""
        w = self.weights(requester, provider, shares, requester_stance, provider_stance)
        outcome = self.outcomes(requester, provider)
        return np.sum(w * outcome["done"].mean(axis=0), axis=-1), np.sum(w * outcome["leaked"].mean(axis=0), axis=-1)

    def served(self, shares: np.ndarray) -> np.ndarray:
        """Expected share of a department's requests that are fulfilled this month, as a member of the
        public sees it (``DataSharingModel._served_share``: 0 for one with no department among its
        neighbours, hence the mixing's ``served_reach``): its requests to each role, weighted by how
        many it files there, fulfilled at that role's stance shares, for a department of either stance."""
        gov = Role.GOVERNMENT
        result = np.zeros(shares.shape[:-1])
        for mine, weight in ((1.0, shares[..., gov]), (0.0, 1.0 - shares[..., gov])):
            filed = {other: self.filed[gov, other] * self.demand(gov, other, shares, requester_stance=mine)
                     for other in HOLDER_ROLES}
            total = sum(filed.values())
            done = sum(filed[other] * self.fulfilment(gov, other, shares, requester_stance=mine)[0] for other in filed)
            result = result + weight * np.divide(done, total, out=np.zeros_like(result), where=total > 0)
        return self.mixing.served_reach * result

    def incident_rate(self, shares: np.ndarray) -> np.ndarray:
        """Expected incidents per holder per month (the public's recent incident rate at its fixed point)."""
        n = self.mixing.holders
        total = np.zeros(shares.shape[:-1])
        for requester, provider in itertools.product(HOLDER_ROLES, repeat=2):
            _, leaked = self.fulfilment(requester, provider, shares)
            total = total + n[requester] * self.filed[requester, provider] * self.demand(
                requester, provider, shares) * leaked
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
    role; trust on a link per pair of roles and pair of stances ``trust[a, b, sa, sb]`` (stances in
    the order share, hoard; ``trust[a, b, sa, sb] == trust[b, a, sb, sa]``: one link); a requester's
    expected fulfilment on a link ``expects[a, b, sa, sb]`` (role a asking role b: one direction);
    the public's memory of the incident rate; and the authority's queue, expected cases by the
    months they have waited, with the service chance its last month showed."""

    cognition: np.ndarray  # (3,)
    technology: np.ndarray  # (2,)
    security: np.ndarray  # (2,)
    quality: np.ndarray  # (2,)
    trust: np.ndarray  # (2, 2, 2, 2)
    incident_memory: float
    expects: np.ndarray  # (2, 2, 2, 2)
    queue: np.ndarray  # (case_patience,) expected cases that have waited 0, 1, ... months
    service: float = 1.0

    @classmethod
    def initial(cls, scenario: Scenario, mixing: Mixing) -> "MeanFieldState":
        trust = np.broadcast_to(mixing.trust[:, :, None, None], (2, 2, 2, 2)).copy()
        return cls(mixing.cognition.copy(), mixing.technology.copy(), mixing.security.copy(), mixing.quality.copy(),
                   trust, 0.0, np.ones((2, 2, 2, 2)), np.zeros(scenario.parameters.case_patience))

    def capabilities(self) -> dict[str, float]:
        state = {f"cognition_{r.key}": float(self.cognition[r]) for r in Role}
        for r in HOLDER_ROLES:
            state |= {f"technology_{r.key}": float(self.technology[r]), f"security_{r.key}": float(self.security[r]),
                      f"quality_{r.key}": float(self.quality[r])}
        return state
