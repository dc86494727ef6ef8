"""The plain-Mesa reference: the same step as :class:`simulation.core.model.DataSharingModel`, written
the obvious way, one agent, one link and one request at a time in Python, with agent state in agent
attributes.

It exists to be checked against, not used: ``tests/test_reference.py`` checks that the fast model
and this one agree in distribution, and the benchmark measures how much faster the fast one is.
It shares with the fast model only what is not the step itself: the scenario, the network
generator (so one seed gives both models the same graph), the countermeasure objects, the demand
matrix, a few constants, and the roles' decision rules (``agents/``), called here once per request
with plain numbers.  Its random draws are its own, so it matches the fast model in distribution,
not run for run.  The coordinating authority is an object with a plain list of cases as its queue.
Section numbers below are those of docs/ODD.md.
"""

from __future__ import annotations

import math

import mesa
import networkx as nx

from agents import enterprise, government, incentives, public
from agents.roles import ROLE_KEYS
from simulation.config import Scenario
from simulation.core.authority import WORKING_DAYS_PER_MONTH
from simulation.core.countermeasures import Package
from simulation.core.links import NEVER
from simulation.core.metrics import METRICS
from simulation.core.network import build_network, layout_of, read_network_file
from simulation.core.requests import CHANNELS, KINDS, demand_matrix

ROLES = ROLE_KEYS
SHORT = {"government": "gov", "enterprise": "ent"}
CATALOGUED, CROSS_SECTOR = CHANNELS


def clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


class Link:
    """A holder-holder link (the lower node first): trust, when data last went each way, what each
    end expects of its requests over it, and what happened on it this month."""

    __slots__ = ("ends", "trust", "prior", "last_sent", "last_active", "expects", "answered", "refusals", "vouched")

    def __init__(self, a: "Holder", b: "Holder", trust: float, prior: float, t: int) -> None:
        self.ends = (a, b) if a.index < b.index else (b, a)
        self.trust, self.prior, self.last_active = trust, prior, t
        self.last_sent = {a: NEVER, b: NEVER}  # month a delivery last brought this end's data to the other
        self.expects = {a: 1.0, b: 1.0}  # each end's expected fulfilment of the requests it files over the link
        self.clear()

    def clear(self) -> None:
        self.answered = self.refusals = 0  # requests answered in time / refused, this month
        self.vouched = False  # the authority forced a delivery over it this month

    def other(self, end: "Holder") -> "Holder":
        return self.ends[1] if end is self.ends[0] else self.ends[0]

    def recent(self, t: int, window: int, two_way: bool = False) -> bool:
        """Whether data went over the link within the window (each way if ``two_way``)."""
        went = [t - last < window for last in self.last_sent.values()]
        return all(went) if two_way else any(went)


class Request:
    """One request for data and what became of it this month."""

    def __init__(self, requester: "Holder", provider: "Holder", link: Link) -> None:
        self.requester, self.provider, self.link = requester, provider, link
        self.channel = CROSS_SECTOR
        self.catalogued = self.not_shareable = self.automatic = self.restricted = False
        self.exposure = 0.0
        self.size = 0.0
        self.view: incentives.Requests | None = None
        self.decided = self.granted = self.refused = self.escalated = False
        self.timely = self.beyond_window = False
        self.wait_days = 0  # to the provider's answer


class Case:
    """A refused request its requester took to the authority, and the authority's ruling on it."""

    def __init__(self, request: Request, filed: int) -> None:
        self.request, self.filed = request, filed
        self.granted = False  # ordered shared, once decided
        self.wait_days = 0  # from filing to the ruling, once decided


class Delivery:
    """Data that went from a provider to a requester this month: a request granted, or a case the
    authority ordered shared (``forced``), with the provider's data as it was when asked."""

    def __init__(self, request: Request, forced: bool) -> None:
        self.request, self.forced = request, forced
        self.leaked = False


class Authority:
    """The coordinating authority (3.4d): a first-in, first-out queue of cases, decided as its
    capacity allows, by the legal tier; ``service`` is the chance a new case is decided before its
    requester withdraws it, at the pace the authority last showed."""

    def __init__(self) -> None:
        self.queue: list[Case] = []
        self.service = 1.0
        self.lost = 0  # cases withdrawn since the last ruling because their link decayed
        self.month_done([], 0, 0.0)

    def month_done(self, decided: list[Case], withdrawn: int, cost: float) -> None:
        self.decided, self.withdrawn, self.cost = decided, withdrawn, cost

    def take_up(self, request: Request, t: int) -> None:
        self.queue.append(Case(request, t))

    def link_dropped(self, link: Link) -> None:
        kept = [case for case in self.queue if case.request.link is not link]
        self.lost += len(self.queue) - len(kept)
        self.queue = kept

    def rule(self, model: "ReferenceModel", t: int) -> None:
        """Withdraw the cases that waited too long, decide the oldest as capacity allows, cost them."""
        p, lv, rnd = model.params, model.levers, model.random
        patient = [case for case in self.queue if t - case.filed < p.case_patience]
        withdrawn = len(self.queue) - len(patient) + self.lost
        self.lost = 0
        capacity = lv.authority_capacity * len(model.holders) / 100.0
        slots = int(capacity) + int(rnd.random() < capacity - int(capacity))  # the fraction as a chance
        decided, self.queue = patient[:slots], patient[slots:]
        if patient:
            self.service = 1.0 - (1.0 - len(decided) / len(patient)) ** p.case_patience
        else:
            self.service = 1.0 if capacity > 0 else 0.0
        for case in decided:
            case.granted = rnd.random() < float(incentives.ruling_probability(lv, case.request.view))
            case.wait_days = case.request.wait_days + (t - case.filed) * WORKING_DAYS_PER_MONTH + p.arbitration_days
        self.month_done(decided, withdrawn, lv.case_cost * len(decided))


class Person(mesa.Agent):
    """Any agent: a strategy, a cognition, neighbours, and this month's payoffs."""

    role = ""

    def __init__(self, model: "ReferenceModel", index: int, kind: str) -> None:
        super().__init__(model)
        p, rnd = model.params, model.random
        self.index, self.kind = index, kind
        self.neighbours: list[Person] = []
        self.cognition = clip01(getattr(p, f"cognition_{self.role}") + rnd.gauss(0, p.cognition_noise))
        initial = {"government": p.initial_active_government, "enterprise": p.initial_share_enterprise,
                   "public": p.initial_participation}[self.role]
        if kind == "grid":
            initial = p.initial_share_grid
        self.strategy = int(rnd.random() < initial)
        self.payoff = 0.0  # earned this month, every benefit fully perceived
        self.advantage = 0.0  # perceived gain from strategy 1 this month
        self.stakes = 1.0  # data units its requests involved this month (1 for the public)
        self.proposal = self.strategy

    def change_capabilities(self) -> None:
        rates = self.model.rates
        rate = rates.publicity if self.role == "public" else rates.training
        self.cognition += rate * (1.0 - self.cognition)

    def decide(self) -> None:
        """Revise the strategy (section 3.7); applied in :meth:`adopt`, so all decide on the same state."""
        m = self.model
        p, rnd = m.params, m.random
        self.proposal = self.strategy
        revising = rnd.random() < p.revision_rate
        per_unit = self.advantage / self.stakes if self.stakes > 0 else 0.0
        if p.learning_rule == "logit":
            scale = p.logit_temperature * m.gap_scale[self.role]
            z = min(500.0, max(-500.0, per_unit / scale))
            proposal = int(rnd.random() < 1.0 / (1.0 + math.exp(-z)))
        else:
            partner = self.imitation_partner()
            fixed = p.imitation_normaliser == "fixed"
            gain = (self.advantage if fixed else per_unit) * (1 if partner.strategy == 1 else -1)
            scale = p.imitation_scale if fixed else m.gap_scale[self.role]
            switch = rnd.random() < min(1.0, max(0.0, gain / scale))
            proposal = partner.strategy if partner.strategy != self.strategy and switch else self.strategy
        if rnd.random() < p.exploration:
            proposal = rnd.randrange(2)
        if revising:
            self.proposal = proposal

    def imitation_partner(self) -> "Person":
        """A random same-role neighbour, or a random agent of the role when it has none."""
        same = [other for other in self.neighbours if other.role == self.role]
        return self.model.random.choice(same or self.model.by_role[self.role])

    def adopt(self) -> None:
        self.strategy = self.proposal


class Holder(Person):
    """A department or an enterprise: data, capabilities, tier mix, holder links, and the requests it
    filed and received this month."""

    rule = government  # the role's decision rule (agents/government.py or agents/enterprise.py)

    def __init__(self, model: "ReferenceModel", index: int, kind: str) -> None:
        super().__init__(model, index, kind)
        p, rnd = model.params, model.random
        self.links: list[Link] = []
        self.volume = p.grid_volume_factor if kind == "grid" else math.exp(rnd.gauss(0, p.volume_dispersion))
        base = p.quality_government if self.role == "government" else p.quality_enterprise
        if kind == "water":
            self.quality = rnd.uniform(p.water_quality_min, p.water_quality_max)
        else:
            self.quality = clip01(base + rnd.gauss(0, p.quality_noise))
        self.technology = clip01(p.technology_initial + rnd.gauss(0, p.capability_noise))
        self.security = clip01(p.security_initial + rnd.gauss(0, p.capability_noise))
        # A department's tiers are those of its catalogue; an enterprise's, of its data.
        department = self.role == "government"
        if kind == "telecom":
            self.restricted = p.telecom_restricted_share
        else:
            restricted = p.catalogue_not_shareable if department else p.restricted_share
            self.restricted = clip01(restricted + rnd.gauss(0, p.restricted_noise))
        unconditional = p.catalogue_unconditional if department else p.open_share
        self.open = min(clip01(unconditional + rnd.gauss(0, p.open_noise)), 1 - self.restricted)
        self.conditional = 1.0 - self.open - self.restricted
        self.isolation_spell = 0
        self.last_provided = NEVER  # last month its data reached another holder
        self.watched = 0.0  # share of its public neighbours who participate
        self.new_month()

    def new_month(self) -> None:
        self.filed: list[Request] = []
        self.asked: list[Request] = []
        self.received = 0  # deliveries to it this month, the authority's orders included
        self.remediated = self.incident = False

    @property
    def served(self) -> float:
        """Deliveries to it this month per request it filed, at most 1 (0 if it asked for nothing)."""
        return min(1.0, self.received / len(self.filed)) if self.filed else 0.0

    def change_capabilities(self) -> None:
        super().change_capabilities()
        p, rates = self.model.params, self.model.rates
        self.technology += min(1.0, rates.technology + p.training_capability * rates.training) * (1.0 - self.technology)
        self.security += rates.security * (1.0 - self.security)
        self.quality += (p.technology_quality_gain * self.technology * (1.0 - self.quality)
                         - p.quality_decay * self.quality)

    def look_at_public(self) -> None:
        citizens = [other for other in self.neighbours if other.role == "public"]
        self.watched = sum(c.strategy for c in citizens) / len(citizens) if citizens else 0.0

    def file_requests(self) -> list[Request]:
        """Ask each linked partner for data (3.4a): the demand rate for the pair of kinds, raised for a
        department by its participating public, lowered where it expects refusals."""
        m, p = self.model, self.model.params
        mine = KINDS.index(self.kind)
        pull = 1.0 + p.public_demand * self.watched if self.role == "government" else 1.0
        filed = []
        for link in self.links:
            partner = link.other(self)
            need = min(1.0, m.demand[mine][KINDS.index(partner.kind)] * pull)
            rate = need * (1.0 - p.demand_discouragement * (1.0 - link.expects[self]))
            m.discouraged += need - rate
            if m.random.random() < rate:
                filed.append(partner.review(self, link))
        return filed

    def review(self, requester: "Holder", link: Link) -> Request:
        """The platform's review of a request for this holder's data: channel, size, tier and path (3.4b)."""
        p, lv, rnd = self.model.params, self.model.levers, self.model.random
        request = Request(requester, self, link)
        between_departments = requester.role == self.role == "government"
        request.channel = CATALOGUED if between_departments else CROSS_SECTOR
        request.catalogued = between_departments or rnd.random() < lv.tiering
        request.size = p.request_share * min(requester.volume, self.volume)  # its need, at most what is held
        draw = rnd.random()  # the data's tier, whether or not a catalogue records it
        tier = "open" if draw < self.open else "conditional" if draw < self.open + self.conditional else "restricted"
        request.restricted = tier == "restricted"
        if request.catalogued:
            request.automatic = tier == "open"
            request.not_shareable = tier == "restricted"
            request.exposure = 0.0 if tier == "open" else p.tiered_exposure
        else:
            request.not_shareable = self.restricted > p.restricted_tolerance
            request.exposure = self.conditional + self.restricted
        request.view = incentives.Requests(  # one request, as plain numbers
            size=request.size, quality=self.quality, technology=self.technology, security=self.security,
            trust=link.trust, exposure=request.exposure, automatic=request.automatic,
            not_shareable=request.not_shareable, conditional=float(tier == "conditional"),
            obliged=float(between_departments), requester_shares=float(requester.strategy),
            provider_shares=float(self.strategy), watched=self.watched, perception=requester.cognition,
            provider_perception=self.cognition, provider_value=self.rule.value_per_unit(p),
            requester_value=requester.rule.value_per_unit(p), restricted=float(request.restricted),
            service=self.model.authority.service)
        requester.filed.append(request)
        self.asked.append(request)
        return request

    def answer(self, request: Request) -> None:
        """Grant or refuse (3.4c) and the working days to the answer (3.4e)."""
        p, rnd = self.model.params, self.model.random
        sharer = self.strategy == 1
        by_platform = request.automatic and sharer
        request.decided = not request.not_shareable and not by_platform
        if by_platform:
            request.granted = True
        elif request.decided:
            chance = incentives.discretionary_grant(p, request.view, float(self.strategy),
                                                    float(request.requester.strategy))
            request.granted = rnd.random() < float(chance)
        request.refused = request.decided and not request.granted
        request.timely = request.granted and sharer
        if by_platform:
            window = 0
        elif request.catalogued and sharer:
            window = p.reply_days_published
        else:
            window = p.reply_days_unpublished
        if request.decided and not sharer:
            reply = window + math.ceil(rnd.random() * p.late_days_max)
        else:
            reply = math.ceil(rnd.random() * window)
        request.beyond_window = request.decided and reply > window
        if request.not_shareable and request.catalogued:
            reply = 0  # refused at the platform's review
        request.wait_days = p.review_days + reply

    def consider_escalating(self, request: Request) -> None:
        """Take a refusal to the authority, where the escalation countermeasure allows it and the case
        is worth this requester's effort (3.4d)."""
        m = self.model
        p, lv = m.params, m.levers
        worth = incentives.escalation_worth(p, lv, request.view, self.rule.value_per_unit(p))
        if worth and m.random.random() < lv.escalation:
            request.escalated = True
            m.authority.take_up(request, m.steps)

    def weigh(self) -> None:
        """Perceived payoff of each stance on this month's requests, as provider and as requester (section 6)."""
        p, lv = self.model.params, self.model.levers
        advantage = 0.0
        for request in self.asked:
            if_one, if_zero = self.rule.provider_payoffs(p, lv, request.view)
            advantage += float(if_one) - float(if_zero)
        for request in self.filed:
            if_one, if_zero = self.rule.requester_payoffs(p, lv, request.view)
            advantage += float(if_one) - float(if_zero)
        self.advantage = advantage
        self.stakes = sum(float(r.view.size) for r in self.asked) + sum(float(r.view.size) for r in self.filed)

    def mean_trust(self) -> float:
        if not self.links:
            return self.model.params.trust_initial
        return sum(link.trust for link in self.links) / len(self.links)


class Department(Holder):
    role = "government"
    rule = government


class Enterprise(Holder):
    role = "enterprise"
    rule = enterprise


class Citizen(Person):
    role = "public"

    def __init__(self, model: "ReferenceModel", index: int, kind: str = "public") -> None:
        super().__init__(model, index, kind)
        p = model.params
        self.privacy_concern = clip01(p.privacy_concern + model.random.gauss(0, p.privacy_noise))
        self.served = 0.0

    def see_services(self) -> None:
        """Mean over its neighbouring departments of the share of their requests fulfilled this month."""
        departments = [other for other in self.neighbours if other.role == "government"]
        self.served = sum(d.served for d in departments) / len(departments) if departments else 0.0

    def payoffs(self, perception: float) -> tuple[float, float]:
        m = self.model
        participate, stand_by = public.payoffs(m.params, m.levers, self.served, self.privacy_concern,
                                               m.recent_incident_rate, perception)
        return float(participate), float(stand_by)

    def earn(self) -> None:
        participate, stand_by = self.payoffs(1.0)
        self.payoff = participate if self.strategy == 1 else stand_by

    def weigh(self) -> None:
        participate, stand_by = self.payoffs(self.cognition)
        self.advantage = participate - stand_by


class ReferenceModel(mesa.Model):
    """The data-sharing model, one agent, one link and one request at a time."""

    def __init__(self, config: Scenario, seed: int) -> None:
        super().__init__(rng=int(seed))
        self.config, self.params = config, config.parameters
        if config.network.kind == "file":
            network = read_network_file(config.network.path)
        else:
            network = build_network(layout_of(config.population), config.network, self.rng)
        self.layout = network.layout
        self.demand = demand_matrix(config).tolist()
        self.people: list[Person] = []
        for index, kind in enumerate(self.layout.kinds()):
            if index < self.layout.government:
                self.people.append(Department(self, index, kind))
            elif index < self.layout.holders:
                self.people.append(Enterprise(self, index, kind))
            else:
                self.people.append(Citizen(self, index, kind))
        self.holders: list[Holder] = self.people[: self.layout.holders]
        self.by_role = {role: [a for a in self.people if a.role == role] for role in ROLES}
        self.links: list[Link] = []
        p = self.params
        for u, v in network.edges.tolist():
            a, b = self.people[u], self.people[v]
            if isinstance(a, Holder) and isinstance(b, Holder):
                trust = clip01(self.trust_prior(a, b) + self.random.uniform(-p.trust_spread, p.trust_spread))
                self.add_link(a, b, trust, 0)
            else:
                a.neighbours.append(b)
                b.neighbours.append(a)
        self.package = Package.of(config)
        self.levers = self.package.levers_at(0)
        self.authority = Authority()
        self.recent_incident_rate, self.cumulative_volume, self.discouraged = 0.0, 0.0, 0.0
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self.costs = dict.fromkeys(("remediation_cost", "handling_cost", "negotiation_cost", "incidents",
                                    "incident_loss", "countermeasure_cost", "fines_collected",
                                    "net_countermeasure_cost", "authority_cost", "prices_paid"), 0.0)
        self.measure()
        self.datacollector = mesa.DataCollector(model_reporters={name: (lambda m, key=name: m.metrics[key])
                                                                 for name in METRICS})
        self.datacollector.collect(self)

    def trust_prior(self, a: Holder, b: Holder) -> float:
        p = self.params
        return min(1.0, p.trust_initial + (p.trust_government_bonus if a.role == b.role == "government" else 0.0))

    def add_link(self, a: Holder, b: Holder, trust: float, t: int) -> None:
        link = Link(a, b, trust, self.trust_prior(a, b), t)
        self.links.append(link)
        for end in (a, b):
            end.links.append(link)
            end.neighbours.append(link.other(end))

    def drop_link(self, link: Link) -> None:
        for end in link.ends:
            end.links.remove(link)
            end.neighbours.remove(link.other(end))
        self.authority.link_dropped(link)  # its requesters withdraw the cases queued on it

    # ------------------------------------------------------------------ the step (section 3)
    def step(self) -> None:
        t = self.steps
        self.levers, self.rates = self.package.levers_at(t), self.package.capability_rates_at(t)
        for agent in self.people:
            agent.change_capabilities()
        self.decay_links(t)
        link_costs = sum(brokering.cost_per_link * self.broker(brokering, t)
                         for brokering in self.package.brokering_at(t))
        self.request_data(t)
        self.authority.rule(self, t)
        self.deliveries = ([Delivery(r, forced=False) for r in self.requests if r.granted]
                           + [Delivery(case.request, forced=True) for case in self.authority.decided if case.granted])
        self.settle(t, link_costs)
        self.update_trust()
        self.update_expectations()
        self.learn()
        self.measure()
        self.datacollector.collect(self)

    def decay_links(self, t: int) -> None:
        p, kept = self.params, []
        for link in self.links:
            if t - link.last_active >= p.decay_after and self.random.random() < p.decay_probability:
                self.drop_link(link)
            else:
                kept.append(link)
        self.links = kept

    def broker(self, brokering, t: int) -> int:
        """The coordinator ties random departments to enterprises, isolated ones more often; returns
        how many new links it made."""
        expected = brokering.links_per_holder * len(self.holders)
        count = int(self.rng.poisson(expected)) if expected > 0 else 0
        enterprises, departments = self.by_role["enterprise"], self.by_role["government"]
        if count == 0 or not enterprises:
            return 0
        firms = self.random.choices(enterprises, weights=[1 + e.isolation_spell for e in enterprises], k=count)
        pairs = {(self.random.choice(departments), firm) for firm in firms}
        made = 0
        for department, firm in pairs:
            if not any(link.other(department) is firm for link in department.links):
                self.add_link(department, firm, brokering.trust, t)
                made += 1
        return made

    def request_data(self, t: int) -> None:
        """Every holder files its requests; each provider answers each one, and its requester may take
        a refusal to the authority (3.4)."""
        for holder in self.holders:
            holder.new_month()
            holder.look_at_public()
        self.requests, self.discouraged = [], 0.0
        for holder in self.holders:
            self.requests.extend(holder.file_requests())
        for request in self.requests:
            request.provider.answer(request)
            if request.refused:
                request.requester.consider_escalating(request)

    def settle(self, t: int, link_costs: float) -> None:
        """Flows, money, costs, remediation and incidents of the month's deliveries and refusals (3.5),
        and every agent's payoff, every benefit fully perceived."""
        p, lv, rnd = self.params, self.levers, self.random
        for link in self.links:
            link.clear()
        for agent in self.people:
            agent.payoff = 0.0
        remediation = handling = negotiation = loss = prices = fines = rewards = 0.0
        incidents = 0
        for d in self.deliveries:
            r = d.request
            view, size, provider, requester = r.view, r.size, r.provider, r.requester
            price = float(incentives.unit_price(lv, view.quality)) * size
            fix = float(incentives.remediation_unit_cost(p, view.quality, view.technology)) * size
            negotiate = incentives.negotiation_unit_cost(p, lv) * size
            risk = float(incentives.risk_premium(p, lv, r.link.trust)) * size
            d.leaked = rnd.random() < float(incentives.incident_probability(p, view.security, view.exposure))
            leak = p.incident_loss * size if d.leaked else 0.0
            requester.payoff += requester.rule.value_per_unit(p) * view.quality * size - price
            own = provider.rule.value_per_unit(p) * view.quality * size / p.value_asymmetry
            provider.payoff += price + own - (p.handling_cost * size + negotiate + risk + fix + leak)
            requester.received += 1
            r.link.last_sent[provider] = t
            r.link.last_active = t
            r.link.vouched |= d.forced
            provider.last_provided = t
            provider.remediated |= fix > 0
            provider.incident |= d.leaked
            prices += price
            remediation, handling, negotiation = (remediation + fix, handling + p.handling_cost * size,
                                                  negotiation + negotiate)
            loss += leak
            incidents += d.leaked
        for r in self.requests:
            view, size, provider = r.view, r.size, r.provider
            if r.timely:
                bonus = provider.rule.bonus_per_unit(lv)
                provider.payoff += bonus * size
                rewards += bonus * size
                r.link.answered += 1
            if r.refused:
                is_department = float(provider.role == "government")
                blame = (provider.rule.shame_per_unit(p) * provider.watched
                         + float(incentives.obligation_per_unit(p, view, is_department)))
                provider.payoff -= blame * size
                if r.escalated or rnd.random() < float(incentives.detection(p, view)):
                    provider.payoff -= lv.evaluation_penalty * size
                    fines += lv.evaluation_penalty * size
                r.link.refusals += 1
            if r.escalated:
                r.requester.payoff -= p.escalation_effort
        for holder in self.holders:
            if holder.remediated:
                holder.quality += p.remediation_learning * max(0.0, p.quality_standard - holder.quality)
        self.recent_incident_rate = ((1 - p.incident_memory) * self.recent_incident_rate
                                     + p.incident_memory * incidents / len(self.holders))
        participants = sum(c.strategy for c in self.by_role["public"])
        budgets = self.package.budget_at(t, len(self.holders), len(self.by_role["public"]))
        for citizen in self.by_role["public"]:
            citizen.see_services()
            citizen.earn()
        outlays = budgets + link_costs + self.authority.cost + rewards + lv.public_reward * participants
        self.costs = {"remediation_cost": remediation, "handling_cost": handling, "negotiation_cost": negotiation,
                      "incidents": incidents, "incident_loss": loss, "countermeasure_cost": outlays,
                      "fines_collected": fines, "net_countermeasure_cost": outlays - fines,
                      "authority_cost": self.authority.cost, "prices_paid": prices}

    def update_trust(self) -> None:
        """Answers in time build trust, refusals erode it, incidents hit it, a forced delivery vouches
        for the link, and trust drifts back toward its prior (3.6)."""
        p, lv = self.params, self.levers
        gain = min(1.0, p.trust_gain * (1.0 + lv.transparency))
        for link in self.links:
            for _ in range(link.answered):
                link.trust += gain * (1.0 - link.trust)
            for _ in range(link.refusals):
                link.trust *= 1.0 - p.trust_loss
            if any(end.incident for end in link.ends):
                link.trust *= 1.0 - p.incident_trust_loss
            if link.vouched:
                link.trust = max(link.trust, lv.vouched_trust)
            link.trust += p.trust_decay * (link.prior - link.trust)

    def update_expectations(self) -> None:
        """Each requester moves its expected fulfilment over a link toward the share of its requests
        there that got their final answer this month and were granted: the requests not taken to the
        authority, and the cases it decided (3.6)."""
        answers: dict[tuple[Link, Holder], list[bool]] = {}
        final = [(r, r.granted) for r in self.requests if not r.escalated]
        for request, granted in final + [(case.request, case.granted) for case in self.authority.decided]:
            answers.setdefault((request.link, request.requester), []).append(granted)
        memory = self.params.expectation_memory
        for (link, requester), granted in answers.items():
            link.expects[requester] += memory * (sum(granted) / len(granted) - link.expects[requester])

    def learn(self) -> None:
        """Every agent weighs its stances, then revises against its role's payoff gaps (3.7)."""
        p = self.params
        for agent in self.people:
            agent.weigh()
        statistic = max if p.learning_rule == "imitation" else (lambda gaps: sum(gaps) / len(gaps))
        self.gap_scale = {}
        for role, members in self.by_role.items():
            scale = (statistic([abs(a.advantage / a.stakes) if a.stakes > 0 else 0.0 for a in members])
                     if members else 0.0)
            self.gap_scale[role] = scale if scale > 0 else 1.0
        for agent in self.people:
            agent.decide()
        for agent in self.people:
            agent.adopt()

    # ------------------------------------------------------------------ measurement (section 7)
    def measure(self) -> None:
        t, p, holders, requests, deliveries = self.steps, self.params, self.holders, self.requests, self.deliveries
        authority, window = self.authority, p.flow_window
        either_way, two_way = nx.Graph(), nx.Graph()
        either_way.add_nodes_from(holders)
        two_way.add_nodes_from(holders)
        for link in self.links:
            if link.recent(t, window):
                either_way.add_edge(*link.ends)
            if link.recent(t, window, two_way=True):
                two_way.add_edge(*link.ends)
        for holder in holders:
            holder.isolation_spell = holder.isolation_spell + 1 if either_way.degree(holder) == 0 else 0
        isolated = [h for h in holders if h.isolation_spell > 0]

        channels = {f"volume_{a}_{b}": 0.0 for a in ("gov", "ent") for b in ("gov", "ent")}
        for d in deliveries:
            channels[f"volume_{SHORT[d.request.provider.role]}_{SHORT[d.request.requester.role]}"] += d.request.size
        volume = sum(d.request.size for d in deliveries)
        self.cumulative_volume += volume
        grid = [h for h in holders if h.kind == "grid"]

        def units(provider_kind: str, requester_kind: str | None = None) -> float:
            return sum(d.request.size for d in deliveries if d.request.provider.kind == provider_kind
                       and requester_kind in (None, d.request.requester.kind))

        # A request's final answer: the provider's where no case followed, else the authority's ruling.
        answered = [(r.channel, r.wait_days) for r in requests if not r.escalated]
        answered += [(case.request.channel, case.wait_days) for case in authority.decided]
        decided = [r for r in requests if r.decided]
        unconditional = [r for r in requests if r.automatic]
        conditional = [r for r in requests if r.catalogued and not r.automatic and not r.restricted]
        values = {
            "step": t, "sharing_volume": volume, "cumulative_volume": self.cumulative_volume, **channels,
            "volume_grid_water": units("grid", "water"), "volume_water_grid": units("water", "grid"),
            "grid_sharing": float(grid[0].strategy) if grid else 0.0,
            **request_figures(requests, deliveries, [w for _, w in answered]),
            "beyond_window_share": mean(r.beyond_window for r in decided),
            **channel_figures(requests, deliveries, answered),
            "grants_voluntary": sum(not d.forced for d in deliveries),
            "grants_forced": sum(d.forced for d in deliveries),
            "volume_voluntary": sum(d.request.size for d in deliveries if not d.forced),
            "volume_forced": sum(d.request.size for d in deliveries if d.forced),
            "cases_decided": len(authority.decided), "cases_withdrawn": authority.withdrawn,
            "authority_backlog": len(authority.queue), "demand_discouraged": self.discouraged,
            "requests_unconditional": len(unconditional), "requests_conditional": len(conditional),
            "wait_unconditional_days": mean(r.wait_days for r in unconditional),
            "wait_conditional_days": mean(r.wait_days for r in conditional),
            "conditional_beyond_window_share": mean(r.beyond_window for r in conditional),
            **{f"adoption_{role}": mean(a.strategy for a in self.by_role[role]) for role in ROLES},
            "adoption_holders": mean(h.strategy for h in holders),
            "volume_telecom": units("telecom"),
            **island_figures(two_way, ("islands", "isolated_share", "largest_component_share")),
            **island_figures(either_way, ("islands_either_way", "isolated_either_way_share",
                                          "largest_either_way_share")),
            "producer_integration": mean(t - h.last_provided < window for h in holders),
            **{f"producer_integration_{role}": mean(t - h.last_provided < window for h in holders if h.role == role)
               for role in ROLE_KEYS if role != "public"},
            "mean_isolation_spell": mean(h.isolation_spell for h in isolated),
            "mean_trust": mean(link.trust for link in self.links),
            "mean_cognition": mean(a.cognition for a in self.people),
            "mean_quality": mean(h.quality for h in holders),
            "mean_technology": mean(h.technology for h in holders),
            **self.costs,
            **{f"payoff_{role}": mean(a.payoff for a in self.by_role[role]) for role in ROLES},
            "interest_balance": mean(mean(a.payoff for a in self.by_role[role]) > 0 for role in ROLES),
        }
        self.metrics = {name: values[name] for name in METRICS}  # the fast model's columns, in its order


def request_figures(requests: list[Request], deliveries: list[Delivery], waits: list[float]) -> dict[str, float]:
    """Requests filed this month and what came of them: delivered (the authority's orders included,
    whenever their requests were filed), refused in the end, escalated, not shareable, the share
    delivered, and the working days to the final answers given this month (all 0 in a month without
    requests, as in the fast model)."""
    filed, granted = len(requests), len(deliveries)
    if not filed:
        return dict.fromkeys(("requests_filed", "requests_granted", "requests_refused", "requests_escalated",
                              "requests_not_shareable", "fulfilment_rate", "wait_mean_days", "wait_p90_days"), 0)
    return {"requests_filed": filed, "requests_granted": granted, "requests_refused": max(0, filed - granted),
            "requests_escalated": sum(r.escalated for r in requests),
            "requests_not_shareable": sum(r.not_shareable for r in requests),
            "fulfilment_rate": min(1.0, granted / filed), "wait_mean_days": mean(waits),
            "wait_p90_days": percentile(waits, 90)}


def channel_figures(requests: list[Request], deliveries: list[Delivery],
                    answered: list[tuple[str, float]]) -> dict[str, float]:
    """Per channel: requests filed, delivered per request filed (at most 1), final waits, units delivered."""
    figures: dict[str, float] = {}
    for channel in CHANNELS:
        filed = sum(r.channel == channel for r in requests)
        mine = [d.request for d in deliveries if d.request.channel == channel]
        waits = [wait for on, wait in answered if on == channel]
        figures |= {f"requests_{channel}": filed,
                    f"fulfilment_{channel}": min(1.0, len(mine) / filed) if filed else 0.0,
                    f"wait_mean_days_{channel}": mean(waits), f"wait_p90_days_{channel}": percentile(waits, 90),
                    f"volume_{channel}": sum(r.size for r in mine)}
    return figures


def island_figures(graph: nx.Graph, names: tuple[str, str, str]) -> dict[str, float]:
    """Under ``names``: the islands of a graph of holders, the share of holders without a tie in it,
    and the share its largest island holds."""
    n = graph.number_of_nodes()
    components = list(nx.connected_components(graph))
    alone = sum(degree == 0 for _, degree in graph.degree())
    return dict(zip(names, (len(components), alone / n if n else 0.0,
                            max(map(len, components), default=0) / n if n else 0.0)))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def percentile(values, q: float) -> float:
    """The ``q``-th percentile, interpolating linearly between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
