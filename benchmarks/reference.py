"""The plain-Mesa reference: the same step as :class:`simulation.model.DataSharingModel`, written the
obvious way, one agent and one link at a time in Python, with agent state in agent attributes.

It exists to be checked against, not used: ``tests/test_reference.py`` checks that the fast model
and this one agree in distribution, and the benchmark measures how much faster the fast one is.
It shares with the fast model only what is not the step itself: the scenario, the network
generator (so one seed gives both models the same graph), the countermeasure objects and the
roles' decision rules, called here once per agent with plain numbers.  Its random draws are its own, so it
matches the fast model in distribution, not run for run.
"""

from __future__ import annotations

import math

import mesa
import networkx as nx

from agents import enterprise, government, public
from agents import incentives as payoffs
from agents.incentives import Neighbourhood
from simulation.config import Scenario
from simulation.core.countermeasures import Package
from simulation.core.links import NEVER
from simulation.core.metrics import METRICS
from simulation.core.model import INCIDENT_MEMORY
from simulation.core.network import build_network, layout_of

ROLES = ("government", "enterprise", "public")


def clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


class Link:
    """A holder-holder link; ``sent`` maps each end to what it sent over the link this step."""

    __slots__ = ("ends", "trust", "last_flow", "last_active", "sent")

    def __init__(self, a: "Holder", b: "Holder", trust: float, last_active: int) -> None:
        self.ends = (a, b)
        self.trust, self.last_flow, self.last_active = trust, NEVER, last_active
        self.sent = {a: 0.0, b: 0.0}

    def other(self, end: "Holder") -> "Holder":
        return self.ends[1] if end is self.ends[0] else self.ends[0]


class Person(mesa.Agent):
    """Any agent: a strategy, a cognition, neighbours, and what it sees among them."""

    role = ""

    def __init__(self, model: "ReferenceModel", index: int) -> None:
        super().__init__(model)
        p, rnd = model.params, model.random
        self.index = index
        self.neighbours: list[Person] = []
        self.cognition = clip01(getattr(p, f"cognition_{self.role}") + rnd.gauss(0, 0.1))
        initial = {"government": p.initial_active_government, "enterprise": p.initial_share_enterprise,
                   "public": p.initial_participation}[self.role]
        self.strategy = int(rnd.random() < initial)
        self.payoff = 0.0
        self.g = self.e = self.p = self.h = 0.0

    def learn_capabilities(self) -> None:
        rates = self.model.rates
        rate = rates.publicity if self.role == "public" else rates.training
        self.cognition += rate * (1.0 - self.cognition)

    @property
    def near(self) -> Neighbourhood:
        return Neighbourhood(self.g, self.e, self.p, self.h)

    def look_around(self) -> None:
        """Shares of active departments, sharing enterprises, participating public and sharing holders."""
        seen = {role: 0 for role in ROLES}
        active = {role: 0 for role in ROLES}
        for other in self.neighbours:
            seen[other.role] += 1
            active[other.role] += other.strategy
        share = {role: active[role] / seen[role] if seen[role] else 0.0 for role in ROLES}
        self.g, self.e, self.p = share["government"], share["enterprise"], share["public"]
        holders = seen["government"] + seen["enterprise"]
        self.h = (active["government"] + active["enterprise"]) / holders if holders else 0.0

    def decide(self) -> None:
        """Revise the strategy (applied in :meth:`adopt`, so every agent decides on the same state)."""
        p, rnd = self.model.params, self.model.random
        welfare = self.payoffs(perception=1.0)
        self.payoff = welfare[0] if self.strategy == 1 else welfare[1]
        one, zero = self.payoffs(perception=self.cognition)
        advantage = one - zero
        self.proposal = self.strategy
        revising = rnd.random() < p.revision_rate
        if p.learning_rule == "logit":
            z = min(500.0, max(-500.0, advantage / p.logit_temperature))
            proposal = int(rnd.random() < 1.0 / (1.0 + math.exp(-z)))
        else:
            model_strategy = self.imitation_partner().strategy
            gain = advantage if model_strategy == 1 else -advantage
            switch = rnd.random() < min(1.0, max(0.0, gain / p.imitation_scale))
            proposal = model_strategy if switch else self.strategy
        if rnd.random() < p.exploration:
            proposal = rnd.randrange(2)
        if revising:
            self.proposal = proposal

    def imitation_partner(self) -> "Person":
        same = [other for other in self.neighbours if other.role == self.role]
        return self.model.random.choice(same or self.model.by_role[self.role])

    def adopt(self) -> None:
        self.strategy = 1 if self.index == 0 else self.proposal  # the coordinator keeps leading


class Holder(Person):
    """A department or an enterprise: data, capabilities, tiers and holder links."""

    def __init__(self, model: "ReferenceModel", index: int, kind: str) -> None:
        super().__init__(model, index)
        p, rnd = model.params, model.random
        self.kind = kind
        self.links: list[Link] = []
        self.volume = p.grid_volume_factor if kind == "grid" else math.exp(rnd.gauss(0, p.volume_dispersion))
        base = p.quality_government if self.role == "government" else p.quality_enterprise
        self.quality = rnd.uniform(0.2, 0.9) if kind == "water" else clip01(base + rnd.gauss(0, 0.1))
        self.technology = clip01(p.technology_initial + rnd.gauss(0, 0.1))
        self.security = clip01(p.security_initial + rnd.gauss(0, 0.1))
        self.restricted = p.telecom_restricted_share if kind == "telecom" else clip01(p.restricted_share + rnd.gauss(0, 0.05))
        self.open = min(clip01(p.open_share + rnd.gauss(0, 0.1)), 1 - self.restricted)
        self.conditional = 1.0 - self.open - self.restricted
        if kind in ("coordinator", "grid"):
            self.strategy = 1
        self.isolation_spell = 0
        self.sent = self.shared_fraction = 0.0
        self.incident = False

    def learn_capabilities(self) -> None:
        super().learn_capabilities()
        p, rates = self.model.params, self.model.rates
        self.technology += rates.technology * (1.0 - self.technology)
        self.security += rates.security * (1.0 - self.security)
        self.quality += p.technology_quality_gain * self.technology * (1.0 - self.quality) - p.quality_decay * self.quality

    def share(self) -> None:
        """Send data over every holder link: all or nothing untiered; tiered, open data always and
        conditional data only over trusted links."""
        p, lv = self.model.params, self.model.levers
        self.sent = self.shared_fraction = 0.0
        for link in self.links:
            trusted = link.trust >= p.trust_threshold
            untiered = float(self.restricted <= p.restricted_tolerance and trusted)
            tiered = self.open + self.conditional * trusted
            fraction = self.strategy * ((1 - lv.tiering) * untiered + lv.tiering * tiered)
            if self.volume * fraction < p.min_flow:
                fraction = 0.0
            link.sent[self] = self.volume * fraction
            self.sent += link.sent[self]
            self.shared_fraction = max(self.shared_fraction, fraction)

    def exposure(self) -> float:
        return payoffs.exposure(self.model.params, self.model.levers, self.conditional, self.restricted)

    def remediate_and_risk(self) -> float:
        """Remediate what was shared, maybe suffer an incident; returns the remediation cost."""
        p = self.model.params
        cost = payoffs.remediation_unit_cost(p, self.quality, self.technology) * self.volume * self.shared_fraction
        if self.shared_fraction > 0:
            self.quality += p.remediation_learning * max(0.0, p.quality_standard - self.quality)
        chance = payoffs.incident_probability(p, self.security, self.exposure())
        self.incident = self.sent > 0 and self.model.random.random() < chance
        return cost

    def mean_trust(self) -> float:
        if not self.links:
            return self.model.params.trust_initial
        return sum(link.trust for link in self.links) / len(self.links)


class Department(Holder):
    role = "government"

    def payoffs(self, perception: float) -> tuple[float, float]:
        m = self.model
        return government.payoffs(m.params, m.levers, self.near, perception)


class Enterprise(Holder):
    role = "enterprise"

    def payoffs(self, perception: float) -> tuple[float, float]:
        m = self.model
        state = payoffs.HolderState(self.volume, self.quality, self.technology, self.security, self.mean_trust(), self.exposure())
        return enterprise.payoffs(m.params, m.levers, state, self.near, perception)


class Citizen(Person):
    role = "public"

    def __init__(self, model: "ReferenceModel", index: int) -> None:
        super().__init__(model, index)
        self.privacy_concern = clip01(model.params.privacy_concern + model.random.gauss(0, 0.15))

    def payoffs(self, perception: float) -> tuple[float, float]:
        m = self.model
        return public.payoffs(m.params, m.levers, self.near, self.privacy_concern, m.recent_incident_rate, perception)


class ReferenceModel(mesa.Model):
    """The data-sharing model, one agent at a time."""

    def __init__(self, config: Scenario, seed: int) -> None:
        super().__init__(rng=int(seed))
        self.config, self.params = config, config.parameters
        network = build_network(layout_of(config.population), config.network, self.rng)
        self.layout = network.layout
        kinds = self.layout.kinds()
        self.people: list[Person] = []
        for index, kind in enumerate(kinds):
            if kind == "public":
                self.people.append(Citizen(self, index))
            elif index < self.layout.government:
                self.people.append(Department(self, index, kind))
            else:
                self.people.append(Enterprise(self, index, kind))
        self.holders: list[Holder] = self.people[: self.layout.holders]
        self.by_role = {role: [a for a in self.people if a.role == role] for role in ROLES}
        self.links: list[Link] = []
        for u, v in network.edges.tolist():
            a, b = self.people[u], self.people[v]
            a.neighbours.append(b)
            b.neighbours.append(a)
            if isinstance(a, Holder) and isinstance(b, Holder):
                self.add_link(a, b, self.initial_trust(a, b), 0)
        self.recent_incident_rate, self.cumulative_volume = 0.0, 0.0
        self.package = Package.of(config)
        self.levers = self.package.levers_at(0)
        self.agents.do("look_around")
        self.measure(remediation=0.0, cost=0.0)
        self.datacollector = mesa.DataCollector(model_reporters={name: (lambda m, key=name: m.metrics[key]) for name in METRICS})
        self.datacollector.collect(self)

    def initial_trust(self, a: Holder, b: Holder) -> float:
        p = self.params
        both_departments = a.role == b.role == "government"
        return clip01(p.trust_initial + 0.2 * both_departments + self.random.uniform(-p.trust_spread, p.trust_spread))

    def add_link(self, a: Holder, b: Holder, trust: float, t: int) -> None:
        link = Link(a, b, trust, t)
        self.links.append(link)
        a.links.append(link)
        b.links.append(link)

    def step(self) -> None:
        t = self.steps
        self.levers, self.rates = self.package.levers_at(t), self.package.capability_rates_at(t)
        self.agents.do("learn_capabilities")
        self.decay_links(t)
        self.broker_links(t)
        self.agents.do("look_around")
        for holder in self.holders:
            holder.share()
        for link in self.links:
            if any(sent > 0 for sent in link.sent.values()):
                link.last_flow = link.last_active = t
        remediation = sum(holder.remediate_and_risk() for holder in self.holders)
        incidents = sum(holder.incident for holder in self.holders)
        memory = INCIDENT_MEMORY
        self.recent_incident_rate = (1 - memory) * self.recent_incident_rate + memory * incidents / len(self.holders)
        cost = self.countermeasure_cost(t)
        self.update_trust()
        self.agents.do("decide")
        self.agents.do("adopt")
        self.measure(remediation, cost)
        self.datacollector.collect(self)

    def decay_links(self, t: int) -> None:
        p = self.params
        kept = []
        for link in self.links:
            if t - link.last_active >= p.decay_after and self.random.random() < p.decay_probability:
                for end in link.ends:
                    end.links.remove(link)
                    end.neighbours.remove(link.other(end))
            else:
                kept.append(link)
        self.links = kept

    def broker_links(self, t: int) -> None:
        """The coordinator ties random departments to enterprises, isolated ones more often."""
        self.brokered = 0
        for brokering in self.package.brokering_at(t):
            self.broker(brokering, t)

    def broker(self, brokering, t: int) -> None:
        expected = brokering.links_per_holder * len(self.holders)
        count = int(self.rng.poisson(expected)) if expected > 0 else 0
        enterprises, departments = self.by_role["enterprise"], self.by_role["government"]
        chosen = self.random.choices(enterprises, weights=[1 + e.isolation_spell for e in enterprises], k=count)
        trust = brokering.trust
        for firm in chosen:
            department = self.random.choice(departments)
            if not any(link.other(department) is firm for link in department.links):
                self.brokered += 1
                self.add_link(department, firm, trust, t)
                department.neighbours.append(firm)
                firm.neighbours.append(department)

    def countermeasure_cost(self, t: int) -> float:
        lay = self.layout
        outlays = self.package.outlays_at(t, lay.holders, lay.public)
        paid = sum(outlays.per_rated_enterprise * e.g for e in self.by_role["enterprise"] if e.strategy == 1)
        participants = sum(c.strategy for c in self.by_role["public"])
        brokering = sum(b.cost_per_link for b in self.package.brokering_at(t)) * self.brokered
        return outlays.budget + paid + outlays.per_participant * participants + brokering

    def update_trust(self) -> None:
        p, lv = self.params, self.levers
        gain = min(1.0, p.trust_gain * (1.0 + lv.transparency))
        for link in self.links:
            flowing = [sent > 0 for sent in link.sent.values()]
            if all(flowing):
                link.trust += gain * (1 - link.trust)
            elif any(flowing):
                link.trust *= 1 - p.trust_loss
            if any(end.incident for end in link.ends):
                link.trust *= 1 - p.incident_trust_loss

    def measure(self, remediation: float, cost: float) -> None:
        t, holders = self.steps, self.holders
        channels = {f"volume_{a}_{b}": 0.0 for a in ("gov", "ent") for b in ("gov", "ent")}
        short = {"government": "gov", "enterprise": "ent"}
        window = self.params.flow_window
        islands = nx.Graph()
        islands.add_nodes_from(holders)
        for link in self.links:
            for sender, amount in link.sent.items():
                channels[f"volume_{short[sender.role]}_{short[link.other(sender).role]}"] += amount
            if t - link.last_flow < window:
                islands.add_edge(*link.ends)
        volume = sum(channels.values())
        self.cumulative_volume += volume
        components = list(nx.connected_components(islands))
        isolated = [holder for holder in holders if islands.degree(holder) == 0]
        for holder in holders:
            holder.isolation_spell = holder.isolation_spell + 1 if islands.degree(holder) == 0 else 0
        incidents = sum(holder.incident for holder in holders)
        self.metrics = {
            "step": t, "sharing_volume": volume, "cumulative_volume": self.cumulative_volume, **channels,
            **{f"adoption_{role}": mean(a.strategy for a in self.by_role[role]) for role in ROLES},
            "adoption_holders": mean(h.strategy for h in holders),
            "islands": len(components),
            "isolated_share": len(isolated) / len(holders),
            "largest_component_share": max(len(c) for c in components) / len(holders),
            "mean_isolation_spell": mean(h.isolation_spell for h in isolated),
            "mean_trust": mean(link.trust for link in self.links),
            "mean_cognition": mean(a.cognition for a in self.people),
            "mean_quality": mean(h.quality for h in holders),
            "mean_technology": mean(h.technology for h in holders),
            "remediation_cost": remediation, "incidents": incidents,
            "incident_loss": incidents * self.params.incident_loss, "countermeasure_cost": cost,
            **{f"payoff_{role}": mean(a.payoff for a in self.by_role[role]) for role in ROLES},
        }
        for holder in holders:  # flows are this step's only
            holder.incident = False
        for link in self.links:
            link.sent = dict.fromkeys(link.sent, 0.0)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
