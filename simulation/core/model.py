"""The government-enterprise-public data-sharing model (docs/ODD.md sections 2 and 3).

State lives in NumPy arrays owned by the model: per agent (role, strategy, cognition, payoff),
per holder (volume, quality, technology, security, tier mix, isolation spell), per public agent
(privacy concern) and per holder link (endpoints, trust, last step with a flow).  The Mesa agents
in ``agents/`` are views over those arrays.  Node ``i`` of the graph is row ``i`` of every
agent array; holders (departments, then enterprises) come first, so holder arrays share the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import networkx as nx
import numpy as np
from scipy import sparse

from agents import EnterpriseAgent, GovernmentAgent, PublicAgent
from agents import incentives as payoffs
from simulation.config import Scenario
from simulation.core.countermeasures import budget_at, levers_at, strengths_at
from simulation.core.metrics import METRICS, island_metrics
from simulation.core.network import Layout, build_network, layout_of, read_network_file, sorted_unique

GOV, ENT, PUB = 0, 1, 2
NEVER = -(10**9)
INCIDENT_MEMORY = 0.3  # weight of this step's incident rate in the public's recent-incident memory


@dataclass
class Flows:
    """Data sent this step over each holder link, in both directions."""

    forward: np.ndarray  # link_u -> link_v
    backward: np.ndarray  # link_v -> link_u
    sent: np.ndarray  # per holder, total sent
    shared_fraction: np.ndarray  # per holder, largest share of its data sent on any link


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
    """

    def __init__(self, config: Scenario | None = None, seed: int | None = None) -> None:
        config = config or Scenario()
        super().__init__(rng=config.seed if seed is None else int(seed))
        self.config = config
        self.params = config.parameters
        self._build_network()
        self._init_state()
        self._create_agents()
        self.levers = levers_at(config, 0)
        self.metrics: dict[str, float] = {}
        self._cumulative_volume = 0.0
        self._refresh_neighbourhoods()
        self.flows = self._no_flows()  # this step's data per holder link, both directions
        self._measure(self.flows, costs=(0.0, 0, 0.0, 0.0))
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
        self.link_u, self.link_v = edges[is_holder_link, 0].copy(), edges[is_holder_link, 1].copy()
        self.public_u, self.public_v = edges[~is_holder_link, 0].copy(), edges[~is_holder_link, 1].copy()
        self._public_ties = self._prepare_public_ties()

    def _role_bounds(self) -> tuple[tuple[int, int], ...]:
        lay = self.layout
        return (0, lay.government), (lay.government, lay.holders), (lay.holders, lay.total)

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
        gov_pair = (self.role[self.link_u] == GOV) & (self.role[self.link_v] == GOV)
        self.trust = _clip01(p.trust_initial + 0.2 * gov_pair + rng.uniform(-p.trust_spread, p.trust_spread, len(self.link_u)))
        self.last_flow = np.full(len(self.link_u), NEVER, dtype=np.int64)
        self.last_active = np.zeros(len(self.link_u), dtype=np.int64)  # creation or last flow, for decay
        self.isolation_spell = np.zeros(h, dtype=np.int64)
        self.recent_incident_rate = 0.0

    @property
    def graph(self) -> nx.Graph:
        """The initial network as a labelled networkx graph (built on first use)."""
        return self.network.graph

    def _create_agents(self) -> None:
        classes = {GOV: GovernmentAgent, ENT: EnterpriseAgent, PUB: PublicAgent}
        for index, role in enumerate(self.role.tolist()):
            classes[role](self, index)

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        t = self.steps
        self._apply_countermeasures(t)
        self._change_capabilities()
        self._update_links(t)
        self._refresh_neighbourhoods()
        self.flows = flows = self._share(t)
        costs = self._outcomes(flows, t)
        self._update_trust(flows)
        self._learn()
        self._measure(flows, costs)
        self.datacollector.collect(self)

    def _apply_countermeasures(self, t: int) -> None:
        self.levers = levers_at(self.config, t)
        self.strengths = strengths_at(self.config, t)

    def _change_capabilities(self) -> None:
        p, cm, s = self.params, self.config.countermeasures, self.strengths
        training = cm.cognition.training_rate * s.cognition
        publicity = cm.cognition.publicity_rate * s.cognition
        rate = np.where(self.role == PUB, publicity, training)
        self.cognition += rate * (1.0 - self.cognition)
        invest = cm.security.investment_efficiency * s.security
        self.technology += invest * cm.security.technology_investment * (1.0 - self.technology)
        self.security += invest * cm.security.security_investment * (1.0 - self.security)
        self.quality += p.technology_quality_gain * self.technology * (1.0 - self.quality) - p.quality_decay * self.quality

    def _update_links(self, t: int) -> None:
        p = self.params
        idle = (t - self.last_active) >= p.decay_after
        decays = idle & (self.rng.random(len(self.trust)) < p.decay_probability)
        keep = ~decays
        self.link_u, self.link_v = self.link_u[keep], self.link_v[keep]
        self.trust, self.last_flow, self.last_active = self.trust[keep], self.last_flow[keep], self.last_active[keep]
        self._broker_links(t)

    def _broker_links(self, t: int) -> None:
        """The coordinator proposes department-enterprise links, favouring isolated holders."""
        cm, lay = self.config.countermeasures.ecosystem, self.layout
        self._brokered = 0
        expected = cm.link_rate * self.strengths.ecosystem * lay.holders
        count = self.rng.poisson(expected) if expected > 0 else 0
        if count == 0 or lay.enterprise == 0:
            return
        weight = 1.0 + self.isolation_spell[lay.government:].astype(float)
        ent = lay.government + self.rng.choice(lay.enterprise, size=count, p=weight / weight.sum())
        gov = self.rng.integers(0, lay.government, size=count)
        # Pairs as integer keys, compared only with the links of the drawn enterprises: a set of
        # Python tuples, or a search over every link, would dominate the step at a million links.
        h = lay.holders
        pairs = sorted_unique(gov * h + ent)
        drawn = np.zeros(h, dtype=bool)
        drawn[pairs % h] = True
        nearby = drawn[self.link_v]
        existing = np.sort(self.link_u[nearby] * h + self.link_v[nearby])
        new = pairs[~_in_sorted(pairs, existing)]
        if len(new) == 0:
            return
        self._brokered = len(new)
        self.link_u = np.concatenate([self.link_u, new // h])
        self.link_v = np.concatenate([self.link_v, new % h])
        brokered_trust = max(self.params.trust_threshold, self.params.trust_initial)  # the coordinator vouches
        self.trust = np.concatenate([self.trust, np.full(len(new), brokered_trust)])
        self.last_flow = np.concatenate([self.last_flow, np.full(len(new), NEVER)])
        self.last_active = np.concatenate([self.last_active, np.full(len(new), t)])

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
        u, v = self.link_u, self.link_v
        counts = np.bincount(np.concatenate([6 * u + kind[v], 6 * v + kind[u]]), minlength=6 * h).reshape(h, 6)
        for role in (GOV, ENT, PUB):
            active[role][:h] += counts[:, 2 * role + 1]
            present[role][:h] += counts[:, 2 * role] + counts[:, 2 * role + 1]
        self._mean_trust = None
        self.frac_g = _share_of(active[GOV], present[GOV])
        self.frac_e = _share_of(active[ENT], present[ENT])
        self.frac_p = _share_of(active[PUB], present[PUB])
        self.frac_h = _share_of(active[GOV] + active[ENT], present[GOV] + present[ENT])

    def holder_mean_trust(self) -> np.ndarray:
        if self._mean_trust is None:
            h = self.layout.holders
            total = np.bincount(self.link_u, self.trust, h) + np.bincount(self.link_v, self.trust, h)
            count = np.bincount(self.link_u, minlength=h) + np.bincount(self.link_v, minlength=h)
            self._mean_trust = np.where(count > 0, total / np.maximum(count, 1), self.params.trust_initial)
        return self._mean_trust

    def _share(self, t: int) -> Flows:
        """Tiered sharing over holder links (docs/ODD.md 3.4)."""
        p, lv, h = self.params, self.levers, self.layout.holders
        trusted = self.trust >= p.trust_threshold

        def fraction(sender: np.ndarray) -> np.ndarray:
            untiered = (self.restricted[sender] <= p.restricted_tolerance) * trusted
            tiered = self.open[sender] + self.conditional[sender] * trusted
            return self.strategy[sender] * ((1 - lv.tiering) * untiered + lv.tiering * tiered)  # a new array

        f_forward, f_backward = fraction(self.link_u), fraction(self.link_v)
        # A trickle below min_flow is no transfer: without the floor, the first sliver of tiering
        # would join every link of every sharing holder at once.
        f_forward[self.volume[self.link_u] * f_forward < p.min_flow] = 0.0
        f_backward[self.volume[self.link_v] * f_backward < p.min_flow] = 0.0
        forward = self.volume[self.link_u] * f_forward
        backward = self.volume[self.link_v] * f_backward
        flowed = (forward > 0) | (backward > 0)
        self.last_flow[flowed] = t
        self.last_active[flowed] = t
        sent = np.bincount(self.link_u, forward, h) + np.bincount(self.link_v, backward, h)
        shared_fraction = np.zeros(h)
        np.maximum.at(shared_fraction, self.link_u, f_forward)
        np.maximum.at(shared_fraction, self.link_v, f_backward)
        return Flows(forward, backward, sent, shared_fraction)

    def _no_flows(self) -> Flows:
        zeros = np.zeros(len(self.link_u))
        return Flows(zeros, zeros, np.zeros(self.layout.holders), np.zeros(self.layout.holders))

    def _holder_state(self, rows: slice) -> payoffs.HolderState:
        """What the payoffs need of the holders in ``rows``."""
        exposure = payoffs.exposure(self.params, self.levers, self.conditional[rows], self.restricted[rows])
        return payoffs.HolderState(self.volume[rows], self.quality[rows], self.technology[rows], self.security[rows],
                                   self.holder_mean_trust()[rows], exposure)

    def _outcomes(self, flows: Flows, t: int) -> tuple[float, int, float, float]:
        """Remediation, payments, incidents; returns (remediation, incidents, loss, countermeasure cost)."""
        p, lv, lay = self.params, self.levers, self.layout
        h = lay.holders
        unit_cost = payoffs.remediation_unit_cost(p, self.quality, self.technology)
        remediation = float(np.sum(unit_cost * self.volume * flows.shared_fraction))
        remediated = flows.shared_fraction > 0
        gap = np.maximum(0.0, p.quality_standard - self.quality)
        self.quality += remediated * p.remediation_learning * gap

        exposure = payoffs.exposure(p, lv, self.conditional, self.restricted)
        chance = payoffs.incident_probability(p, self.security, exposure)
        incident = (flows.sent > 0) & (self.rng.random(h) < chance)
        incidents = int(incident.sum())
        self._incident_holders = incident
        self.recent_incident_rate = (1 - INCIDENT_MEMORY) * self.recent_incident_rate + INCIDENT_MEMORY * incidents / h

        sharing_ent = (self.role[:h] == ENT) & (self.strategy[:h] == 1)
        paid = (lv.enterprise_subsidy + lv.evaluation_reward) * float(self.frac_g[:h][sharing_ent].sum())
        participants = int(self.strategy[h:].sum())
        brokering = self.config.countermeasures.ecosystem.link_cost * self._brokered
        cost = budget_at(self.config, t, h, lay.public) + paid + lv.public_reward * participants + brokering
        return remediation, incidents, incidents * p.incident_loss, cost

    def _update_trust(self, flows: Flows) -> None:
        p, lv = self.params, self.levers
        two_way = (flows.forward > 0) & (flows.backward > 0)
        one_way = (flows.forward > 0) ^ (flows.backward > 0)
        gain = min(1.0, p.trust_gain * (1.0 + lv.transparency))
        self.trust = np.where(two_way, self.trust + gain * (1 - self.trust), self.trust)
        self.trust = np.where(one_way, self.trust * (1 - p.trust_loss), self.trust)
        hit = self._incident_holders[self.link_u] | self._incident_holders[self.link_v]
        self.trust = np.where(hit, self.trust * (1 - p.incident_trust_loss), self.trust)
        self._mean_trust = None

    # ------------------------------------------------------------------ payoffs and learning
    def strategy_payoffs(self, perception: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Payoff of strategy 1 and strategy 0 for every agent, from the payoff module."""
        p, lv, lay = self.params, self.levers, self.layout
        g, e, pub, hh = self.frac_g, self.frac_e, self.frac_p, self.frac_h
        one, zero = np.zeros(lay.total), np.zeros(lay.total)
        gov = slice(0, lay.government)
        ent = slice(lay.government, lay.holders)
        pubs = slice(lay.holders, lay.total)
        one[gov], zero[gov] = payoffs.government(p, lv, g[gov], e[gov], pub[gov], hh[gov], perception[gov])
        one[ent], zero[ent] = payoffs.enterprise(p, lv, self._holder_state(ent), g[ent], e[ent], pub[ent], hh[ent], perception[ent])
        one[pubs], zero[pubs] = payoffs.public(
            p, lv, g[pubs], self.privacy_concern, self.recent_incident_rate, perception[pubs]
        )
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
        ties = self._public_ties
        same = self.role[self.link_u] == self.role[self.link_v]
        u = np.concatenate([self.link_u[same], ties.same_role_u])
        v = np.concatenate([self.link_v[same], ties.same_role_v])
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
    def _measure(self, flows: Flows, costs: tuple[float, int, float, float]) -> None:
        h, t = self.layout.holders, self.steps
        ru, rv = self.role[self.link_u], self.role[self.link_v]
        channel = {}
        for name, (src, dst) in {"volume_gov_gov": (GOV, GOV), "volume_gov_ent": (GOV, ENT),
                                 "volume_ent_gov": (ENT, GOV), "volume_ent_ent": (ENT, ENT)}.items():
            channel[name] = float(flows.forward[(ru == src) & (rv == dst)].sum() + flows.backward[(rv == src) & (ru == dst)].sum())
        volume = float(sum(channel.values()))
        self._cumulative_volume += volume
        recent_u, recent_v = self.recent_flow_links()
        islands = island_metrics(h, recent_u, recent_v)
        degree = np.bincount(recent_u, minlength=h) + np.bincount(recent_v, minlength=h)
        isolated = degree == 0
        self.isolation_spell = np.where(isolated, self.isolation_spell + 1, 0)
        remediation, incidents, loss, cost = costs
        roles = [slice(start, stop) for start, stop in self._role_bounds()]
        adoption = [float(self.strategy[r].mean()) if r.stop > r.start else 0.0 for r in roles]
        payoff = [float(self.payoff[r].mean()) if r.stop > r.start else 0.0 for r in roles]
        self.metrics = {
            "step": int(t),
            "sharing_volume": volume,
            "cumulative_volume": self._cumulative_volume,
            **channel,
            "adoption_government": adoption[0],
            "adoption_enterprise": adoption[1],
            "adoption_public": adoption[2],
            "adoption_holders": float(self.strategy[:h].mean()),
            **islands,
            "mean_isolation_spell": float(self.isolation_spell[isolated].mean()) if isolated.any() else 0.0,
            "mean_trust": float(self.trust.mean()) if len(self.trust) else 0.0,
            "mean_cognition": float(self.cognition.mean()),
            "mean_quality": float(self.quality.mean()),
            "mean_technology": float(self.technology.mean()),
            "remediation_cost": remediation,
            "incidents": int(incidents),
            "incident_loss": float(loss),
            "countermeasure_cost": float(cost),
            "payoff_government": payoff[0],
            "payoff_enterprise": payoff[1],
            "payoff_public": payoff[2],
        }

    def recent_flow_mask(self) -> np.ndarray:
        """Which holder links carried data within the flow window (the islands graph)."""
        return (self.steps - self.last_flow) < self.params.flow_window

    def recent_flow_links(self) -> tuple[np.ndarray, np.ndarray]:
        recent = self.recent_flow_mask()
        return self.link_u[recent], self.link_v[recent]


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
