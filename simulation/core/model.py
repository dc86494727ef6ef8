"""The government-enterprise-public data-sharing model (docs/ODD.md sections 2 and 3).

State lives in NumPy arrays owned by the model: per agent (role, strategy, cognition, payoff),
per holder (volume, quality, technology, security, tier mix, isolation spell), per public agent
(privacy concern) and per holder link (:class:`~simulation.core.links.Links`).  The Mesa agents
in ``agents/`` are views over those arrays, and each role's decision rule is in its module there.
Node ``i`` of the graph is row ``i`` of every agent array; holders (departments, then enterprises)
come first, so holder arrays share the index.  Countermeasures act only through the
:class:`~simulation.core.countermeasures.Package` the model is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import mesa
import networkx as nx
import numpy as np
from scipy import sparse

from agents import AGENT_CLASSES, Role, enterprise, government, public
from agents import incentives
from simulation.config import Scenario
from simulation.core.countermeasures import Brokering, Countermeasure, Package
from simulation.core.links import Flows, Links
from simulation.core.metrics import METRICS, measure
from simulation.core.network import Layout, build_network, layout_of, read_network_file, sorted_unique

GOV, ENT, PUB = Role.GOVERNMENT, Role.ENTERPRISE, Role.PUBLIC
INCIDENT_MEMORY = 0.3  # weight of this step's incident rate in the public's recent-incident memory


@dataclass
class StepOutcome:
    """What one month produced, handed from phase to phase and to the metrics."""

    flows: Flows
    brokered: int = 0  # links the coordinator brokered
    incident_holders: np.ndarray | None = None  # holders that suffered an incident
    remediation_cost: float = 0.0
    incidents: int = 0
    incident_loss: float = 0.0
    countermeasure_cost: float = 0.0
    recent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # links with a flow in the window


@dataclass
class PublicTies:
    """The links with the public, which never change, prepared once.  Their adjacency is split into
    one column block per role (a role's node ids are contiguous), so one sparse product per role
    counts every agent's active neighbours of that role; ``present`` counts its neighbours over
    these links by role; the public-public pairs are the only same-role ones among them."""

    blocks: tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]
    present: tuple[np.ndarray, np.ndarray, np.ndarray]  # per role: each agent's neighbours of it over these links
    same_role_u: np.ndarray
    same_role_v: np.ndarray


class DataSharingModel(mesa.Model):
    """Departments, enterprises and the public sharing data over a network.

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
        self._build_network()
        self._init_state()
        self._create_agents()
        self.levers = self.package.levers_at(0)
        self.metrics: dict[str, float] = {}
        self._refresh_neighbourhoods()
        self.outcome = StepOutcome(Flows.none(len(self.links), self.layout.holders))
        self._measure(self.outcome)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: (lambda m, key=name: m.metrics[key]) for name in METRICS}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ construction
    def _build_network(self) -> None:
        net = self.config.network
        if net.kind == "file":
            self.network = read_network_file(net.path)
        else:
            self.network = build_network(layout_of(self.config.population), net, self.rng)
        lay: Layout = self.network.layout
        self.layout = lay
        self.kinds = lay.kinds()
        self.role = np.repeat(np.array([GOV, ENT, PUB], dtype=np.int8), [lay.government, lay.enterprise, lay.public])
        edges = np.sort(self.network.edges, axis=1)
        is_holder_link = edges[:, 1] < lay.holders
        self._holder_edges = edges[is_holder_link, 0].copy(), edges[is_holder_link, 1].copy()
        self.public_u, self.public_v = edges[~is_holder_link, 0].copy(), edges[~is_holder_link, 1].copy()
        self._public_ties = self._prepare_public_ties()

    def _role_bounds(self) -> tuple[tuple[int, int], ...]:
        lay = self.layout
        return (0, lay.government), (lay.government, lay.holders), (lay.holders, lay.total)

    def role_rows(self) -> tuple[slice, slice, slice]:
        """The rows of each role in every agent array, in :class:`Role` order."""
        return tuple(slice(start, stop) for start, stop in self._role_bounds())

    def _prepare_public_ties(self) -> PublicTies:
        n, u, v = self.layout.total, self.public_u, self.public_v
        adjacency = sparse.csr_matrix((np.ones(2 * len(u)), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
        blocks = tuple(adjacency[:, start:stop].tocsr() for start, stop in self._role_bounds())
        present = tuple(np.asarray(block.sum(axis=1)).ravel() for block in blocks)
        both_public = u >= self.layout.holders
        return PublicTies(blocks, present, u[both_public], v[both_public])

    def _init_state(self) -> None:
        p, lay, rng = self.params, self.layout, self.rng
        n, h = lay.total, lay.holders
        kinds = np.array(self.kinds[:h])
        self.volume = np.exp(rng.normal(0.0, p.volume_dispersion, h))
        self.volume[lay.grid] = p.grid_volume_factor
        base_quality = np.where(self.role[:h] == GOV, p.quality_government, p.quality_enterprise)
        self.quality = _clip01(base_quality + rng.normal(0, 0.1, h))
        water = kinds == "water"
        self.quality[water] = rng.uniform(0.2, 0.9, water.sum())  # mixed ownership, sparse meter reads
        self.technology = _clip01(p.technology_initial + rng.normal(0, 0.1, h))
        self.security = _clip01(p.security_initial + rng.normal(0, 0.1, h))
        self.restricted = _clip01(p.restricted_share + rng.normal(0, 0.05, h))
        self.restricted[kinds == "telecom"] = p.telecom_restricted_share
        self.open = np.minimum(_clip01(p.open_share + rng.normal(0, 0.1, h)), 1 - self.restricted)
        self.conditional = 1.0 - self.open - self.restricted
        cognition_mean = np.array([p.cognition_government, p.cognition_enterprise, p.cognition_public])[self.role]
        self.cognition = _clip01(cognition_mean + rng.normal(0, 0.1, n))
        self.privacy_concern = _clip01(p.privacy_concern + rng.normal(0, 0.15, lay.public))
        initial = np.array([p.initial_active_government, p.initial_share_enterprise, p.initial_participation])
        self.strategy = (rng.random(n) < initial[self.role]).astype(np.int8)
        self.strategy[0] = 1  # the coordinator leads from the start
        self.strategy[lay.grid] = 1  # the grid company already shares with some departments
        self.payoff = np.zeros(n)
        u, v = self._holder_edges
        gov_pair = (self.role[u] == GOV) & (self.role[v] == GOV)
        trust = _clip01(p.trust_initial + 0.2 * gov_pair + rng.uniform(-p.trust_spread, p.trust_spread, len(u)))
        self.links = Links.new(u, v, trust, step=0)
        self.isolation_spell = np.zeros(h, dtype=np.int64)
        self.recent_incident_rate = 0.0

    @property
    def graph(self) -> nx.Graph:
        """The initial network as a labelled networkx graph (built on first use)."""
        return self.network.graph

    def _create_agents(self) -> None:
        for index, role in enumerate(self.role.tolist()):
            AGENT_CLASSES[role](self, index)

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        t = self.steps
        self._apply_countermeasures(t)
        self._change_capabilities(t)
        brokered = self._update_links(t)
        self._refresh_neighbourhoods()
        outcome = StepOutcome(self._share(t), brokered)
        self._outcomes(outcome, t)
        self._update_trust(outcome)
        self._learn()
        self._measure(outcome)
        self.datacollector.collect(self)

    @property
    def flows(self) -> Flows:
        """This month's data per holder link, both directions."""
        return self.outcome.flows

    def _apply_countermeasures(self, t: int) -> None:
        self.levers = self.package.levers_at(t)

    def _change_capabilities(self, t: int) -> None:
        p, rates = self.params, self.package.capability_rates_at(t)
        rate = np.where(self.role == PUB, rates.publicity, rates.training)
        self.cognition += rate * (1.0 - self.cognition)
        self.technology += rates.technology * (1.0 - self.technology)
        self.security += rates.security * (1.0 - self.security)
        self.quality += p.technology_quality_gain * self.technology * (1.0 - self.quality) - p.quality_decay * self.quality

    def _update_links(self, t: int) -> int:
        """Idle links may decay; coordinators broker new ones.  Returns the links brokered."""
        p, links = self.params, self.links
        idle = (t - links.last_active) >= p.decay_after
        decays = idle & (self.rng.random(len(links)) < p.decay_probability)
        links.keep(~decays)
        return sum(self._broker_links(t, brokering) for brokering in self.package.brokering_at(t))

    def _broker_links(self, t: int, brokering: Brokering) -> int:
        """Department-enterprise links, favouring isolated enterprises; returns how many are new."""
        lay, links = self.layout, self.links
        expected = brokering.links_per_holder * lay.holders
        count = self.rng.poisson(expected) if expected > 0 else 0
        if count == 0 or lay.enterprise == 0:
            return 0
        weight = 1.0 + self.isolation_spell[lay.government:].astype(float)
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

    def _refresh_neighbourhoods(self) -> None:
        """Local fractions g, e, p, h of every agent; forgets the holders' mean trust (links changed)."""
        h, ties = self.layout.holders, self._public_ties
        strategy = self.strategy.astype(np.float64)
        active = [block @ strategy[start:stop] for block, (start, stop) in zip(ties.blocks, self._role_bounds())]
        present = [count.copy() for count in ties.present]
        # Holder links change every step: count them by (role, strategy) class of the neighbour in one
        # bincount over both directions.  Every count is a whole number, exact in floating point, so
        # no order of summation can change a fraction.
        kind = 2 * self.role[:h].astype(np.int64) + self.strategy[:h]
        u, v = self.links.u, self.links.v
        counts = np.bincount(np.concatenate([6 * u + kind[v], 6 * v + kind[u]]), minlength=6 * h).reshape(h, 6)
        for role in (GOV, ENT, PUB):
            active[role][:h] += counts[:, 2 * role + 1]
            present[role][:h] += counts[:, 2 * role] + counts[:, 2 * role + 1]
        self._mean_trust = None
        self.neighbourhood = incentives.Neighbourhood(
            government=_share_of(active[GOV], present[GOV]), enterprise=_share_of(active[ENT], present[ENT]),
            public=_share_of(active[PUB], present[PUB]),
            holders=_share_of(active[GOV] + active[ENT], present[GOV] + present[ENT]))

    def holder_mean_trust(self) -> np.ndarray:
        if self._mean_trust is None:
            h, links = self.layout.holders, self.links
            total = np.bincount(links.u, links.trust, h) + np.bincount(links.v, links.trust, h)
            count = np.bincount(links.u, minlength=h) + np.bincount(links.v, minlength=h)
            self._mean_trust = np.where(count > 0, total / np.maximum(count, 1), self.params.trust_initial)
        return self._mean_trust

    def _share(self, t: int) -> Flows:
        """Tiered sharing over holder links (docs/ODD.md 3.4)."""
        p, lv, h, links = self.params, self.levers, self.layout.holders, self.links
        trusted = links.trust >= p.trust_threshold

        def fraction(sender: np.ndarray) -> np.ndarray:
            untiered = (self.restricted[sender] <= p.restricted_tolerance) * trusted
            tiered = self.open[sender] + self.conditional[sender] * trusted
            return self.strategy[sender] * ((1 - lv.tiering) * untiered + lv.tiering * tiered)  # a new array

        f_forward, f_backward = fraction(links.u), fraction(links.v)
        # A trickle below min_flow is no transfer: without the floor, the first sliver of tiering
        # would join every link of every sharing holder at once.
        f_forward[self.volume[links.u] * f_forward < p.min_flow] = 0.0
        f_backward[self.volume[links.v] * f_backward < p.min_flow] = 0.0
        forward = self.volume[links.u] * f_forward
        backward = self.volume[links.v] * f_backward
        links.flowed((forward > 0) | (backward > 0), t)
        sent = np.bincount(links.u, forward, h) + np.bincount(links.v, backward, h)
        shared_fraction = np.zeros(h)
        np.maximum.at(shared_fraction, links.u, f_forward)
        np.maximum.at(shared_fraction, links.v, f_backward)
        return Flows(forward, backward, sent, shared_fraction)

    def _holder_state(self, rows: slice) -> incentives.HolderState:
        """What the payoffs need of the holders in ``rows``."""
        exposure = incentives.exposure(self.params, self.levers, self.conditional[rows], self.restricted[rows])
        return incentives.HolderState(self.volume[rows], self.quality[rows], self.technology[rows], self.security[rows],
                                   self.holder_mean_trust()[rows], exposure)

    def _outcomes(self, outcome: StepOutcome, t: int) -> None:
        """Remediation, incidents and what the countermeasures spent, into ``outcome``."""
        p, lv, lay, flows = self.params, self.levers, self.layout, outcome.flows
        h = lay.holders
        unit_cost = incentives.remediation_unit_cost(p, self.quality, self.technology)
        outcome.remediation_cost = float(np.sum(unit_cost * self.volume * flows.shared_fraction))
        remediated = flows.shared_fraction > 0
        gap = np.maximum(0.0, p.quality_standard - self.quality)
        self.quality += remediated * p.remediation_learning * gap

        exposure = incentives.exposure(p, lv, self.conditional, self.restricted)
        chance = incentives.incident_probability(p, self.security, exposure)
        outcome.incident_holders = (flows.sent > 0) & (self.rng.random(h) < chance)
        outcome.incidents = incidents = int(outcome.incident_holders.sum())
        outcome.incident_loss = incidents * p.incident_loss
        self.recent_incident_rate = (1 - INCIDENT_MEMORY) * self.recent_incident_rate + INCIDENT_MEMORY * incidents / h
        outcome.countermeasure_cost = self._countermeasure_cost(outcome, t)

    def _countermeasure_cost(self, outcome: StepOutcome, t: int) -> float:
        """Running budgets, payments to sharing enterprises and participants, and brokered links."""
        lay = self.layout
        h = lay.holders
        outlays = self.package.outlays_at(t, h, lay.public)
        sharing_ent = (self.role[:h] == ENT) & (self.strategy[:h] == 1)
        rated = float(self.neighbourhood.government[:h][sharing_ent].sum())
        participants = int(self.strategy[h:].sum())
        brokering = sum(b.cost_per_link for b in self.package.brokering_at(t)) * outcome.brokered
        return outlays.budget + outlays.per_rated_enterprise * rated + outlays.per_participant * participants + brokering

    def _update_trust(self, outcome: StepOutcome) -> None:
        p, lv, links, flows = self.params, self.levers, self.links, outcome.flows
        two_way = (flows.forward > 0) & (flows.backward > 0)
        one_way = (flows.forward > 0) ^ (flows.backward > 0)
        gain = min(1.0, p.trust_gain * (1.0 + lv.transparency))
        trust = np.where(two_way, links.trust + gain * (1 - links.trust), links.trust)
        trust = np.where(one_way, trust * (1 - p.trust_loss), trust)
        hit = outcome.incident_holders[links.u] | outcome.incident_holders[links.v]
        links.trust = np.where(hit, trust * (1 - p.incident_trust_loss), trust)
        self._mean_trust = None

    # ------------------------------------------------------------------ payoffs and learning
    def strategy_payoffs(self, perception: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Payoff of strategy 1 and strategy 0 for every agent, from each role's decision rule."""
        p, lv, near = self.params, self.levers, self.neighbourhood
        one, zero = np.zeros(self.layout.total), np.zeros(self.layout.total)
        gov, ent, pub = self.role_rows()
        one[gov], zero[gov] = government.payoffs(p, lv, near.rows(gov), perception[gov])
        one[ent], zero[ent] = enterprise.payoffs(p, lv, self._holder_state(ent), near.rows(ent), perception[ent])
        one[pub], zero[pub] = public.payoffs(p, lv, near.rows(pub), self.privacy_concern, self.recent_incident_rate,
                                             perception[pub])
        return one, zero

    def _learn(self) -> None:
        p, rng, n = self.params, self.rng, self.layout.total
        welfare_one, welfare_zero = self.strategy_payoffs(np.ones(n))
        self.payoff = np.where(self.strategy == 1, welfare_one, welfare_zero)
        one, zero = self.strategy_payoffs(self.cognition)
        advantage = one - zero  # perceived gain from strategy 1
        revising = rng.random(n) < p.revision_rate
        if p.learning_rule == "logit":
            z = np.clip(advantage / p.logit_temperature, -500, 500)
            proposal = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int8)
        else:
            model_strategy = self.strategy[self._imitation_partners()]
            gain = np.where(model_strategy == 1, advantage, -advantage)
            switch = rng.random(n) < np.clip(gain / p.imitation_scale, 0.0, 1.0)
            proposal = np.where((model_strategy != self.strategy) & switch, model_strategy, self.strategy).astype(np.int8)
        explore = rng.random(n) < p.exploration
        proposal = np.where(explore, rng.integers(0, 2, n), proposal).astype(np.int8)
        self.strategy = np.where(revising, proposal, self.strategy).astype(np.int8)
        self.strategy[0] = 1  # the coordinator does not give up leading

    def _imitation_partners(self) -> np.ndarray:
        """A random same-role neighbour for every agent, or a random same-role agent when it has none."""
        n, rng = self.layout.total, self.rng
        ties, links = self._public_ties, self.links
        same = self.role[links.u] == self.role[links.v]
        u = np.concatenate([links.u[same], ties.same_role_u])
        v = np.concatenate([links.v[same], ties.same_role_v])
        # Same-role neighbour lists in CSR order (by agent, then neighbour id): one sort of integer keys.
        keys = np.sort(np.concatenate([u * n + v, v * n + u]))
        neighbours = keys % n
        degree = np.bincount(keys // n, minlength=n)
        first = np.cumsum(degree) - degree
        draw = rng.random(n)
        pick = first + np.floor(draw * degree).astype(np.int64)
        partner = np.where(degree > 0, neighbours[np.minimum(pick, len(neighbours) - 1)] if len(neighbours) else 0, -1)
        sizes = np.bincount(self.role, minlength=3)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        fallback = starts[self.role] + np.floor(rng.random(n) * sizes[self.role]).astype(np.int64)
        return np.where(partner >= 0, partner, fallback)

    # ------------------------------------------------------------------ measurement
    def _measure(self, outcome: StepOutcome) -> None:
        outcome.recent = self.recent_flow_mask()
        u, v, h = self.links.u[outcome.recent], self.links.v[outcome.recent], self.layout.holders
        isolated = (np.bincount(u, minlength=h) + np.bincount(v, minlength=h)) == 0
        self.isolation_spell = np.where(isolated, self.isolation_spell + 1, 0)
        self.outcome = outcome
        self.metrics = measure(self, outcome, self.metrics)

    def recent_flow_mask(self) -> np.ndarray:
        """Which holder links carried data within the flow window (the islands graph)."""
        return self.links.recent(self.steps, self.params.flow_window)

    def recent_flow_links(self) -> tuple[np.ndarray, np.ndarray]:
        recent = self.recent_flow_mask()
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
