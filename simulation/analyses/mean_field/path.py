"""The mean field stepped month by month as the model steps (learning, trust, capabilities), per
holder of the measured networks, to predict the model's state at its horizon (docs/game.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from agents import Role, incentives, public
from agents.dynamics import grown_capabilities, updated_trust
from agents.roles import HOLDER_ROLES
from simulation.analyses.mean_field.game import MeanFieldGame, MeanFieldState
from simulation.analyses.mean_field.mixing import PATHS, AgentExposure, Mixing
from simulation.config import Scenario
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
        quality = (state.quality
                   + month["remediated"] * p.remediation_learning * np.maximum(0.0, p.quality_standard - state.quality))
        trust = updated_trust(p, game.levers, state.trust, month["answered"], month["refused"], month["hit"],
                              month["vouched"], _prior(p)[:, :, None, None])
        memory = (1 - p.incident_memory) * state.incident_memory + p.incident_memory * month["incidents"]
        state = MeanFieldState(state.cognition, state.technology, state.security, quality, trust, memory)
        path.append(role_shares())
    return MeanFieldPath(np.array(path))


QUALITY_LEVELS = 9


def realised_gaps(p, game: MeanFieldGame, agents: AgentExposure, shares: np.ndarray, holder_x: np.ndarray,
                  rng: np.random.Generator, quality_spread=(1.0, 1.0),
                  draws: int = 40) -> tuple[np.ndarray, np.ndarray]:
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
            row = np.minimum(np.searchsorted(cumulative / cumulative[-1], rng.random((draws, len(slots))),
                                             side="right"),
                             len(cumulative) - 1)
            units = p.request_share * agents.slot_size[slots] * happens
            where = (agents.slot_agent[slots] + n * np.arange(draws)[:, None]).ravel()
            for own in (0, 1):
                row_gap = np.array([r[column] for r in rows[own]])  # (levels, rows)
                gaps[own] += np.bincount(where, (row_gap[level[mine][None, :], row] * units).ravel(),
                                         draws * n).reshape(draws, n)
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

        def per_stance(values: np.ndarray) -> np.ndarray:
            return (chance[:, None, None] * values.reshape(len(PATHS), 2, 2)).sum(axis=0)

        rate = mix.requests_per_link[a, b]
        # Requests a→b sit on the a–b link seen from a ([a, b, sa, sb]) and from b ([b, a, sb, sa]).
        for target, values in ((answered, timely), (refused, refusal * (1.0 - forced)), (vouched, refusal * forced)):
            target[a, b] += rate * per_stance(values)
            target[b, a] += rate * per_stance(values).T
        done = granted + refusal * forced
        weights = game.weights(a, b, shares)
        n_requests = mix.holders[a] * mix.rate[a, b]
        leaks[b] += n_requests * np.sum(weights * done * incentives.incident_probability(p, req.security, req.exposure))
        provided[b] += n_requests * np.sum(weights * done
                                           * (incentives.remediation_unit_cost(p, req.quality, req.technology) > 0))
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
