"""Who meets whom in the data-sharing model, measured for its mean field (docs/ODD.md section 6,
docs/game.md): :class:`Mixing` per pair of holder roles and :class:`AgentExposure` per holder, from
the scenario's own networks (:func:`measure_mixing`) or the complete graph (:meth:`Mixing.complete`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import Role
from simulation.config import Scenario

# How the rules route a request (docs/ODD.md section 3, step 4b): catalogued (always between departments,
# elsewhere with the graded catalogues' reach) in the unconditional, conditional or not-shareable tier;
# or uncatalogued, where the tier still matters to the grant rule and to the authority, which orders
# an unconditional item shared, a conditional one with ``arbitration`` and a not-shareable one never
# (step 4d), and where a provider whose data is more restricted than the tolerance refuses everything.
PATHS = ("open", "conditional", "restricted", "uncatalogued open", "uncatalogued conditional",
         "uncatalogued restricted", "uncatalogued, over tolerance")
STANCES = np.array([1.0, 0.0])  # strategy 1 (share / active), strategy 0


@dataclass(frozen=True)
class AgentExposure:
    """Per holder of the measured networks (every seed's holders pooled), the requests it can meet in
    a month, one *slot* per direction of each of its links: it provides in one, requests in the
    other, each with the link's monthly rate for that direction at full need and the request's need
    (the smaller of the two holders' volumes).  With
    them the mean field keeps what a role mean averages away: a holder with many departments around
    it, a large one, a month with one request or none."""

    role: np.ndarray  # (n,) Role of each holder
    network: np.ndarray  # (n,) which measured network (seed) the holder belongs to
    public_reach: np.ndarray  # (m,) per member of the public: 1 if a department is among its neighbours
    slot_agent: np.ndarray  # (s,) the holder the slot belongs to
    slot_provides: np.ndarray  # (s,) True: it provides in this slot; False: it requests
    slot_pair: np.ndarray  # (s,) 2·(requester role) + (provider role)
    slot_rate: np.ndarray  # (s,) chance of a request in a month at full need (at most 1, as the model draws them)
    slot_size: np.ndarray  # (s,) the request's need: the smaller of requester's and provider's volumes
    slot_quality: np.ndarray  # (s,) the provider's initial data quality (water companies' spread included)
    slot_pulled: np.ndarray  # (s,) the requester is a department with public neighbours (the public pulls its demand)
    cognition: np.ndarray  # (n,) each holder's initial cognition (how it sees data's value and the cost of providing)
    slot_tiers: np.ndarray  # (s, 3) the provider's tier mix (unconditional, conditional, not shareable)
    slot_over: np.ndarray  # (s,) the provider is more restricted than the tolerance (refuses all uncatalogued requests)
    slot_technology: np.ndarray  # (s,) the provider's initial technology
    slot_security: np.ndarray  # (s,) the provider's initial security
    slot_trust: np.ndarray  # (s,) the link's initial trust


@dataclass(frozen=True)
class Mixing:
    """Who meets whom, and with what data, per pair of holder roles ``[a, b]`` (requester a, provider
    b): what a representative holder sees.  :meth:`complete` is the complete graph of ordinary
    holders at the scenario's means; :func:`measure_mixing` measures it on the scenario's own networks."""

    holders: np.ndarray  # (2,) departments, enterprises
    public: int
    rate: np.ndarray  # (2, 2) requests a holder of role a files with holders of role b in a month
    requests_per_link: np.ndarray  # (2, 2) requests a→b per month over one a–b link (measured, not the lever)
    size: np.ndarray  # (2, 2) mean need of a request a→b (the smaller of the two holders' volumes)
    size_levels: np.ndarray  # (2, 2, k) needs of requests a→b, the means of k request-weighted quantile bins
    tiers: np.ndarray  # (2, 2, 3) mean tier mix (unconditional, conditional, not shareable) of that provider
    over_tolerance: np.ndarray  # (2, 2) share of requests a→b whose provider is more restricted than the tolerance
    watched_reach: np.ndarray  # (2, 2) share of requests a→b whose provider has public neighbours
    pulled_reach: np.ndarray  # (2, 2) share of requests a→b whose requester is a department with public neighbours
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
        tiers = np.stack([_tier_mix(p, department) for department in (True, False)])[None, :, :]
        over = np.array([p.catalogue_not_shareable, p.restricted_share]) > p.restricted_tolerance
        prior = np.minimum(1.0, p.trust_initial + p.trust_government_bonus * np.array([[1.0, 0.0], [0.0, 0.0]]))
        departments_pulled = np.array([[1.0, 1.0], [0.0, 0.0]])
        return cls(holders, pop.public, partners * demand, demand.copy(), np.ones((2, 2)), np.ones((2, 2, 1)),
                   np.broadcast_to(tiers, (2, 2, 3)).copy(), np.broadcast_to(over.astype(float), (2, 2)).copy(),
                   np.ones((2, 2)), departments_pulled, 1.0,
                   np.array([p.quality_government, p.quality_enterprise]), np.full(2, p.technology_initial),
                   np.full(2, p.security_initial),
                   np.array([p.cognition_government, p.cognition_enterprise, p.cognition_public]), prior,
                   p.privacy_concern)


def _tier_mix(p, department: bool) -> np.ndarray:
    """Mean (unconditional, conditional, not shareable) shares of a department's catalogue or an
    enterprise's data, as the model draws them (the unconditional share capped by what is shareable)."""
    open_mean, restricted = ((p.catalogue_unconditional, p.catalogue_not_shareable) if department
                             else (p.open_share, p.restricted_share))
    open_ = min(open_mean, 1.0 - restricted)
    return np.array([open_, 1.0 - open_ - restricted, restricted])


def measure_mixing(scenario: Scenario, seeds=None) -> Mixing:
    """The :class:`Mixing` of the scenario's own networks and initial state, averaged over ``seeds``
    (default: the scenario's seed): each built by ``DataSharingModel`` itself (the scenario's
    generator, the same draws as a run of that seed), every holder link weighted by its kind-level
    request rates (the ``demand`` block, grid, water and telecom overrides included)."""
    from simulation.core.model import (
        DataSharingModel,  # the model is built only to be measured
    )

    seeds = [scenario.seed] if seeds is None else list(seeds)
    models = [DataSharingModel(scenario, seed=seed) for seed in seeds]
    parts = [_measure_one(model) for model in models]
    mean = {name: np.mean([np.asarray(part[name], dtype=float) for part in parts], axis=0) for name in parts[0]}
    pooled = _pooled([_agent_exposure(model, index) for index, model in enumerate(models)])
    return Mixing(holders=mean["holders"], public=int(round(float(mean["public"]))), agents=pooled,
                  **{k: (float(v) if np.ndim(v) == 0 else v) for k, v in mean.items()
                     if k not in ("holders", "public")})


def _pooled(parts: list[AgentExposure]) -> AgentExposure:
    offsets = np.cumsum([0] + [len(part.role) for part in parts[:-1]])
    joined = {name: np.concatenate([getattr(part, name) for part in parts])
              for name in AgentExposure.__dataclass_fields__}
    joined["slot_agent"] = np.concatenate([part.slot_agent + offset for part, offset in zip(parts, offsets)])
    return AgentExposure(**joined)


def _agent_exposure(model, index: int = 0) -> AgentExposure:
    h, links = model.layout.holders, model.links
    role = model.population.role[:h].astype(np.int64)
    req, prov = np.concatenate([links.u, links.v]), np.concatenate([links.v, links.u])
    rate = model.demand[model.holders.kind_code[req], model.holders.kind_code[prov]]
    used = rate > 0
    trust = np.concatenate([links.trust, links.trust])[used]
    req, prov, rate = req[used], prov[used], rate[used]
    pair = 2 * role[req] + role[prov]
    reach = (model.public_ties.present[Role.GOVERNMENT][h:] > 0).astype(float)
    need = np.minimum(model.holders.volume[req], model.holders.volume[prov])
    tiers = np.stack([model.holders.open, model.holders.conditional, model.holders.restricted], axis=1)
    return AgentExposure(role, np.full(h, index), reach, np.concatenate([prov, req]),
                         np.concatenate([np.ones(len(req), bool), np.zeros(len(req), bool)]),
                         np.tile(pair, 2), np.tile(rate, 2), np.tile(need, 2),
                         np.tile(model.holders.quality[prov], 2), np.tile(_pulled(model)[req], 2),
                         model.population.cognition[:h].copy(), np.tile(tiers[prov], (2, 1)),
                         np.tile(model.holders.restricted[prov] > model.params.restricted_tolerance, 2),
                         np.tile(model.holders.technology[prov], 2), np.tile(model.holders.security[prov], 2),
                         np.tile(trust, 2))


def _pulled(model) -> np.ndarray:
    """Per holder: a department with public neighbours, whose demand the participating public pulls."""
    h = model.layout.holders
    return (model.population.role[:h] == Role.GOVERNMENT) & (model.public_ties.present[Role.PUBLIC][:h] > 0)


SIZE_LEVELS = 6


def _size_levels(ra, rb, rate, need) -> np.ndarray:
    """Per (requester role, provider role), the mean need of each of SIZE_LEVELS request-weighted
    quantile bins (escalation is worth a requester's effort only above a size, so a mean would not do)."""
    levels = np.ones((2, 2, SIZE_LEVELS))
    for a, b in np.ndindex(2, 2):
        here = (ra == a) & (rb == b) & (rate > 0)
        if not np.any(here):
            continue
        order = np.argsort(need[here], kind="stable")
        weight, value = rate[here][order], need[here][order]
        position = (np.cumsum(weight) - 0.5 * weight) / weight.sum()
        bins = np.minimum((position * SIZE_LEVELS).astype(np.int64), SIZE_LEVELS - 1)
        total = np.bincount(bins, weight * value, SIZE_LEVELS)
        mass = np.bincount(bins, weight, SIZE_LEVELS)
        levels[a, b] = np.where(mass > 0, total / np.maximum(mass, 1e-300), value.mean())
    return levels


def _measure_one(model) -> dict:
    lay, links, h = model.layout, model.links, model.layout.holders
    role = model.population.role[:h].astype(int)
    u, v = links.u, links.v
    # Every holder link in both directions: requester, provider, monthly rate of that direction.
    req, prov = np.concatenate([u, v]), np.concatenate([v, u])
    rate = model.demand[model.holders.kind_code[req], model.holders.kind_code[prov]]
    ra, rb = role[req], role[prov]
    need = np.minimum(model.holders.volume[req], model.holders.volume[prov])
    public_ties = model.public_ties
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
        "requests_per_link": np.divide(requests, links_between, out=np.zeros((2, 2)), where=links_between > 0),
        "size": by_pair(need),
        "size_levels": _size_levels(ra, rb, rate, need),
        "tiers": np.stack([by_pair(model.holders.open[prov]), by_pair(model.holders.conditional[prov]),
                           by_pair(model.holders.restricted[prov])], axis=-1),
        "over_tolerance": by_pair((model.holders.restricted[prov] > p.restricted_tolerance).astype(float)),
        "watched_reach": by_pair(has_public[prov].astype(float)),
        "pulled_reach": by_pair(_pulled(model)[req].astype(float)),
        "served_reach": float(np.mean(public_ties.present[Role.GOVERNMENT][public_rows] > 0)),
        "quality": by_provider_role(model.holders.quality), "technology": by_provider_role(model.holders.technology),
        "security": by_provider_role(model.holders.security),
        "cognition": np.array([model.population.cognition[model.population.role == r].mean() for r in Role]),
        "trust": np.divide(trust_sum, links_between, out=np.zeros((2, 2)), where=links_between > 0),
        "privacy_concern": float(model.public.privacy_concern.mean()),
    }
