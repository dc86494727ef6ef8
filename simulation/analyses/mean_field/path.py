"""The mean field stepped month by month as the model steps (learning, trust, capabilities), per
holder of the measured networks, to predict the model's state at its horizon (docs/game.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from agents import Role, incentives, public
from agents.dynamics import grown_capabilities, updated_trust
from agents.roles import HOLDER_ROLES
from simulation.analyses.mean_field.game import MeanFieldGame, MeanFieldState
from simulation.analyses.mean_field.mixing import PATHS, AgentExposure, Mixing
from simulation.config import Scenario
from simulation.core import requests as requests_rules
from simulation.core.authority import monthly_capacity, service_chance
from simulation.core.countermeasures import Countermeasure, Package


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
    agent, provides, pair, rate, size, pulled = [], [], [], [], [], []
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        for who, total, provides_here in ((a, mixing.rate[a, b], False), (b, received[b, a], True)):
            count = int(np.ceil(total))
            agent += [who] * count
            provides += [provides_here] * count
            pair += [2 * a + b] * count
            rate += [total / count] * count
            size += [mixing.size[a, b]] * count
            pulled += [mixing.pulled_reach[a, b] > 0.5] * count
    pair_index = np.array(pair, dtype=np.int64)
    return AgentExposure(np.array([0, 1]), np.zeros(2, int), np.ones(1), np.array(agent, dtype=np.int64),
                         np.array(provides, dtype=bool), np.array(pair, dtype=np.int64), np.array(rate), np.array(size),
                         mixing.quality[np.array(pair, dtype=np.int64) % 2], np.array(pulled, dtype=bool),
                         mixing.cognition[:2].copy(), mixing.tiers.reshape(4, 3)[pair_index],
                         mixing.over_tolerance.reshape(4)[pair_index] > 0.5, mixing.technology[pair_index % 2],
                         mixing.security[pair_index % 2], mixing.trust.reshape(4)[pair_index])


def mean_field_path(scenario: Scenario, mixing: Mixing, steps: int | None = None, start=None,
                    extra: tuple[Countermeasure, ...] = ()) -> MeanFieldPath:
    """The model's month, in expectation (docs/game.md), from the scenario's initial shares (or
    ``start``) for ``steps`` months (the scenario's horizon): levers and capability growth of month t
    from the countermeasure package; every holder of ``mixing.agents`` (or one representative per
    role) takes up or gives up sharing with the chances of :func:`realised_gaps`, the public by its
    Δ with and without a department among its neighbours (:func:`learning_step`); then trust per
    pair of roles and pair of stances, remediation and the incident memory move by the model's own
    update functions at the month's expected counts."""

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

    # Each link direction's requester's expected fulfilment, per pair of stances at its ends (the
    # model's per-link expectations, learnt at each link's own rate).
    slot_expects = np.ones((len(agents.slot_pair), 2, 2))
    pair_a, pair_b = agents.slot_pair // 2, agents.slot_pair % 2
    path = [role_shares()]
    for t in range(steps):
        cognition, technology, security, quality = grown_capabilities(
            p, package.capability_rates_at(t), np.array([False, False, True]), state.cognition,
            state.technology, state.security, state.quality)
        # A holder's offset from its role's mean quality shrinks as every holder's quality ages and
        # gains from technology toward one fixed point (the step's linear part, 1 − g·τ − δ).
        spread = spread * (1.0 - p.technology_quality_gain * technology - p.quality_decay)
        state = replace(state, cognition=cognition, technology=technology, security=security, quality=quality)
        game = MeanFieldGame(scenario, t, extra=extra, mixing=mixing, state=state, public_near=float(public_x[0]))
        shares = path[-1]
        month = _month(game, shares)
        # Likewise a holder's offset from its role's mean cognition (training closes every gap by one share).
        trained = np.divide(1.0 - cognition[:2], 1.0 - mixing.cognition[:2], out=np.zeros(2),
                            where=mixing.cognition[:2] < 1)
        full_rate = np.minimum(1.0, agents.slot_rate * requests_rules.public_pull(p, public_x[0], agents.slot_pulled))
        up, down = realised_gaps(p, game, agents, shares, holder_x, rng, spread, trained,
                                 requests_rules.readiness(p, slot_expects))
        public_gap = _public_gaps(game, shares, month["incidents"])
        transitions = stance_transitions(p, agents.role, holder_x, shares, up, down)
        holder_shares = np.array([holder_x[agents.role == r].mean() if np.any(agents.role == r) else start[r]
                                  for r in HOLDER_ROLES])
        holder_x, public_x = learning_step(p, game, agents.role, holder_x, up, down, public_x, public_gap, shares)
        quality = (state.quality
                   + month["remediated"] * p.remediation_learning * np.maximum(0.0, p.quality_standard - state.quality))
        trust = updated_trust(p, game.levers, state.trust, month["answered"], month["refused"], month["hit"],
                              month["vouched"], _prior(p)[:, :, None, None])
        memory = (1 - p.incident_memory) * state.incident_memory + p.incident_memory * month["incidents"]
        slot_expects = _learnt_expectations(p, slot_expects, full_rate, month["fulfilled"][pair_a, pair_b],
                                            month["observed"][pair_a, pair_b])
        queue, service = _authority_month(p, game, state.queue, month["escalated"])
        slot_expects = carried(slot_expects, holder_shares, transitions, pair_a, pair_b)
        state = replace(state, quality=quality, trust=carried(trust, holder_shares, transitions),
                        incident_memory=memory, expects=_role_expectations(slot_expects, full_rate, agents),
                        queue=queue, service=service)
        path.append(role_shares())
    return MeanFieldPath(np.array(path))


QUALITY_LEVELS = 9
SIZE_LEVELS = 7
COGNITION_LEVELS = 5
CAPABILITY_LEVELS = 3
TRUST_LEVELS = 5


def _grid(dimensions) -> tuple[np.ndarray, np.ndarray]:
    """The combinations of levels (a grid per dimension: values per slot, count, log scale) that some
    slot has, as one row per dimension (shape (dimensions, combinations)), and each slot's combination."""
    levels, index = zip(*(_levels(values, count, log) for values, count, log in dimensions))
    combination = np.ravel_multi_index(index, [len(level) for level in levels])
    present, slot_combination = np.unique(combination, return_inverse=True)
    position = np.unravel_index(present, [len(level) for level in levels])
    return np.array([level[at] for level, at in zip(levels, position)]), slot_combination


def _grown(mean: float, initial_mean: float, initial: np.ndarray) -> np.ndarray:
    """A holder's capability now, from its initial value: the countermeasures close every holder's
    gap to 1 by the same share, the share its role's mean closed."""
    closed = (1.0 - mean) / (1.0 - initial_mean) if initial_mean < 1 else 0.0
    return 1.0 - (1.0 - initial) * closed


def _levels(values: np.ndarray, count: int, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A grid of ``count`` levels spanning ``values`` (on a log scale if ``log``), and each value's nearest level."""
    x = np.log(values) if log else values
    if np.ptp(x) == 0:
        return values[:1], np.zeros(len(values), dtype=np.int64)
    grid = np.linspace(x.min(), x.max(), count)
    index = np.rint((x - grid[0]) / np.ptp(x) * (count - 1)).astype(np.int64)
    return (np.exp(grid) if log else grid), index


def realised_gaps(p, game: MeanFieldGame, agents: AgentExposure, shares: np.ndarray, holder_x: np.ndarray,
                  rng: np.random.Generator, quality_spread=(1.0, 1.0), cognition_spread=(1.0, 1.0),
                  readiness: np.ndarray | None = None, draws: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Per holder, the expected chance that its learning takes strategy 1 up and gives it up in a
    month, over ``draws`` random months of its own requests: every slot carries a request with its
    rate (pulled by a department's participating public, lowered where its requester expects
    refusals: ``readiness[slot, requester stance, provider stance]``, by default the role pair's
    :meth:`MeanFieldGame.readiness`, of the link its own stance built), routed by a row of
    the request table drawn with the row's chance at the role shares (the partner's stance
    included), and the holder's gap is the sum of its rule's (share − hoard) over its requests, at
    the request's own need, the provider's quality, technology, security and sensitive share and the holder's own
    cognition (on a grid of levels of each), per data unit at stake with ``role_max`` (0
    without a request).  The normaliser is, as in the model, the largest |gap| in its role in that
    month within its own network (``role_max``) or ``imitation_scale`` (``fixed``); chances are
    clipped to [0, 1] month by month as the model clips them.  With ``logit`` the first is the mean
    chance of choosing 1 and the second unused."""
    n = len(agents.role)
    gaps = {own: np.zeros((draws, n)) for own in (0, 1)}  # as a sharer (0) and as a hoarder (1) weighs them
    stakes = {own: np.zeros((draws, n)) for own in (0, 1)}
    near = shares[Role.PUBLIC] if game.public_near is None else game.public_near
    role_cognition = np.array([game.capabilities[f"cognition_{r.key}"] for r in HOLDER_ROLES])
    # A link's trust apart from its pair of roles' mean: its initial spread, fading as trust drifts to its prior.
    pair_trust = game.mixing.trust[agents.slot_pair // 2, agents.slot_pair % 2]
    trust_offset = (agents.slot_trust - pair_trust) * (1.0 - p.trust_decay) ** game.step
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        in_pair = agents.slot_pair == 2 * a + b
        if not np.any(in_pair):
            continue
        # Each slot's provider at its own quality (its initial offset from the role's mean, shrinking
        # as technology and ageing pull every holder's quality to one fixed point), and each request
        # at its own need, on a grid of levels of both.
        quality = np.clip(game.capabilities[f"quality_{Role(b).key}"] + quality_spread[b]
                          * (agents.slot_quality[in_pair] - game.mixing.quality[b]), 0.0, 1.0)
        technology, security = (_grown(game.capabilities[f"{name}_{Role(b).key}"], getattr(game.mixing, name)[b],
                                       getattr(agents, f"slot_{name}")[in_pair]) for name in ("technology", "security"))
        # The slot's holder decides on its side of the request with its own cognition, whose offset
        # from its role's mean shrinks as training closes every holder's gap by the same share.
        own_role = np.where(agents.slot_provides[in_pair], b, a)
        cognition = np.clip(role_cognition[own_role] + np.asarray(cognition_spread)[own_role]
                            * (agents.cognition[agents.slot_agent[in_pair]] - game.mixing.cognition[own_role]), 0, 1)
        grid, level = _grid([(quality, QUALITY_LEVELS, False), (np.maximum(agents.slot_size[in_pair], 1e-12),
                                                                  SIZE_LEVELS, True),
                             (cognition, COGNITION_LEVELS, False), (technology, CAPABILITY_LEVELS, False),
                             (security, CAPABILITY_LEVELS, False),
                             (1.0 - agents.slot_tiers[in_pair, 0], CAPABILITY_LEVELS, False),
                             (trust_offset[in_pair], TRUST_LEVELS, False)])
        row_gaps = {own: game.row_gaps(a, b, shares, grid[0], own, *grid[1:]) for own in (0, 1)}
        rate = np.minimum(1.0, agents.slot_rate * requests_rules.public_pull(p, near, agents.slot_pulled))
        for provides, column in ((True, 0), (False, 1)):
            mine = agents.slot_provides[in_pair] == provides
            slots = np.flatnonzero(in_pair)[mine]
            if len(slots) == 0:
                continue
            ready = (np.broadcast_to(game.readiness(a, b), (len(slots), 2, 2)) if readiness is None
                     else readiness[slots])
            chances = _row_chances(game, a, b, shares, agents.slot_tiers[slots], agents.slot_over[slots], ready)
            happen_draw, row_draw = rng.random((draws, len(slots))), rng.random((draws, len(slots)))
            where = (agents.slot_agent[slots] + n * np.arange(draws)[:, None]).ravel()
            for own in (0, 1):
                cumulative = np.cumsum(chances[provides, own], axis=1)
                total = cumulative[:, -1]
                happens = happen_draw < rate[slots] * total
                share = np.divide(cumulative, total[:, None], out=np.ones_like(cumulative), where=total[:, None] > 0)
                row = np.minimum((row_draw[:, :, None] >= share[None, :, :]).sum(axis=2), cumulative.shape[1] - 1)
                units = p.request_share * agents.slot_size[slots] * happens
                gap = row_gaps[own][column][level[mine][None, :], row]
                gaps[own] += np.bincount(where, (gap * units).ravel(), draws * n).reshape(draws, n)
                stakes[own] += np.bincount(where, units.ravel(), draws * n).reshape(draws, n)
    per_unit = p.imitation_normaliser == "role_max" or p.learning_rule == "logit"
    if per_unit:
        gaps = {own: np.divide(g, stakes[own], out=np.zeros_like(g), where=stakes[own] > 0) for own, g in gaps.items()}
    # Which gap each agent has: a sharer's or a hoarder's, with its chance of sharing.
    gap = holder_x * gaps[0] + (1.0 - holder_x) * gaps[1]
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


def _row_chances(game: MeanFieldGame, a: Role, b: Role, shares: np.ndarray, tiers: np.ndarray,
                 over: np.ndarray, readiness: np.ndarray) -> dict[tuple[bool, int], np.ndarray]:
    """Per (the holder provides?, its own stance index), the chance of each row of the request table
    (per slot of providers with ``tiers`` and ``over`` tolerance, whose requesters' ``readiness`` is
    (slots, requester stance, provider stance): shape (slots, rows)) relative to a request at full
    need: the path, the partner's stance at its role's share, and the requester's readiness on the
    link (the holder's own stance is the row's share index; its own stance shows only in the trust
    and the readiness of its links)."""
    paths = game.path_chance(a, b, tiers, over)[:, :, None, None]
    requester_share = np.array([shares[a], 1.0 - shares[a]])
    provider_share = np.array([shares[b], 1.0 - shares[b]])
    first = np.array([1.0, 0.0])
    chances = {}
    for own in (0, 1):
        as_provider = paths * (requester_share * readiness[:, :, own])[:, None, :, None] * first[None, None, None, :]
        as_requester = paths * first[None, None, :, None] * (provider_share * readiness[:, own, :])[:, None, None, :]
        chances[True, own] = as_provider.reshape(len(tiers), -1)
        chances[False, own] = as_requester.reshape(len(tiers), -1)
    return chances


def _learnt_expectations(p, expects: np.ndarray, full_rate: np.ndarray, fulfilled: np.ndarray,
                         observed: np.ndarray) -> np.ndarray:
    """Each link direction's expected fulfilment after a month (``Links.learn_outcomes`` in
    expectation): a request there, filed with its rate at the requester's readiness, moves it
    ``expectation_memory`` of the way toward the outcome; ``fulfilled`` and ``observed`` are the
    chances per request (per slot and pair of stances) of an outcome fulfilled and of one learnt."""
    asked = full_rate[:, None, None] * requests_rules.readiness(p, expects)
    return expects + p.expectation_memory * asked * (fulfilled - observed * expects)


def _role_expectations(expects: np.ndarray, full_rate: np.ndarray, agents: AgentExposure) -> np.ndarray:
    """Per role pair, the requesters' expected fulfilment averaged over link directions weighted by
    their rates (what sets the pair's expected requests, readiness being linear in it)."""
    result = np.ones((2, 2, 2, 2))
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        here = (agents.slot_pair == 2 * a + b) & ~agents.slot_provides
        weight = full_rate[here]
        if weight.sum() > 0:
            result[a, b] = np.tensordot(weight, expects[here], axes=1) / weight.sum()
    return result


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
        take, give = switch_chances(p, partner, up, down)
        return np.clip(x + (1.0 - x) * take - x * give, 0.0, 1.0)

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


def switch_chances(p, partner, up, down) -> tuple[np.ndarray, np.ndarray]:
    """Per agent, the chance that this month it takes strategy 1 up if it plays 0, and gives it up if
    it plays 1 (:func:`learning_step`)."""
    if p.learning_rule == "logit":
        take, give = up, 1.0 - up
    else:
        take, give = partner * up, (1.0 - partner) * down
    explore = 0.5 * p.exploration
    return (p.revision_rate * ((1.0 - p.exploration) * take + explore),
            p.revision_rate * ((1.0 - p.exploration) * give + explore))


def stance_transitions(p, role: np.ndarray, holder_x: np.ndarray, shares: np.ndarray, up: np.ndarray,
                       down: np.ndarray) -> np.ndarray:
    """Per holder role, the month's chances ``[r, s, s']`` that a holder playing stance s (share,
    hoard) plays s' after learning, over its role's holders weighted by how likely each plays s."""
    transitions = np.zeros((2, 2, 2))
    for r in HOLDER_ROLES:
        rows = role == r
        take, give = switch_chances(p, shares[r], up[rows], down[rows])
        x = holder_x[rows]
        gives = float(np.sum(x * give) / np.sum(x)) if np.sum(x) > 0 else float(np.mean(give))
        takes = float(np.sum((1 - x) * take) / np.sum(1 - x)) if np.sum(1 - x) > 0 else float(np.mean(take))
        transitions[r] = [[1.0 - gives, gives], [takes, 1.0 - takes]]
    return transitions


def carried(values: np.ndarray, shares: np.ndarray, transitions: np.ndarray, requester_role=None,
            provider_role=None) -> np.ndarray:
    """A per-link state after the holders at its ends change stance with ``transitions``
    (:func:`stance_transitions`): a holder that switches keeps its links, so the state of the links of
    each new pair of stances is the mean over where those links come from.  ``values`` is
    ``[a, b, sa, sb]`` per role pair, or ``[slot, sa, sb]`` with each slot's roles given."""
    if requester_role is None:
        roles = np.array(list(itertools.product(HOLDER_ROLES, repeat=2)), dtype=np.int64)
        flat = carried(np.asarray(values, dtype=float).reshape(4, 2, 2), shares, transitions, roles[:, 0], roles[:, 1])
        return flat.reshape(2, 2, 2, 2)
    mass = np.stack([shares[:2], 1.0 - shares[:2]], axis=-1)  # [role, stance]
    start = mass[:, :, None] * transitions  # [role, s, s']: mass moving from s to s'
    # [slot, sa, sb, sa', sb']: links moving from stances (sa, sb) to (sa', sb')
    flow = start[requester_role][:, :, None, :, None] * start[provider_role][:, None, :, None, :]
    weight = flow.sum(axis=(1, 2))
    moved = np.einsum("kijlm,kij->klm", flow, values)
    return np.where(weight > 0, moved / np.where(weight > 0, weight, 1.0), values)


def _largest(values: np.ndarray) -> float:
    value = float(np.max(values)) if len(values) else 0.0
    return value if value > 0 else 1.0


def _prior(p) -> np.ndarray:
    return np.minimum(1.0, p.trust_initial + p.trust_government_bonus * np.array([[1.0, 0.0], [0.0, 0.0]]))


def _month(game: MeanFieldGame, shares: np.ndarray) -> dict:
    """Expected counts of one month at ``shares``: per link of each role pair and pair of stances,
    requests answered in time, refused, and the chances of a forced grant and of an incident at
    either end (what the model's ``_update_trust`` counts); per request of each role pair and pair of
    stances, the chance it is an outcome its requester learns from (``_update_expectations``: a
    request answered this month, a case once decided) and the chance it is fulfilled; per holder
    role, the chance it remediated data it provided; the incidents per holder (``_settle``); and
    the cases escalated to the authority."""
    p, mix = game.scenario.parameters, game.mixing
    answered, refused, vouched = np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2))
    observed, fulfilled = np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2))
    leaks, provided, escalated = np.zeros(2), np.zeros(2), 0.0
    point = shares[None, :]
    for a, b in itertools.product(HOLDER_ROLES, repeat=2):
        req = game.requests(a, b, shares[Role.PUBLIC])
        outcome = {name: chance.mean(axis=0) for name, chance in game.outcomes(a, b).items()}
        timely = outcome["granted"] * (req.provider_shares > 0)
        chance = game.path_chance(a, b)

        def per_stance(values: np.ndarray) -> np.ndarray:
            return (chance[:, None, None] * values.reshape(len(PATHS), 2, 2)).sum(axis=0)

        # Requests a→b per a–b link at each pair of stances: the base rate, the public's pull and the
        # requester's readiness there.  They sit on the link seen from a ([a, b, sa, sb]) and from b ([b, a, sb, sa]).
        rate = mix.requests_per_link[a, b] * game.pull(a, b, point)[0] * game.readiness(a, b)
        for target, values in ((answered, timely), (refused, outcome["refused"]), (vouched, outcome["forced"])):
            target[a, b] += rate * per_stance(values)
            target[b, a] += (rate * per_stance(values)).T
        observed[a, b] = per_stance(1.0 - outcome["escalated"] * (1.0 - game.service))
        fulfilled[a, b] = per_stance(outcome["done"])
        weights = game.weights(a, b, point)[0]
        n_requests = mix.holders[a] * mix.rate[a, b] * game.demand(a, b, point)[0]
        leaks[b] += n_requests * np.sum(weights * outcome["leaked"])
        provided[b] += n_requests * np.sum(weights * outcome["done"]
                                           * (incentives.remediation_unit_cost(p, req.quality, req.technology) > 0))
        escalated += n_requests * np.sum(weights * outcome["escalated"])
    per_holder = leaks / np.maximum(mix.holders, 1)
    incident = 1.0 - np.exp(-per_holder)  # chance a holder of each role has at least one incident
    hit = 1.0 - (1.0 - incident)[:, None] * (1.0 - incident)[None, :]
    return {"answered": answered, "refused": refused, "vouched": np.minimum(vouched, 1.0),
            "hit": hit[:, :, None, None] * np.ones((2, 2, 2, 2)),
            "observed": observed, "fulfilled": fulfilled,
            "remediated": 1.0 - np.exp(-provided / np.maximum(mix.holders, 1)),
            "incidents": float(leaks.sum() / mix.holders.sum()), "escalated": float(escalated)}


def _authority_month(p, game: MeanFieldGame, queue: np.ndarray, escalated: float) -> tuple[np.ndarray, float]:
    """The authority's month (``simulation/core/authority.py``) on expected cases: the month's
    escalations join the queue, cases that have waited ``case_patience`` months are withdrawn, the
    oldest are decided as capacity allows; returns the queue by months waited and the service chance."""
    queue = np.concatenate([[escalated], queue[:-1]])  # the last age has waited its patience out
    waiting = float(queue.sum())
    capacity = monthly_capacity(game.levers, int(round(float(game.mixing.holders.sum()))))
    decided = min(capacity, waiting)
    left, remaining = queue.copy(), decided
    for age in range(len(left) - 1, -1, -1):  # first in, first out
        taken = min(left[age], remaining)
        left[age] -= taken
        remaining -= taken
    return left, service_chance(decided, waiting, capacity, p.case_patience)


def scenario_start(scenario: Scenario) -> tuple[float, float, float]:
    p = scenario.parameters
    return (p.initial_active_government, p.initial_share_enterprise, p.initial_participation)
