"""The mean field of the data-sharing model (docs/ODD.md section 6, docs/game.md).

:class:`MeanFieldGame` reduces the model to representative agents on the role-to-role mixing
measured from the scenario's network (:func:`measure_mixing`; :meth:`Mixing.complete` for the
complete graph).  Its Δ is the roles' decision rules in ``agents/`` (the code the agent-based run
uses, under the same countermeasure objects) summed over the requests a holder expects in a month,
so it is a payoff function that :mod:`simulation.analyses.game` analyses like any table game.

:func:`mean_field_path` steps that mean field month by month as the model steps (learning, trust,
capabilities), per holder of the measured networks, to predict the model's state at its horizon.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from agents import Role, enterprise, government, incentives, public
from simulation.config import Scenario
from simulation.core.countermeasures import Countermeasure, Package

# How the rules route a request (docs/ODD.md 3.4b): catalogued in the unconditional, conditional or
# not-shareable tier; or uncatalogued, where the tier still matters to arbitration, which never
# orders data of the not-shareable tier shared (3.4d), and where a provider whose data is more
# restricted than the tolerance refuses everything.
PATHS = ("open", "conditional", "restricted", "uncatalogued", "uncatalogued restricted", "uncatalogued, over tolerance")
_STANCES = np.array([1.0, 0.0])  # strategy 1 (share / active), strategy 0
HOLDER_ROLES = (Role.GOVERNMENT, Role.ENTERPRISE)


@dataclass(frozen=True)
class AgentExposure:
    """Per holder of the measured networks (every seed's holders pooled), the requests it can meet in
    a month, one *slot* per direction of each of its links: it provides in one, requests in the
    other, each with the link's monthly rate for that direction and the provider's volume.  With
    them the mean field keeps what a role mean averages away: a holder with many departments around
    it, a large one, a month with one request or none."""

    role: np.ndarray  # (n,) Role of each holder
    network: np.ndarray  # (n,) which measured network (seed) the holder belongs to
    public_reach: np.ndarray  # (m,) per member of the public: 1 if a department is among its neighbours
    slot_agent: np.ndarray  # (s,) the holder the slot belongs to
    slot_provides: np.ndarray  # (s,) True: it provides in this slot; False: it requests
    slot_pair: np.ndarray  # (s,) 2·(requester role) + (provider role)
    slot_rate: np.ndarray  # (s,) chance of a request in a month (at most 1, as the model draws them)
    slot_size: np.ndarray  # (s,) the provider's data volume
    slot_quality: np.ndarray  # (s,) the provider's initial data quality (water companies' spread included)


@dataclass(frozen=True)
class Mixing:
    """Who meets whom, and with what data, per pair of holder roles ``[a, b]`` (requester a, provider
    b): what a representative holder sees.  :meth:`complete` is the complete graph of ordinary
    holders at the scenario's means; :func:`measure_mixing` measures it on the scenario's own networks."""

    holders: np.ndarray  # (2,) departments, enterprises
    public: int
    rate: np.ndarray  # (2, 2) requests a holder of role a files with holders of role b in a month
    link_rate: np.ndarray  # (2, 2) requests a→b per month over one a–b link
    size: np.ndarray  # (2, 2) mean data volume of the provider of a request a→b
    tiers: np.ndarray  # (2, 2, 3) mean tier mix (unconditional, conditional, not shareable) of that provider
    over_tolerance: np.ndarray  # (2, 2) share of requests a→b whose provider is more restricted than the tolerance
    watched_reach: np.ndarray  # (2, 2) share of requests a→b whose provider has public neighbours
    served_reach: float  # share of the public with a department among its neighbours
    quality: np.ndarray  # (2,) mean initial quality of a provider of each role, weighted by the requests it gets
    technology: np.ndarray  # (2,) likewise
    security: np.ndarray  # (2,) likewise
    cognition: np.ndarray  # (3,) mean initial cognition per role
    trust: np.ndarray  # (2, 2) mean initial trust on an a–b link
    privacy_concern: float
    agents: "AgentExposure | None" = None  # per holder of the measured networks; None: one representative per role

    @classmethod
    def complete(cls, scenario: Scenario) -> "Mixing":
        """Every holder linked to every other, every member of the public seeing every holder; every
        holder ordinary (volume 1, no grid, water or telecom specifics), at the scenario's means."""
        p, pop, d = scenario.parameters, scenario.population, scenario.demand
        holders = np.array([pop.government, pop.enterprise], dtype=float)
        partners = holders[None, :] - np.eye(2)
        demand = np.array([[d.government_from_government, d.government_from_enterprise],
                           [d.enterprise_from_government, d.enterprise_from_enterprise]])
        open_ = min(p.open_share, 1.0 - p.restricted_share)
        tiers = np.broadcast_to([open_, 1.0 - open_ - p.restricted_share, p.restricted_share], (2, 2, 3))
        prior = np.minimum(1.0, p.trust_initial + p.trust_government_bonus * np.array([[1.0, 0.0], [0.0, 0.0]]))
        return cls(holders, pop.public, partners * demand, demand.copy(), np.ones((2, 2)), tiers.copy(),
                   np.full((2, 2), float(p.restricted_share > p.restricted_tolerance)), np.ones((2, 2)), 1.0,
                   np.array([p.quality_government, p.quality_enterprise]), np.full(2, p.technology_initial),
                   np.full(2, p.security_initial),
                   np.array([p.cognition_government, p.cognition_enterprise, p.cognition_public]), prior,
                   p.privacy_concern)


def measure_mixing(scenario: Scenario, seeds=None) -> Mixing:
    """The :class:`Mixing` of the scenario's own networks and initial state, averaged over ``seeds``
    (default: the scenario's seed): each built by ``DataSharingModel`` itself (the scenario's
    generator, the same draws as a run of that seed), every holder link weighted by its kind-level
    request rates (the ``demand`` block, grid, water and telecom overrides included)."""
    from simulation.core.model import DataSharingModel  # the model is built only to be measured

    seeds = [scenario.seed] if seeds is None else list(seeds)
    models = [DataSharingModel(scenario, seed=seed) for seed in seeds]
    parts = [_measure_one(model) for model in models]
    mean = {name: np.mean([np.asarray(part[name], dtype=float) for part in parts], axis=0) for name in parts[0]}
    pooled = _pooled([_agent_exposure(model, index) for index, model in enumerate(models)])
    return Mixing(holders=mean["holders"], public=int(round(float(mean["public"]))), agents=pooled,
                  **{k: (float(v) if np.ndim(v) == 0 else v) for k, v in mean.items() if k not in ("holders", "public")})


def _pooled(parts: list[AgentExposure]) -> AgentExposure:
    offsets = np.cumsum([0] + [len(part.role) for part in parts[:-1]])
    joined = {name: np.concatenate([getattr(part, name) for part in parts]) for name in AgentExposure.__dataclass_fields__}
    joined["slot_agent"] = np.concatenate([part.slot_agent + offset for part, offset in zip(parts, offsets)])
    return AgentExposure(**joined)


def _agent_exposure(model, index: int = 0) -> AgentExposure:
    h, links = model.layout.holders, model.links
    role = model.role[:h].astype(np.int64)
    req, prov = np.concatenate([links.u, links.v]), np.concatenate([links.v, links.u])
    rate = model.demand[model.kind_code[req], model.kind_code[prov]]
    used = rate > 0
    req, prov, rate = req[used], prov[used], rate[used]
    pair = 2 * role[req] + role[prov]
    reach = (model._public_ties.present[Role.GOVERNMENT][h:] > 0).astype(float)
    return AgentExposure(role, np.full(h, index), reach, np.concatenate([prov, req]),
                         np.concatenate([np.ones(len(req), bool), np.zeros(len(req), bool)]),
                         np.tile(pair, 2), np.tile(rate, 2), np.tile(model.volume[prov], 2), np.tile(model.quality[prov], 2))


def _measure_one(model) -> dict:
    lay, links, h = model.layout, model.links, model.layout.holders
    role = model.role[:h].astype(int)
    u, v = links.u, links.v
    # Every holder link in both directions: requester, provider, monthly rate of that direction.
    req, prov = np.concatenate([u, v]), np.concatenate([v, u])
    rate = model.demand[model.kind_code[req], model.kind_code[prov]]
    ra, rb = role[req], role[prov]
    public_ties = model._public_ties
    has_public = public_ties.present[Role.PUBLIC][:h] > 0
    holders = np.bincount(role, minlength=2).astype(float)

    def by_pair(values):
        """Request-weighted mean of ``values`` per (requester role, provider role)."""
        total = np.zeros((2, 2))
        np.add.at(total, (ra, rb), rate * values)
        return np.divide(total, requests, out=np.zeros((2, 2)), where=requests > 0)

    requests = np.zeros((2, 2))
    np.add.at(requests, (ra, rb), rate)
    links_between = np.zeros((2, 2))
    np.add.at(links_between, (ra, rb), 1.0)  # each link counted once per direction
    asked = np.bincount(prov, rate, h)  # requests each holder receives in a month

    def by_provider_role(values):
        total = np.bincount(role, asked * values, 2)
        weight = np.bincount(role, asked, 2)
        return np.divide(total, weight, out=np.zeros(2), where=weight > 0)

    trust_sum = np.zeros((2, 2))
    np.add.at(trust_sum, (ra, rb), np.concatenate([links.trust, links.trust]))
    p = model.params
    public_rows = slice(h, lay.total)
    return {
        "holders": holders, "public": lay.public,
        "rate": requests / holders[:, None],
        "link_rate": np.divide(requests, links_between, out=np.zeros((2, 2)), where=links_between > 0),
        "size": by_pair(model.volume[prov]),
        "tiers": np.stack([by_pair(model.open[prov]), by_pair(model.conditional[prov]), by_pair(model.restricted[prov])], axis=-1),
        "over_tolerance": by_pair((model.restricted[prov] > p.restricted_tolerance).astype(float)),
        "watched_reach": by_pair(has_public[prov].astype(float)),
        "served_reach": float(np.mean(public_ties.present[Role.GOVERNMENT][public_rows] > 0)),
        "quality": by_provider_role(model.quality), "technology": by_provider_role(model.technology),
        "security": by_provider_role(model.security),
        "cognition": np.array([model.cognition[model.role == r].mean() for r in Role]),
        "trust": np.divide(trust_sum, links_between, out=np.zeros((2, 2)), where=links_between > 0),
        "privacy_concern": float(model.privacy_concern.mean()),
    }


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
    roles: tuple[str, str, str] = ("government", "enterprise", "public")
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
        for role in ("government", "enterprise"):
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
        path, asks, gives = rows[:, 0], _STANCES[rows[:, 1]], _STANCES[rows[:, 2]]
        n = len(rows)
        exposure = np.array([0.0, p.tiered_exposure, p.tiered_exposure] + [conditional + restricted] * 3)[path]
        reach = mix.watched_reach[requester, provider]
        return incentives.Requests(
            size=np.full(n, p.request_share * mix.size[requester, provider]),
            quality=np.full(n, c[f"quality_{provider.key}"] if quality is None else quality), technology=np.full(n, c[f"technology_{provider.key}"]),
            security=np.full(n, c[f"security_{provider.key}"]), trust=self.trust(requester, provider)[trust_rows[:, 1], trust_rows[:, 2]],
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
        w = (self.path_chance(requester, provider)[:, None, None] * stance(requester, requester_stance)[..., None, :, None]
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
    gain, decay, learn, standard = p.technology_quality_gain * technology, p.quality_decay, p.remediation_learning, p.quality_standard
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


def complete_graph_game(scenario: Scenario, long_run: bool = False, extra: tuple[Countermeasure, ...] = ()) -> MeanFieldGame:
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
        return cls(mixing.cognition.copy(), mixing.technology.copy(), mixing.security.copy(), mixing.quality.copy(), trust, 0.0)

    def capabilities(self) -> dict[str, float]:
        state = {f"cognition_{r.key}": float(self.cognition[r]) for r in Role}
        for r in HOLDER_ROLES:
            state |= {f"technology_{r.key}": float(self.technology[r]), f"security_{r.key}": float(self.security[r]),
                      f"quality_{r.key}": float(self.quality[r])}
        return state


@dataclass(frozen=True)
class MeanFieldPath:
    """The mean field's month-by-month role shares (``shares[t]`` after t months, t = 0 .. steps)."""

    shares: np.ndarray  # (steps + 1, 3)

    @property
    def end(self) -> np.ndarray:
        return self.shares[-1]


def representative_agents(mixing: Mixing) -> AgentExposure:
    """One holder per role at the mixing's means (its expected requests split into slots of rate at
    most 1), and one member of the public who sees a department."""
    holders = mixing.holders
    received = mixing.rate.T * holders[None, :] / np.maximum(holders[:, None], 1)
    agent, provides, pair, rate, size = [], [], [], [], []
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        for who, total, provides_here in ((a, mixing.rate[a, b], False), (b, received[b, a], True)):
            count = int(np.ceil(total))
            agent += [who] * count
            provides += [provides_here] * count
            pair += [2 * a + b] * count
            rate += [total / count] * count
            size += [mixing.size[a, b]] * count
    return AgentExposure(np.array([0, 1]), np.zeros(2, int), np.ones(1), np.array(agent, dtype=np.int64),
                         np.array(provides, dtype=bool), np.array(pair, dtype=np.int64), np.array(rate), np.array(size),
                         mixing.quality[np.array(pair, dtype=np.int64) % 2])


def mean_field_path(scenario: Scenario, mixing: Mixing, steps: int | None = None, start=None,
                    extra: tuple[Countermeasure, ...] = ()) -> MeanFieldPath:
    """The model's month, in expectation (docs/game.md), from the scenario's initial shares (or
    ``start``) for ``steps`` months (the scenario's horizon): levers and capability growth of month t
    from the countermeasure package; every holder of ``mixing.agents`` (or one representative per
    role) takes up or gives up sharing with the chances of :func:`realised_gaps`, the public by its
    Δ with and without a department among its neighbours (:func:`learning_step`); then trust per
    pair of roles and pair of stances, remediation and the incident memory move by the model's own
    update functions at the month's expected counts."""
    from simulation.core.model import grown_capabilities, updated_trust

    p, package = scenario.parameters, Package.of(scenario, extra)
    steps = scenario.steps if steps is None else steps
    agents = mixing.agents if mixing.agents is not None else representative_agents(mixing)
    start = np.asarray(scenario_start(scenario) if start is None else start, dtype=float)
    holder_x = start[agents.role].copy()
    reach = np.array([mixing.served_reach, 1.0 - mixing.served_reach])
    public_x = np.full(2, start[Role.PUBLIC])
    state = MeanFieldState.initial(scenario, mixing)
    rng = np.random.default_rng(0)  # for the random months of :func:`realised_gaps`
    spread = np.ones(2)

    def role_shares():
        means = [holder_x[agents.role == r].mean() if np.any(agents.role == r) else start[r] for r in HOLDER_ROLES]
        return np.array(means + [float(reach @ public_x)])

    path = [role_shares()]
    for t in range(steps):
        cognition, technology, security, quality = grown_capabilities(
            p, package.capability_rates_at(t), np.array([False, False, True]), state.cognition,
            state.technology, state.security, state.quality)
        # A holder's offset from its role's mean quality shrinks as every holder's quality ages and
        # gains from technology toward one fixed point (the step's linear part, 1 − g·τ − δ).
        spread = spread * (1.0 - p.technology_quality_gain * technology - p.quality_decay)
        state = MeanFieldState(cognition, technology, security, quality, state.trust, state.incident_memory)
        game = MeanFieldGame(scenario, t, extra=extra, mixing=mixing, state=state)
        shares = path[-1]
        month = _month(game, shares)
        up, down = realised_gaps(p, game, agents, shares, holder_x, rng, spread)
        public_gap = _public_gaps(game, shares, month["incidents"])
        holder_x, public_x = learning_step(p, game, agents.role, holder_x, up, down, public_x, public_gap, shares)
        quality = state.quality + month["remediated"] * p.remediation_learning * np.maximum(0.0, p.quality_standard - state.quality)
        trust = updated_trust(p, game.levers, state.trust, month["answered"], month["refused"], month["hit"],
                              month["vouched"], _prior(p)[:, :, None, None])
        memory = (1 - p.incident_memory) * state.incident_memory + p.incident_memory * month["incidents"]
        state = MeanFieldState(state.cognition, state.technology, state.security, quality, trust, memory)
        path.append(role_shares())
    return MeanFieldPath(np.array(path))


QUALITY_LEVELS = 9


def realised_gaps(p, game: MeanFieldGame, agents: AgentExposure, shares: np.ndarray, holder_x: np.ndarray,
                  rng: np.random.Generator, quality_spread=(1.0, 1.0), draws: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Per holder, the expected chance that its learning takes strategy 1 up and gives it up in a
    month, over ``draws`` random months of its own requests: every slot carries a request with its
    rate, routed by a row of the request table drawn with the row's chance at the role shares (the
    partner's stance included), and the holder's gap is the sum of its rule's (share − hoard) over its
    requests, per data unit at stake with ``role_max`` (0 without a request).  The normaliser is, as
    in the model, the largest |gap| in its role in that month within its own network (``role_max``)
    or ``imitation_scale`` (``fixed``); chances are clipped to [0, 1] month by month as the model
    clips them.  With ``logit`` the first is the mean chance of choosing 1 and the second unused."""
    n = len(agents.role)
    gaps = {own: np.zeros((draws, n)) for own in (0, 1)}  # as a sharer (0) and as a hoarder (1) weighs them
    stakes = np.zeros((draws, n))
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        pair = 2 * a + b
        in_pair = agents.slot_pair == pair
        if not np.any(in_pair):
            continue
        # Each slot's provider at its own quality (its initial offset from the role's mean, shrinking
        # as technology and ageing pull every holder's quality to one fixed point), on a grid of levels.
        quality = np.clip(game.capabilities[f"quality_{Role(b).key}"] + quality_spread[b]
                          * (agents.slot_quality[in_pair] - game.mixing.quality[b]), 0.0, 1.0)
        levels = np.linspace(quality.min(), quality.max(), QUALITY_LEVELS) if np.ptp(quality) > 0 else quality[:1]
        level = np.rint((quality - levels[0]) / max(np.ptp(quality), 1e-300) * (len(levels) - 1)).astype(np.int64)
        rows = {own: [game.row_gaps(a, b, shares, float(q), own) for q in levels] for own in (0, 1)}
        for provides, column in ((True, 0), (False, 2)):
            cumulative = np.cumsum(rows[0][0][column + 1])
            mine = (agents.slot_provides[in_pair] == provides)
            slots = np.flatnonzero(in_pair)[mine]
            if len(slots) == 0 or cumulative[-1] <= 0:
                continue
            happens = rng.random((draws, len(slots))) < agents.slot_rate[slots]
            row = np.minimum(np.searchsorted(cumulative / cumulative[-1], rng.random((draws, len(slots))), side="right"),
                             len(cumulative) - 1)
            units = p.request_share * agents.slot_size[slots] * happens
            where = (agents.slot_agent[slots] + n * np.arange(draws)[:, None]).ravel()
            for own in (0, 1):
                row_gap = np.array([r[column] for r in rows[own]])  # (levels, rows)
                gaps[own] += np.bincount(where, (row_gap[level[mine][None, :], row] * units).ravel(), draws * n).reshape(draws, n)
            stakes += np.bincount(where, units.ravel(), draws * n).reshape(draws, n)
    per_unit = p.imitation_normaliser == "role_max" or p.learning_rule == "logit"
    if per_unit:
        gaps = {own: np.divide(g, stakes, out=np.zeros_like(g), where=stakes > 0) for own, g in gaps.items()}
    # Which gap each agent has: a sharer's or a hoarder's, with its chance of sharing.
    gap = holder_x * gaps[0] + (1.0 - holder_x) * gaps[1]
    per_unit = p.imitation_normaliser == "role_max" or p.learning_rule == "logit"
    statistic = np.mean if p.learning_rule == "logit" else np.max
    scale = np.full((draws, n), p.imitation_scale)
    if per_unit:
        for group in np.unique(agents.network * 2 + agents.role):
            rows = (agents.network * 2 + agents.role) == group
            value = statistic(np.abs(gap[:, rows]), axis=1)
            scale[:, rows] = np.where(value > 0, value, 1.0)[:, None]
    if p.learning_rule == "logit":
        chance = 1.0 / (1.0 + np.exp(-np.clip(gap / (p.logit_temperature * scale), -500, 500)))
        return chance.mean(axis=0), np.zeros(n)
    return np.clip(gaps[1] / scale, 0.0, 1.0).mean(axis=0), np.clip(-gaps[0] / scale, 0.0, 1.0).mean(axis=0)


def _public_gaps(game: MeanFieldGame, shares: np.ndarray, incidents: float) -> np.ndarray:
    """The public's Δ for a member with a department among its neighbours and for one without."""
    p, lv, c, mix = game.scenario.parameters, game.levers, game.capabilities, game.mixing
    seen = game.served(shares[None, :])[0] / mix.served_reach if mix.served_reach > 0 else 0.0
    return np.array([np.subtract(*public.payoffs(p, lv, served, mix.privacy_concern, incidents, c["cognition_public"]))
                     for served in (seen, 0.0)])


def learning_step(p, game: MeanFieldGame, role: np.ndarray, holder_x: np.ndarray, up: np.ndarray, down: np.ndarray,
                  public_x: np.ndarray, public_gap: np.ndarray, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One month of the model's learning (``DataSharingModel._learn``) in expectation, per agent: a
    share ``revision_rate`` revises; a revising agent explores with chance ``exploration`` (a
    strategy at random), otherwise it imitates a partner of its role, who plays strategy 1 with the
    role's share, and takes up the partner's strategy with the chance :func:`realised_gaps` gives
    (``up`` toward 1, ``down`` toward 0); with logit choice it plays 1 with chance ``up``.  The
    public's gap has no request noise: its normaliser is the larger |Δ| of its two classes."""
    def step(x, partner, up, down):
        if p.learning_rule == "logit":
            drift = up - x
        else:
            drift = (1.0 - x) * partner * up - x * (1.0 - partner) * down
        return np.clip(x + p.revision_rate * ((1.0 - p.exploration) * drift + p.exploration * (0.5 - x)), 0.0, 1.0)

    new_holders = holder_x.copy()
    for r in HOLDER_ROLES:
        rows = role == r
        new_holders[rows] = step(holder_x[rows], shares[r], up[rows], down[rows])
    reach = np.array([game.mixing.served_reach, 1.0 - game.mixing.served_reach])
    if p.learning_rule == "logit":
        mean_gap = float(np.sum(reach * np.abs(public_gap)))
        chance = 1.0 / (1.0 + np.exp(-np.clip(public_gap / (p.logit_temperature * (mean_gap or 1.0)), -500, 500)))
        return new_holders, step(public_x, shares[Role.PUBLIC], chance, None)
    scale = p.imitation_scale if p.imitation_normaliser == "fixed" else _largest(np.abs(public_gap[reach > 0]))
    ratio = public_gap / scale
    return new_holders, step(public_x, shares[Role.PUBLIC], np.clip(ratio, 0.0, 1.0), np.clip(-ratio, 0.0, 1.0))


def _largest(values: np.ndarray) -> float:
    value = float(np.max(values)) if len(values) else 0.0
    return value if value > 0 else 1.0


def _prior(p) -> np.ndarray:
    return np.minimum(1.0, p.trust_initial + p.trust_government_bonus * np.array([[1.0, 0.0], [0.0, 0.0]]))


def _month(game: MeanFieldGame, shares: np.ndarray) -> dict:
    """Expected counts of one month at ``shares``: per link of each role pair and pair of stances,
    requests answered in time, refused without arbitration, arbitrated, and the chance of an
    incident at either end; per holder role, the chance it remediated data it provided; the incidents
    per holder (what the model's ``_settle`` and ``_update_trust`` count)."""
    p, lv, mix = game.scenario.parameters, game.levers, game.mixing
    answered, refused, vouched = np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2))
    leaks, provided = np.zeros(2), np.zeros(2)
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        req = game.requests(a, b, shares[Role.PUBLIC])
        decided = ~req.not_shareable & ~(req.automatic & (req.provider_shares > 0))
        grant = incentives.discretionary_grant(p, req, req.provider_shares, req.requester_shares)
        granted = np.where(req.not_shareable, 0.0, np.where(decided, grant, 1.0))
        forced = incentives.forced_grant_probability(lv, req)
        timely = granted * (req.provider_shares > 0)
        refusal = decided * (1.0 - grant)
        chance = game.path_chance(a, b)
        per_stance = lambda values: (chance[:, None, None] * values.reshape(len(PATHS), 2, 2)).sum(axis=0)
        rate = mix.link_rate[a, b]
        # Requests a→b sit on the a–b link seen from a ([a, b, sa, sb]) and from b ([b, a, sb, sa]).
        for target, values in ((answered, timely), (refused, refusal * (1.0 - forced)), (vouched, refusal * forced)):
            target[a, b] += rate * per_stance(values)
            target[b, a] += rate * per_stance(values).T
        done = granted + refusal * forced
        weights = game.weights(a, b, shares)
        n_requests = mix.holders[a] * mix.rate[a, b]
        leaks[b] += n_requests * np.sum(weights * done * incentives.incident_probability(p, req.security, req.exposure))
        provided[b] += n_requests * np.sum(weights * done * (incentives.remediation_unit_cost(p, req.quality, req.technology) > 0))
    per_holder = leaks / np.maximum(mix.holders, 1)
    incident = 1.0 - np.exp(-per_holder)  # chance a holder of each role has at least one incident
    hit = 1.0 - (1.0 - incident)[:, None] * (1.0 - incident)[None, :]
    return {"answered": answered, "refused": refused, "vouched": np.minimum(vouched, 1.0),
            "hit": hit[:, :, None, None] * np.ones((2, 2, 2, 2)),
            "remediated": 1.0 - np.exp(-provided / np.maximum(mix.holders, 1)),
            "incidents": float(leaks.sum() / mix.holders.sum())}


def scenario_start(scenario: Scenario) -> tuple[float, float, float]:
    p = scenario.parameters
    return (p.initial_active_government, p.initial_share_enterprise, p.initial_participation)
