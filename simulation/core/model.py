"""The government-enterprise-public data-sharing model (docs/ODD.md sections 2 and 3).

State lives in NumPy arrays owned by the model: per agent (role, strategy, cognition, payoff),
per holder (volume, quality, technology, security, tier mix, isolation spell, last month its data
reached another holder), per public agent (privacy concern) and per holder link
(:class:`~simulation.core.links.Links`).  The Mesa agents in ``agents/`` are views over those
arrays, and each role's decision rule is in its module there.  Node ``i`` of the graph is row ``i``
of every agent array; holders (departments, then enterprises) come first, so holder arrays share
the index.  Countermeasures act only through the :class:`~simulation.core.countermeasures.Package`
the model is given.  Data moves only by requests (``simulation/core/requests.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import mesa
import networkx as nx
import numpy as np
from scipy import sparse

from agents import AGENT_CLASSES, Role, enterprise, government, public
from agents import incentives
from agents.dynamics import grown_capabilities, updated_trust
from agents.state import Holders, Population, Public, StateArrays
from simulation.config import Scenario
from simulation.core import capacity, requests
from simulation.core.authority import Authority
from simulation.core.countermeasures import Brokering, Countermeasure, Package
from simulation.core.links import Flows, Links, PublicTies
from simulation.core.metrics import measure, recent_links
from simulation.core.month import Deliveries, Ledger, LinkChanges, Month, Settlement, Welfare
from simulation.core.network import Layout, build_network, layout_of, read_network_file, sorted_unique

GOV, ENT, PUB = Role.GOVERNMENT, Role.ENTERPRISE, Role.PUBLIC


class DataSharingModel(mesa.Model):
    """Departments, enterprises and the public, with data moving by requests over a network.

    State (docs/ODD.md section 2) is declared in ``agents/state.py`` and ``simulation/core/links.py``:
    ``population`` (per agent), ``holders`` (per holder), ``public`` (per member of the public) and
    ``links`` (per holder link); ``public_ties`` are the fixed links with the public.  A step runs
    :data:`PHASES` in order; ``month`` holds the last step's results.

    Args:
        config: a validated :class:`~simulation.config.Scenario`.
        seed: fixes every random draw, the network included.
        countermeasures: extra countermeasures beside the scenario's four (objects of a
            :class:`~simulation.core.countermeasures.Countermeasure` subclass).
    """

    def __init__(self, config: Scenario | None = None, seed: int | None = None,
                 countermeasures: Iterable[Countermeasure] = ()) -> None:
        config = config or Scenario()
        super().__init__(rng=config.seed if seed is None else int(seed))
        self.config = config
        self.params = config.parameters
        self.package = Package.of(config, countermeasures)
        self.demand = requests.demand_matrix(config)
        self._build_network()
        self._init_state()
        self._create_agents()
        self.metrics: dict[str, float] = {}
        lay = self.layout
        self.month = Month(step=0, levers=self.package.levers_at(0), links=LinkChanges(),
                           flows=Flows.none(len(self.links), lay.holders),
                           settlement=Settlement.empty(lay.holders, lay.public))
        self._measure(self.month)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, key=name: m.metrics[key]) for name in self.metrics}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ construction
    def _build_network(self) -> None:
        net = self.config.network
        if net.kind == "file":
            self.network = read_network_file(net.path)
        else:
            layout = layout_of(self.config.population)
            capacity.check_run_fits(layout, net, self.config.steps, f"scenario {self.config.name!r}")
            self.network = build_network(layout, net, self.rng)
        lay: Layout = self.network.layout
        self.layout = lay
        self.kinds = lay.kinds()
        edges = np.sort(self.network.edges, axis=1)
        is_holder_link = edges[:, 1] < lay.holders
        self._holder_edges = edges[is_holder_link, 0].copy(), edges[is_holder_link, 1].copy()
        self.public_ties = self._prepare_public_ties(edges[~is_holder_link, 0].copy(), edges[~is_holder_link, 1].copy())

    def _role_bounds(self) -> tuple[tuple[int, int], ...]:
        lay = self.layout
        return (0, lay.government), (lay.government, lay.holders), (lay.holders, lay.total)

    def role_rows(self) -> tuple[slice, slice, slice]:
        """The rows of each role in every agent array, in :class:`Role` order."""
        return tuple(slice(start, stop) for start, stop in self._role_bounds())

    def _prepare_public_ties(self, u: np.ndarray, v: np.ndarray) -> PublicTies:
        n = self.layout.total
        adjacency = sparse.csr_matrix((np.ones(2 * len(u)), (np.concatenate([u, v]), np.concatenate([v, u]))),
                                      shape=(n, n))
        blocks = tuple(adjacency[:, start:stop].tocsr() for start, stop in self._role_bounds())
        present = tuple(np.asarray(block.sum(axis=1)).ravel() for block in blocks)
        both_public = u >= self.layout.holders
        return PublicTies(u, v, blocks, present, u[both_public], v[both_public])

    def _init_state(self) -> None:
        p, lay, rng = self.params, self.layout, self.rng
        n, h = lay.total, lay.holders
        kinds = np.array(self.kinds[:h])
        role = np.repeat(np.array([GOV, ENT, PUB], dtype=np.int8), [lay.government, lay.enterprise, lay.public])
        volume = np.exp(rng.normal(0.0, p.volume_dispersion, h))
        volume[lay.grid] = p.grid_volume_factor
        base_quality = np.where(role[:h] == GOV, p.quality_government, p.quality_enterprise)
        quality = _clip01(base_quality + rng.normal(0, p.quality_noise, h))
        water = kinds == "water"
        quality[water] = rng.uniform(p.water_quality_min, p.water_quality_max, water.sum())
        technology = _clip01(p.technology_initial + rng.normal(0, p.capability_noise, h))
        security = _clip01(p.security_initial + rng.normal(0, p.capability_noise, h))
        department = role[:h] == GOV
        restricted_mean = np.where(department, p.catalogue_not_shareable, p.restricted_share)
        restricted = _clip01(restricted_mean + rng.normal(0, p.restricted_noise, h))
        restricted[kinds == "telecom"] = p.telecom_restricted_share
        open_mean = np.where(department, p.catalogue_unconditional, p.open_share)
        open_share = np.minimum(_clip01(open_mean + rng.normal(0, p.open_noise, h)), 1 - restricted)
        cognition_mean = np.array([p.cognition_government, p.cognition_enterprise, p.cognition_public])[role]
        cognition = _clip01(cognition_mean + rng.normal(0, p.cognition_noise, n))
        self.public = Public(first=h,
                             privacy_concern=_clip01(p.privacy_concern + rng.normal(0, p.privacy_noise, lay.public)))
        initial = np.array([p.initial_active_government, p.initial_share_enterprise, p.initial_participation])[role]
        if lay.enterprise:
            initial[lay.grid] = p.initial_share_grid
        self.population = Population(role=role, strategy=rng.random(n) < initial, cognition=cognition,
                                     payoff=np.zeros(n))
        self.holders = Holders(
            kind_code=[requests.KINDS.index(k) for k in kinds], volume=volume, quality=quality, technology=technology,
            security=security, open=open_share, conditional=1.0 - open_share - restricted, restricted=restricted,
            isolation_spell=np.zeros(h), last_provided=np.full(h, -(10**9)))
        u, v = self._holder_edges
        trust = _clip01(self.trust_prior(u, v) + rng.uniform(-p.trust_spread, p.trust_spread, len(u)))
        self.links = Links.new(u, v, trust, step=0)
        self.recent_incident_rate = 0.0
        self.authority = Authority()
        self.role_value = np.array([p.value_government, p.value_enterprise, 0.0])[role]

    def arrays_of(self, struct: type[StateArrays]) -> StateArrays:
        """This model's instance of a state struct (how the agent views find their arrays)."""
        return {Population: self.population, Holders: self.holders, Public: self.public, Links: self.links}[struct]

    def holder_mean_trust(self) -> np.ndarray:
        """Mean trust on each holder's links (the prior where it has none)."""
        h, links = self.layout.holders, self.links
        total = np.bincount(links.u, links.trust, h) + np.bincount(links.v, links.trust, h)
        count = np.bincount(links.u, minlength=h) + np.bincount(links.v, minlength=h)
        return np.where(count > 0, total / np.maximum(count, 1), self.params.trust_initial)

    def trust_prior(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The trust a link returns to when nothing happens on it: departments of one government trust more."""
        p, role = self.params, self.population.role
        return np.minimum(1.0, p.trust_initial + p.trust_government_bonus * ((role[u] == GOV) & (role[v] == GOV)))

    @property
    def graph(self) -> nx.Graph:
        """The initial network as a labelled networkx graph (built on first use)."""
        return self.network.graph

    def _create_agents(self) -> None:
        for index, role in enumerate(self.population.role.tolist()):
            AGENT_CLASSES[role](self, index)

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        month = Month(step=self.steps)
        for phase in PHASES:
            month = self.run_phase(phase, month)
        self.month = month
        self.datacollector.collect(self)

    def run_phase(self, phase: Phase, month: Month) -> Month:
        """One phase of the step (the benchmark times each by wrapping this method)."""
        return phase.run(self, month)

    @property
    def levers(self) -> incentives.Levers:
        """The policy levels the countermeasures in force set this month."""
        return self.month.levers

    @property
    def flows(self) -> Flows:
        """This month's data per holder link, both directions."""
        return self.month.flows

    def _apply_countermeasures(self, month: Month) -> Month:
        """The package's levers for the month, and a month of training, publicity and investment."""
        t, population, holders = month.step, self.population, self.holders
        population.cognition, holders.technology, holders.security, holders.quality = grown_capabilities(
            self.params, self.package.capability_rates_at(t), population.role == PUB, population.cognition,
            holders.technology, holders.security, holders.quality)
        return replace(month, levers=self.package.levers_at(t))

    def _update_links(self, month: Month) -> Month:
        """Idle links may decay; coordinators broker new ones."""
        p, links, t = self.params, self.links, month.step
        idle = (t - links.last_active) >= p.decay_after
        decays = idle & (self.rng.random(len(links)) < p.decay_probability)
        if decays.any():
            links.keep(~decays)
            self.authority.relink(~decays)
        brokered, cost = 0, 0.0
        for brokering in self.package.brokering_at(t):
            new = self._broker_links(t, brokering)
            brokered, cost = brokered + new, cost + brokering.cost_per_link * new
        return replace(month, links=LinkChanges(brokered, cost))

    def _broker_links(self, t: int, brokering: Brokering) -> int:
        """Department-enterprise links, favouring isolated enterprises; returns how many are new."""
        lay, links = self.layout, self.links
        expected = brokering.links_per_holder * lay.holders
        count = self.rng.poisson(expected) if expected > 0 else 0
        if count == 0 or lay.enterprise == 0:
            return 0
        weight = 1.0 + self.holders.isolation_spell[lay.government:].astype(float)
        ent = lay.government + self.rng.choice(lay.enterprise, size=count, p=weight / weight.sum())
        gov = self.rng.integers(0, lay.government, size=count)
        # Pairs as integer keys, compared only with the links of the drawn enterprises: a set of
        # Python tuples, or a search over every link, would dominate the step at a million links.
        h = lay.holders
        pairs = sorted_unique(gov * h + ent)
        drawn = np.zeros(h, dtype=bool)
        drawn[pairs % h] = True
        nearby = drawn[links.v]
        existing = np.sort(links.u[nearby] * h + links.v[nearby])
        new = pairs[~_in_sorted(pairs, existing)]
        if len(new):
            links.add(new // h, new % h, np.full(len(new), brokering.trust), t)
        return len(new)

    def public_share_around(self) -> np.ndarray:
        """Per holder, the share of its public neighbours who participate."""
        ties, h = self.public_ties, self.layout.holders
        participating = self.population.strategy[h:].astype(float)
        return _share_of((ties.blocks[PUB] @ participating)[:h], ties.present[PUB][:h])

    def _request_data(self, month: Month) -> Month:
        """This month's requests (docs/ODD.md section 3, step 4): drawn as demand allows, routed by
        channel and tier, decided, and the refusals worth a case taken to the authority."""
        p, lv, links, population = self.params, month.levers, self.links, self.population
        watched = self.public_share_around()
        pull = requests.public_pull(p, watched, population.role[:self.layout.holders] == GOV)
        demand = requests.draw_requests(self.rng, p, self.demand, self.holders.kind_code, links, pull)
        agents = requests.Agents(population.strategy, population.cognition, self.role_value, watched)
        routed = requests.route(self.rng, p, lv, self.holders, agents, links, demand, self.authority.service,
                                self.layout.government)
        batch = requests.decide(self.rng, p, lv, routed)
        self.authority.take_up(batch, month.step)
        return replace(month, requests=batch, discouraged=demand.discouraged)

    def _rule(self, month: Month) -> Month:
        """The authority decides the cases its capacity allows, oldest first (docs/ODD.md step 4d)."""
        rulings = self.authority.rule(self.rng, self.params, month.levers, self.layout.holders, month.step)
        deliveries = Deliveries.of(month.requests, rulings, self.links.trust)
        return replace(month, rulings=rulings, deliveries=deliveries)

    def _settle(self, month: Month) -> Month:
        """Flows, prices, rewards, fines, costs, remediation and incidents of the month's deliveries."""
        flows = self._flows(month.deliveries, month.step)
        return replace(month, flows=flows, settlement=self._settlement(month))

    def _flows(self, delivered: Deliveries, t: int) -> Flows:
        """Data units moved over each link and by each holder; marks links and providers as active."""
        h, links = self.layout.holders, self.links
        units = delivered.size
        forward = np.bincount(delivered.link, units * delivered.provider_is_u, len(links))
        backward = np.bincount(delivered.link, units * ~delivered.provider_is_u, len(links))
        links.flowed(forward > 0, backward > 0, t)
        self.holders.last_provided[delivered.provider] = t
        return Flows(forward, backward, np.bincount(delivered.provider, units, h),
                     np.bincount(delivered.requester, units, h))

    def _settlement(self, month: Month) -> Settlement:
        p, lv, lay, batch, d = self.params, month.levers, self.layout, month.requests, month.deliveries
        h = lay.holders
        price = incentives.unit_price(lv, d.quality) * d.size
        bonus = self._by_holder_role(batch.provider, government.bonus_per_unit(lv), enterprise.bonus_per_unit(lv))
        caught = batch.escalated | (self.rng.random(len(batch)) < incentives.detection(p, batch.view))
        lawful = batch.view.restricted > 0  # a refusal of data the law forbids to share is never fined
        fine = lv.evaluation_penalty * batch.view.size * (batch.refused & caught & ~lawful)
        participants = self.population.strategy[h:] > 0
        ledger = Ledger(
            price_paid=np.bincount(d.requester, price, h), price_received=np.bincount(d.provider, price, h),
            rewards=np.bincount(batch.provider, bonus * batch.view.size * batch.timely, h),
            fines=np.bincount(batch.provider, fine, h),
            public_rewards=lv.public_reward * participants,
            budgets=self.package.budget_at(month.step, h, lay.public),
            brokering=month.links.brokering_cost, cases=month.rulings.cost)
        remediation = incentives.remediation_unit_cost(p, d.quality, d.technology) * d.size
        holders = self.holders
        remediated = np.zeros(h, dtype=bool)
        remediated[d.provider[remediation > 0]] = True
        holders.quality += remediated * p.remediation_learning * np.maximum(0.0, p.quality_standard - holders.quality)
        leaked = self.rng.random(len(d)) < incentives.incident_probability(p, d.security, d.exposure)
        loss = p.incident_loss * d.size * leaked
        incidents = int(leaked.sum())
        self.recent_incident_rate = ((1 - p.incident_memory) * self.recent_incident_rate
                                     + p.incident_memory * incidents / h)
        return Settlement(
            ledger, remediation, loss, incident_holders=np.bincount(d.provider[leaked], minlength=h) > 0, caught=caught,
            remediation_cost=float(remediation.sum()), handling_cost=float((p.handling_cost * d.size).sum()),
            negotiation_cost=float((incentives.negotiation_unit_cost(p, lv) * d.size).sum()),
            incidents=incidents, incident_loss=float(loss.sum()))

    def _welfare(self, month: Month) -> Month:
        """Each agent's payoff this month, every benefit fully perceived."""
        p, lv, batch, settled, d = self.params, month.levers, month.requests, month.settlement, month.deliveries
        h, req, ledger = self.layout.holders, batch.view, settled.ledger
        value = self.role_value[d.requester] * d.quality * d.size
        own = self.role_value[d.provider] * d.quality * d.size / p.value_asymmetry
        cost = ((p.handling_cost + incentives.negotiation_unit_cost(p, lv) + incentives.risk_premium(p, lv, d.trust))
                * d.size + settled.remediation + settled.loss)
        is_department = (self.population.role[batch.provider] == GOV).astype(float)
        blame = (self._by_holder_role(batch.provider, government.shame_per_unit(p), enterprise.shame_per_unit(p))
                 * req.watched + incentives.obligation_per_unit(p, req, is_department)) * req.size * batch.refused
        holders = (np.bincount(d.requester, value, h) + np.bincount(d.provider, own - cost, h)
                   - np.bincount(batch.provider, blame, h) - p.escalation_effort * np.bincount(
                       batch.requester[batch.escalated], minlength=h)
                   + ledger.price_received - ledger.price_paid + ledger.rewards - ledger.fines)
        served = self._served_share(batch, d)
        participate, bystand = public.payoffs(p, lv, served, self.public.privacy_concern, self.recent_incident_rate,
                                              1.0)
        self.population.payoff = np.concatenate([holders,
                                                 np.where(self.population.strategy[h:] > 0, participate, bystand)])
        return replace(month, welfare=Welfare(served))

    def _by_holder_role(self, holders: np.ndarray, if_government: float, if_enterprise: float) -> np.ndarray:
        """Per entry of ``holders``, the department's or the enterprise's value of a role term."""
        return np.where(self.population.role[holders] == GOV, if_government, if_enterprise)

    def _served_share(self, batch: requests.RequestBatch, delivered: Deliveries) -> np.ndarray:
        """Per member of the public, the share of its neighbouring departments' requests this month
        that were fulfilled, the authority's orders included (a department that asked for nothing
        was not served)."""
        g, h = self.layout.government, self.layout.holders
        filed = np.bincount(batch.requester[batch.requester < g], minlength=g)
        fulfilled = np.bincount(delivered.requester[delivered.requester < g], minlength=g)
        served = np.minimum(1.0, _share_of(fulfilled.astype(float), filed.astype(float)))
        return _share_of((self.public_ties.blocks[GOV] @ served)[h:], self.public_ties.present[GOV][h:])

    def _update_trust(self, month: Month) -> Month:
        """Answered requests build trust, refusals erode it, incidents hit it, the authority vouches
        for links it arbitrated, and every link drifts back toward its prior."""
        p, links, batch, hit_holders = self.params, self.links, month.requests, month.settlement.incident_holders
        m, d = len(links), month.deliveries
        answered = np.bincount(batch.link, batch.timely, m)
        refused = np.bincount(batch.link, batch.refused, m)
        hit = hit_holders[links.u] | hit_holders[links.v]
        vouched = np.bincount(d.link[d.forced], minlength=m) > 0
        links.trust = updated_trust(p, month.levers, links.trust, answered, refused, hit, vouched,
                                    self.trust_prior(links.u, links.v))
        return month

    def _update_expectations(self, month: Month) -> Month:
        """Requesters learn what to expect on each link: a request answered or refused this month, or
        a case the authority decided (docs/ODD.md section 3, step 6)."""
        batch, cases, rulings = month.requests, month.rulings.decided, month.rulings
        open_case = batch.escalated
        link = np.concatenate([batch.link[~open_case], cases.link])
        u_asked = np.concatenate([~batch.provider_is_u[~open_case], ~cases.provider_is_u])
        answered = np.concatenate([batch.granted[~open_case], rulings.granted]).astype(float)
        self.links.learn_outcomes(link, u_asked, answered, self.params.expectation_memory)
        return month

    # ------------------------------------------------------------------ payoffs and learning
    def strategy_payoffs(self, month: Month) -> tuple[np.ndarray, np.ndarray]:
        """Payoff every agent expects this month under strategy 1 and strategy 0, from each role's
        decision rule applied to the month's requests (as provider and as requester)."""
        p, lv, batch = self.params, month.levers, month.requests
        h, n, role = self.layout.holders, self.layout.total, self.population.role
        one, zero = np.zeros(n), np.zeros(n)
        for side, who in (("provider_payoffs", batch.provider), ("requester_payoffs", batch.requester)):
            # Both roles' rules over every request, each kept where its role is the one deciding:
            # cheaper than copying the request columns out role by role.
            is_gov = role[who] == GOV
            gov_one, gov_zero = getattr(government, side)(p, lv, batch.view)
            ent_one, ent_zero = getattr(enterprise, side)(p, lv, batch.view)
            one += np.bincount(who, np.where(is_gov, gov_one, ent_one), n)
            zero += np.bincount(who, np.where(is_gov, gov_zero, ent_zero), n)
        one[h:], zero[h:] = public.payoffs(p, lv, month.welfare.served, self.public.privacy_concern,
                                           self.recent_incident_rate, self.population.cognition[h:])
        return one, zero

    def _learn(self, month: Month) -> Month:
        p, rng, n, population = self.params, self.rng, self.layout.total, self.population
        one, zero = self.strategy_payoffs(month)
        stakes = self.data_at_stake(month)
        revising = rng.random(n) < p.revision_rate
        if p.learning_rule == "logit":
            proposal = (rng.random(n) < self.logit_chance(one - zero, stakes)).astype(np.int8)
        else:
            model_strategy = population.strategy[self.imitation_partners(revising)]
            switch = rng.random(n) < self.imitation_chance(one - zero, model_strategy, stakes)
            proposal = np.where(switch, model_strategy, population.strategy).astype(np.int8)
        explore = np.flatnonzero(rng.random(n) < p.exploration)
        proposal[explore] = rng.integers(0, 2, len(explore))
        population.strategy = np.where(revising, proposal, population.strategy)
        return month

    def data_at_stake(self, month: Month) -> np.ndarray:
        """Per agent, the data units its requests involved this month, as provider or requester (1
        for the public, who hold none): payoff gaps are compared per unit, so a holder's chance to
        switch does not depend on how much data it holds, only on how much better the other
        strategy is per unit of it."""
        h, n, batch = self.layout.holders, self.layout.total, month.requests
        units = np.bincount(batch.provider, batch.view.size, h) + np.bincount(batch.requester, batch.view.size, h)
        return np.concatenate([units, np.ones(n - h)])

    def imitation_chance(self, advantage: np.ndarray, model_strategy: np.ndarray,
                         stakes: np.ndarray | None = None) -> np.ndarray:
        """Chance each agent takes up its imitation partner's strategy, given its perceived
        ``advantage`` of strategy 1 and the data at stake: its gain per unit from the switch, over
        the role's largest gap per unit this month (``role_max``) or over ``imitation_scale``."""
        p = self.params
        gain = np.where(model_strategy == 1, advantage, -advantage) * (model_strategy != self.population.strategy)
        if p.imitation_normaliser == "fixed":
            return np.clip(gain / p.imitation_scale, 0.0, 1.0)
        stakes = np.ones(len(advantage)) if stakes is None else stakes
        per_unit, gain_per_unit = _share_of(advantage, stakes), _share_of(gain, stakes)
        return np.clip(gain_per_unit / self._role_scale(np.abs(per_unit), np.max), 0.0, 1.0)

    def logit_chance(self, advantage: np.ndarray, stakes: np.ndarray | None = None) -> np.ndarray:
        """Chance of playing strategy 1 under logit choice on the gap per unit at stake, the noise
        relative to the role's mean gap per unit."""
        stakes = np.ones(len(advantage)) if stakes is None else stakes
        per_unit = _share_of(advantage, stakes)
        scale = self.params.logit_temperature * self._role_scale(np.abs(per_unit), np.mean)
        return 1.0 / (1.0 + np.exp(-np.clip(per_unit / scale, -500, 500)))

    def _role_scale(self, gaps: np.ndarray, statistic) -> np.ndarray:
        """Per agent, ``statistic`` of the payoff gaps in its role this month (1 where all are 0), so
        a switching probability saturates only at the role's extremes, whatever the payoff scale."""
        scale = np.ones(len(gaps))
        for rows in self.role_rows():
            if rows.stop > rows.start:
                value = statistic(gaps[rows])
                scale[rows] = value if value > 0 else 1.0
        return scale

    def imitation_partners(self, revising: np.ndarray | None = None) -> np.ndarray:
        """A random same-role neighbour for every agent in ``revising`` (all if None), or a random
        same-role agent when it has none; agents not revising keep themselves."""
        n, rng = self.layout.total, self.rng
        revising = np.ones(n, dtype=bool) if revising is None else revising
        ties, links, roles = self.public_ties, self.links, self.population.role
        same = roles[links.u] == roles[links.v]
        src = np.concatenate([links.u[same], links.v[same], ties.same_role_u, ties.same_role_v])
        dst = np.concatenate([links.v[same], links.u[same], ties.same_role_v, ties.same_role_u])
        asking = revising[src]
        src, dst = src[asking], dst[asking]
        # A uniform neighbour per agent without sorting: each of its edges draws a key, the largest wins.
        key = rng.random(len(src))
        best = np.full(n, -1.0)
        np.maximum.at(best, src, key)
        won = key == best[src]
        partner = np.arange(n)
        partner[src[won]] = dst[won]
        alone = np.flatnonzero(revising & (best < 0))
        sizes = np.bincount(roles, minlength=3)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        role = roles[alone]
        partner[alone] = starts[role] + np.floor(rng.random(len(alone)) * sizes[role]).astype(np.int64)
        return partner

    # ------------------------------------------------------------------ measurement
    def _measure(self, month: Month) -> Month:
        """Isolation spells, then every metric of the month (``simulation/core/metrics.py``)."""
        recent, h = recent_links(self, month), self.layout.holders
        u, v = self.links.u[recent], self.links.v[recent]
        isolated = (np.bincount(u, minlength=h) + np.bincount(v, minlength=h)) == 0
        self.holders.isolation_spell = np.where(isolated, self.holders.isolation_spell + 1, 0)
        self.metrics = measure(self, month, self.metrics)
        return month

    def recent_flow_mask(self, two_way: bool = False) -> np.ndarray:
        """Which holder links carried a fulfilled request within the flow window (the islands graph);
        with ``two_way``, in both directions."""
        return self.links.recent(self.steps, self.params.flow_window, two_way)

    def recent_flow_links(self, two_way: bool = False) -> tuple[np.ndarray, np.ndarray]:
        recent = self.recent_flow_mask(two_way)
        return self.links.u[recent], self.links.v[recent]


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` occurs in the ascending array ``sorted_values``."""
    if len(sorted_values) == 0:
        return np.zeros(len(values), dtype=bool)
    found = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[found] == values


def _share_of(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole``, and 0 where ``whole`` is 0 (an agent with no neighbours of a role)."""
    return np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


@dataclass(frozen=True)
class Phase:
    """One phase of the month: ``run`` takes the month so far and returns it with its result added."""

    name: str
    run: Callable[[DataSharingModel, Month], Month]


# The step, in docs/ODD.md section 3 order; the benchmark times each phase by its name.
PHASES: tuple[Phase, ...] = (
    Phase("countermeasures", DataSharingModel._apply_countermeasures),  # levers, training, investment
    Phase("links", DataSharingModel._update_links),  # decay and brokering
    Phase("requests", DataSharingModel._request_data),  # drawn, routed, decided and escalated
    Phase("authority", DataSharingModel._rule),  # the queue of cases decided as capacity allows
    Phase("settlement", DataSharingModel._settle),  # flows, money, costs and incidents
    Phase("welfare", DataSharingModel._welfare),  # payoffs earned
    Phase("trust", DataSharingModel._update_trust),
    Phase("expectations", DataSharingModel._update_expectations),  # what requesters expect on each link
    Phase("learning", DataSharingModel._learn),
    Phase("metrics", DataSharingModel._measure),
)
