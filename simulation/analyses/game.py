"""Tripartite evolutionary games and the mean field of the data-sharing model (docs/ODD.md section 6).

Three roles, two strategies each; ``x = (x_0, x_1, x_2)`` is the share of each role playing strategy 1.
A *payoff function* is anything with ``roles`` and ``advantage(shares) -> Δ``, the payoff of strategy 1
minus strategy 0 for each role, vectorised over leading axes of ``shares``.  Two kinds implement it:

* :class:`TableGame`, a game from a payoff table (a ``scenarios/games/*.yaml`` file), multilinear in x;
* :class:`MeanFieldGame`, the data-sharing model reduced to representative homogeneous agents on a
  complete graph, whose Δ is the roles' decision rules in ``agents/`` (the code the agent-based run
  uses, under the same countermeasure objects) summed over the requests a holder expects in a month.

Everything downstream (the replicator ODE, the 8 pure equilibria and their stability, interior
equilibria, the agent-based run of the game, the phase portrait) takes a payoff function, so a game
from the literature and our own model are analysed by one code path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from scipy.integrate import solve_ivp
from scipy.optimize import root

from agents import Role, enterprise, government, incentives, public
from simulation.config import ConfigError, Scenario, field_bounds, read_validated
from simulation.config.schema import range_text
from simulation.core.countermeasures import Countermeasure, Package

PROFILES = tuple("".join(bits) for bits in itertools.product("01", repeat=3))
CORNERS = np.array([[int(b) for b in key] for key in PROFILES], dtype=float)


class PayoffFunction(Protocol):
    name: str
    roles: tuple[str, str, str]

    def advantage(self, shares: np.ndarray) -> np.ndarray:
        """Δ (payoff of strategy 1 minus strategy 0) per role at ``shares`` (shape (..., 3))."""


# ---------------------------------------------------------------------------------------------
# Game files


Share = Annotated[float, Field(ge=0, le=1)]
Pair = Annotated[list[str], Field(min_length=2, max_length=2)]
Triple = Annotated[list[float], Field(min_length=3, max_length=3)]


class GameFile(BaseModel):
    """A ``scenarios/games/*.yaml`` file: exactly name, roles, strategies, payoffs and start."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    name: str = Field(description="game name")
    roles: Annotated[list[str], Field(min_length=3, max_length=3)] = Field(description="three distinct role names, the order of profile keys and payoff lists")
    strategies: dict[str, Pair] = Field(description="two strategy names per role, strategy 0 first")
    payoffs: dict[str, Triple] = Field(
        description='payoff to each role at each of the 8 profiles "000" .. "111", one strategy index per role'
    )
    start: Annotated[list[Share], Field(min_length=3, max_length=3)] = Field(description="initial share playing strategy 1, per role, each in [0, 1]")

    @field_validator("roles")
    @classmethod
    def _distinct(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != 3:
            raise PydanticCustomError("roles", "roles must be three distinct names")
        return roles

    @field_validator("strategies")
    @classmethod
    def _one_pair_per_role(cls, strategies: dict, info: ValidationInfo) -> dict:
        roles = info.data.get("roles")
        if roles is not None and set(strategies) != set(roles):
            raise PydanticCustomError("strategies", "strategies must name exactly the roles {roles}",
                                      {"roles": ", ".join(roles)})
        return strategies

    @field_validator("payoffs", mode="before")
    @classmethod
    def _profile_keys(cls, value):
        if not isinstance(value, dict):
            return value
        bad = [key for key in value if key not in PROFILES]
        if bad:
            raise PydanticCustomError(
                "profile_key", "profile key {key} is not one of the quoted strings \"000\" .. \"111\""
                " (quote the keys: YAML reads an unquoted 010 as the number 8)", {"key": repr(bad[0])},
            )
        missing = [key for key in PROFILES if key not in value]
        if missing:
            raise PydanticCustomError("profiles", "all 8 profiles are required; missing {missing}",
                                      {"missing": ", ".join(missing)})
        return value


@dataclass(frozen=True)
class TableGame:
    """A game from a payoff table: ``table[a, b, c, r]`` is role r's payoff at profile (a, b, c)."""

    name: str
    roles: tuple[str, str, str]
    strategies: dict[str, tuple[str, str]]
    table: np.ndarray
    start: tuple[float, float, float]

    def advantage(self, shares: np.ndarray) -> np.ndarray:
        shares = np.asarray(shares, dtype=float)
        mix = np.stack([1.0 - shares, shares], axis=-1)  # (..., role, strategy) probabilities
        t = self.table
        gain = t[1] - t[0], t[:, 1] - t[:, 0], t[:, :, 1] - t[:, :, 0]  # strategy 1 minus 0, per role
        return np.stack([
            np.einsum("bc,...b,...c->...", gain[0][:, :, 0], mix[..., 1, :], mix[..., 2, :]),
            np.einsum("ac,...a,...c->...", gain[1][:, :, 1], mix[..., 0, :], mix[..., 2, :]),
            np.einsum("ab,...a,...b->...", gain[2][:, :, 2], mix[..., 0, :], mix[..., 1, :]),
        ], axis=-1)


def load_game(path: str | Path) -> TableGame:
    """Read and validate a game file; every problem is a :class:`ConfigError` naming file and field."""
    _, spec = read_validated(path, GameFile)
    table = np.array([spec.payoffs[key] for key in PROFILES], dtype=float).reshape(2, 2, 2, 3)
    strategies = {role: tuple(names) for role, names in spec.strategies.items()}
    return TableGame(spec.name, tuple(spec.roles), strategies, table, tuple(spec.start))


# ---------------------------------------------------------------------------------------------
# The mean field of the data-sharing model

# How the rules route a request (docs/ODD.md 3.4b): catalogued in the unconditional, conditional or
# not-shareable tier; or uncatalogued, where the tier still matters to arbitration, which never
# orders data of the not-shareable tier shared (3.4d).
PATHS = ("open", "conditional", "restricted", "uncatalogued", "uncatalogued restricted")
_STANCES = np.array([1.0, 0.0])  # strategy 1 (share / active), strategy 0


@dataclass(frozen=True)
class MeanFieldGame:
    """The data-sharing model with representative homogeneous agents on a complete graph.

    Every department and enterprise is an ordinary holder (volume 1, no grid, water or telecom
    specifics) linked to every other holder; every member of the public sees every holder.  At role
    shares (x, y, z) a holder's expected requests of one month are, for each pair of roles, the
    scenario's demand rate times its partners of that role, described as :class:`incentives.Requests`
    rows: one per path the rules can route the request by (catalogued unconditional, conditional or
    not shareable with chance θ·tier share; uncatalogued with (1 − θ)·tier share, where only the
    not-shareable tier differs, since arbitration never orders it shared) and per stance of the partner,
    weighted by the chance of each (the partner shares with the probability of its role's share).
    Δ of a holder's role is the sum of (share − hoard) of the role's own decision rules over the
    requests it receives (as provider) and files (as requester), exactly what
    ``DataSharingModel.strategy_payoffs`` sums over the month's actual requests.  The public's Δ is
    ``public.payoffs`` at the expected share of departments served and the expected incident rate.

    State is frozen: with ``long_run=False`` at the scenario's initial population means, with
    ``long_run=True`` at the fixed points the countermeasures drive the capabilities to (cognition,
    technology and security 1 where training or investment goes on; quality where technology's gain
    and remediation balance ageing: :func:`long_run_quality`), so that countermeasures acting through
    state show in the game.  Trust is the
    link's prior.  Levers are those the scenario's countermeasures (and any ``extra`` ones) set at
    ``step``; perception is each role's cognition.
    """

    scenario: Scenario
    step: int
    long_run: bool = False
    extra: tuple[Countermeasure, ...] = ()
    roles: tuple[str, str, str] = ("government", "enterprise", "public")
    name: str = field(init=False)

    def __post_init__(self) -> None:
        horizon = ", long run" if self.long_run else ""
        object.__setattr__(self, "name", f"mean field of {self.scenario.name}{horizon}")

    @cached_property
    def package(self) -> Package:
        return Package.of(self.scenario, self.extra)

    @cached_property
    def levers(self) -> incentives.Levers:
        return self.package.levers_at(self.step)

    @cached_property
    def capabilities(self) -> dict[str, float]:
        """Cognition per role, technology, security and quality per holder role of the representative agents."""
        p = self.scenario.parameters
        state = {"cognition_government": p.cognition_government, "cognition_enterprise": p.cognition_enterprise,
                 "cognition_public": p.cognition_public, "technology": p.technology_initial,
                 "security": p.security_initial, "quality_government": p.quality_government,
                 "quality_enterprise": p.quality_enterprise}
        if not self.long_run:
            return state
        rates = self.package.capability_rates_at(self.step)
        if rates.training > 0:
            state["cognition_government"] = state["cognition_enterprise"] = 1.0
        if rates.publicity > 0:
            state["cognition_public"] = 1.0
        if rates.technology > 0:
            state["technology"] = 1.0
        if rates.security > 0:
            state["security"] = 1.0
        for role in ("government", "enterprise"):
            state[f"quality_{role}"] = long_run_quality(p, state["technology"], state[f"quality_{role}"])
        return state

    @cached_property
    def partners(self) -> np.ndarray:
        """``partners[a, b]``: holders of role b a holder of role a is linked to on the complete graph."""
        pop = self.scenario.population
        sizes = np.array([pop.government, pop.enterprise], dtype=float)
        return sizes[None, :] - np.eye(2)

    @cached_property
    def demand(self) -> np.ndarray:
        """``demand[a, b]``: monthly chance a holder of role a asks a linked holder of role b (the
        scenario's role-level rates: an ordinary holder is no grid or water company)."""
        d = self.scenario.demand
        return np.array([[d.government_from_government, d.government_from_enterprise],
                         [d.enterprise_from_government, d.enterprise_from_enterprise]])

    @cached_property
    def tiers(self) -> tuple[float, float, float]:
        """A representative holder's tier mix (unconditional, conditional, not shareable), as the model
        initialises it around the means."""
        p = self.scenario.parameters
        open_ = min(p.open_share, 1.0 - p.restricted_share)
        return open_, 1.0 - open_ - p.restricted_share, p.restricted_share

    @cached_property
    def path_chance(self) -> np.ndarray:
        """Chance of each of :data:`PATHS` for a request to a representative holder."""
        theta, (open_, conditional, restricted) = self.levers.tiering, self.tiers
        return np.array([theta * open_, theta * conditional, theta * restricted,
                         (1.0 - theta) * (open_ + conditional), (1.0 - theta) * restricted])

    def requests(self, requester: Role, provider: Role, watched) -> incentives.Requests:
        """The requests a holder of ``requester``'s role files with one of ``provider``'s role, one row
        per (path, requester stance, provider stance), stances in the order (share, hoard); ``watched``
        (the share of the public participating) broadcasts over leading axes."""
        p, c = self.scenario.parameters, self.capabilities
        open_, conditional, restricted = self.tiers
        rows = np.array(list(itertools.product(range(len(PATHS)), range(2), range(2))))
        path, asks, gives = rows[:, 0], _STANCES[rows[:, 1]], _STANCES[rows[:, 2]]
        n = len(rows)
        trust = p.trust_initial + p.trust_government_bonus * (requester is Role.GOVERNMENT and provider is Role.GOVERNMENT)
        uncatalogued_refused = restricted > p.restricted_tolerance
        exposure = np.array([0.0, p.tiered_exposure, p.tiered_exposure, conditional + restricted, conditional + restricted])[path]
        not_shareable = np.array([False, False, True, uncatalogued_refused, uncatalogued_refused])[path]
        return incentives.Requests(
            size=np.full(n, p.request_share * 1.0), quality=np.full(n, c[f"quality_{provider.key}"]),
            technology=np.full(n, c["technology"]), security=np.full(n, c["security"]), trust=np.full(n, trust),
            exposure=exposure, automatic=path == 0, not_shareable=not_shareable,
            requester_shares=asks, provider_shares=gives,
            watched=np.asarray(watched, dtype=float)[..., None] * np.ones(n),
            perception=np.full(n, c[f"cognition_{requester.key}"]),
            restricted=np.array([0.0, 0.0, 1.0, 0.0, 1.0])[path])

    def weights(self, requester: Role, provider: Role, shares: np.ndarray, requester_stance=None,
                provider_stance=None) -> np.ndarray:
        """Chance of each row of :meth:`requests` (shape (..., rows)).  A side whose stance is given
        (1 or 0) has it for certain; otherwise it shares with its role's share."""
        def stance(role, given):
            if given is not None:
                return np.broadcast_to(np.array([given, 1.0 - given]), shares.shape[:-1] + (2,))
            s = shares[..., role]
            return np.stack([s, 1.0 - s], axis=-1)
        w = (self.path_chance[:, None, None] * stance(requester, requester_stance)[..., None, :, None]
             * stance(provider, provider_stance)[..., None, None, :])
        return w.reshape(shares.shape[:-1] + (-1,))

    def holder_advantage(self, role: Role, shares: np.ndarray) -> np.ndarray:
        """Δ of a representative holder of ``role``: (share − hoard) of its role's rules, summed over
        the requests it expects to receive and to file in a month."""
        p, lv, rule = self.scenario.parameters, self.levers, _RULES[role]
        z = shares[..., Role.PUBLIC]
        delta = np.zeros(shares.shape[:-1])
        for other in (Role.GOVERNMENT, Role.ENTERPRISE):
            # As provider: the rule evaluates both of the holder's own stances (provider_shares is not read).
            received = self.partners[role, other] * self.demand[other, role]
            share, hoard = rule.provider_payoffs(p, lv, self.requests(other, role, z))
            delta = delta + received * np.sum(self.weights(other, role, shares, provider_stance=1.0) * (share - hoard), axis=-1)
            # As requester: likewise for requester_shares.
            filed = self.partners[role, other] * self.demand[role, other]
            delta = delta + filed * np.sum(self.weights(role, other, shares, requester_stance=1.0)
                                           * self._requester_gain[role, other], axis=-1)
        return delta

    @cached_property
    def _requester_gain(self) -> dict[tuple[Role, Role], np.ndarray]:
        """(share − hoard) of the requester's rule per row; it does not depend on the shares."""
        p, lv = self.scenario.parameters, self.levers
        gains = {}
        for requester, provider in itertools.product((Role.GOVERNMENT, Role.ENTERPRISE), repeat=2):
            share, hoard = _RULES[requester].requester_payoffs(p, lv, self.requests(requester, provider, 0.0))
            gains[requester, provider] = share - hoard
        return gains

    @cached_property
    def _outcomes(self) -> dict[tuple[Role, Role], tuple[np.ndarray, np.ndarray]]:
        """Per row, the chance a request is fulfilled (escalation and arbitration included) and the
        chance it is fulfilled and leaks; neither depends on the shares."""
        p, lv = self.scenario.parameters, self.levers
        outcomes = {}
        for requester, provider in itertools.product((Role.GOVERNMENT, Role.ENTERPRISE), repeat=2):
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
        """Expected share of a department's requests that are fulfilled this month (what the public
        sees, ``DataSharingModel._served_share``): its requests to each role, weighted by how many it
        files there, fulfilled at that role's stance shares, for a department of either stance."""
        gov = Role.GOVERNMENT
        result = np.zeros(shares.shape[:-1])
        filed = {other: self.partners[gov, other] * self.demand[gov, other] for other in (gov, Role.ENTERPRISE)}
        total = sum(filed.values())
        if total == 0:
            return result
        for mine, weight in ((1.0, shares[..., gov]), (0.0, 1.0 - shares[..., gov])):
            done = sum(filed[other] * self.fulfilment(gov, other, shares, requester_stance=mine)[0] for other in filed)
            result = result + weight * done / total
        return result

    def incident_rate(self, shares: np.ndarray) -> np.ndarray:
        """Expected incidents per holder per month (the public's recent incident rate at its fixed point)."""
        pop = self.scenario.population
        sizes = {Role.GOVERNMENT: pop.government, Role.ENTERPRISE: pop.enterprise}
        total = np.zeros(shares.shape[:-1])
        for requester, provider in itertools.product(sizes, repeat=2):
            _, leaked = self.fulfilment(requester, provider, shares)
            total = total + sizes[requester] * self.partners[requester, provider] * self.demand[requester, provider] * leaked
        return total / (pop.government + pop.enterprise)

    def advantage(self, shares: np.ndarray) -> np.ndarray:
        p, lv, c = self.scenario.parameters, self.levers, self.capabilities
        shares = np.asarray(shares, dtype=float)
        participate, bystand = public.payoffs(p, lv, self.served(shares), p.privacy_concern,
                                              self.incident_rate(shares), c["cognition_public"])
        return np.stack([self.holder_advantage(Role.GOVERNMENT, shares), self.holder_advantage(Role.ENTERPRISE, shares),
                         participate - bystand], axis=-1)


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


def scenario_game(scenario: Scenario, long_run: bool = False, extra: tuple[Countermeasure, ...] = ()) -> MeanFieldGame:
    """The mean field at a month by which every countermeasure has ramped up fully."""
    return MeanFieldGame(scenario, Package.of(scenario, extra).full_strength_step, long_run, extra)


def scenario_start(scenario: Scenario) -> tuple[float, float, float]:
    p = scenario.parameters
    return (p.initial_active_government, p.initial_share_enterprise, p.initial_participation)


# ---------------------------------------------------------------------------------------------
# Replicator dynamics and equilibria


def replicator(game: PayoffFunction, shares: np.ndarray) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    return shares * (1.0 - shares) * game.advantage(shares)


@dataclass(frozen=True)
class Trajectory:
    t: np.ndarray
    shares: np.ndarray  # (len(t), 3)

    @property
    def end(self) -> np.ndarray:
        return self.shares[-1]


def solve(game: PayoffFunction, start, t_end: float, points: int = 201) -> Trajectory:
    """The replicator ODE dx_i/dt = x_i (1 - x_i) Δ_i(x) from ``start`` to ``t_end``."""
    t_eval = np.linspace(0.0, t_end, points)
    sol = solve_ivp(lambda _t, s: replicator(game, s), (0.0, t_end), np.asarray(start, float),
                    t_eval=t_eval, method="LSODA", rtol=1e-8, atol=1e-10)
    if not sol.success:
        raise RuntimeError(f"replicator ODE failed: {sol.message}")
    return Trajectory(sol.t, np.clip(sol.y.T, 0.0, 1.0))


@dataclass(frozen=True)
class Equilibrium:
    profile: tuple[float, float, float]
    eigenvalues: np.ndarray  # complex in general (interior points)

    @property
    def stable(self) -> bool:
        """Asymptotically stable (at a pure profile: evolutionarily stable) when every eigenvalue is negative."""
        return bool(np.all(self.eigenvalues.real < 0))


def pure_equilibria(game: PayoffFunction) -> list[Equilibrium]:
    """The 8 corners; at a corner the Jacobian is diagonal with entries (1 - 2 s_i) Δ_i."""
    deltas = game.advantage(CORNERS)
    return [Equilibrium(tuple(int(s) for s in corner), (1.0 - 2.0 * corner) * delta) for corner, delta in zip(CORNERS, deltas)]


def ess(game: PayoffFunction) -> list[tuple[int, int, int]]:
    return [eq.profile for eq in pure_equilibria(game) if eq.stable]


def jacobian(game: PayoffFunction, shares: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of the replicator field."""
    shares = np.asarray(shares, dtype=float)
    columns = [(replicator(game, shares + step * e) - replicator(game, shares - step * e)) / (2 * step) for e in np.eye(3)]
    return np.column_stack(columns)


def interior_equilibria(game: PayoffFunction, grid: int = 4, tol: float = 1e-9) -> list[Equilibrium]:
    """Points in the open cube where every Δ_i = 0, found by root finding from a grid of starts."""
    starts = (np.arange(grid) + 0.5) / grid
    found: list[np.ndarray] = []
    for guess in itertools.product(starts, repeat=3):
        sol = root(lambda s: game.advantage(s), np.array(guess))
        point = sol.x
        inside = np.all((point > tol) & (point < 1 - tol))
        if sol.success and inside and np.max(np.abs(game.advantage(point))) < 1e-8:
            if not any(np.max(np.abs(point - other)) < 1e-6 for other in found):
                found.append(point)
    return [Equilibrium(tuple(float(v) for v in point), np.linalg.eigvals(jacobian(game, point))) for point in found]


def max_advantage(game: PayoffFunction, points: int = 11) -> float:
    """Largest |Δ_i| over all roles on a grid of the unit cube (exact for a multilinear game: the
    extremes of a multilinear function lie at corners, which the grid contains; close for the mean
    field, whose Δ is smooth but not multilinear)."""
    axis = np.linspace(0.0, 1.0, points)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    return float(np.max(np.abs(game.advantage(grid))))


# ---------------------------------------------------------------------------------------------
# The agent-based run of a game


@dataclass(frozen=True)
class AbmRun:
    agents_per_role: int
    seed: int
    steps: int
    settled: bool
    scale: float  # the normalising constant M
    revision_rate: float  # share of agents revising per step; one step is revision_rate / M units of ODE time
    shares: np.ndarray  # (steps + 1, 3)

    @property
    def end(self) -> np.ndarray:
        return self.shares[-1]

    @property
    def ode_time(self) -> np.ndarray:
        return np.arange(len(self.shares)) * self.revision_rate / self.scale


def run_abm(game: PayoffFunction, start, agents_per_role: int, seed: int, max_steps: int = 20_000,
            revision_rate: float = 1.0) -> AbmRun:
    """N agents per role, well mixed; each step each agent revises with probability ``revision_rate``
    (default: all of them): it picks a random same-role agent and, if that one plays the other strategy,
    copies it with probability (payoff gain) / M, M = :func:`max_advantage` (one constant for all roles).
    Expected change per step: revision_rate · x (1 - x) Δ / M, an Euler step of the replicator equation
    of length revision_rate / M.  Stops when no agent can switch any more (each role monomorphic or
    indifferent) or after ``max_steps``."""
    rng = np.random.default_rng(seed)
    scale = max_advantage(game)
    # Exactly round(N x_i) agents start on strategy 1, so the run starts where the ODE does.
    ones = np.rint(np.asarray(start, float) * agents_per_role)[:, None]
    strategy = (np.arange(agents_per_role)[None, :] < ones).astype(np.int8)
    history = [strategy.mean(axis=1)]
    rows = np.arange(3)[:, None]
    settled = False
    for _ in range(max_steps):
        shares = history[-1]
        delta = game.advantage(shares)
        if np.all((shares == 0) | (shares == 1) | (np.abs(delta) <= 1e-12 * max(scale, 1e-300))):
            settled = True
            break
        model = strategy[rows, rng.integers(agents_per_role, size=(3, agents_per_role))]
        gain = np.where(model == 1, delta[:, None], -delta[:, None])
        chance = revision_rate * np.clip(gain / scale, 0.0, 1.0)
        switch = (model != strategy) & (rng.random((3, agents_per_role)) < chance)
        strategy = np.where(switch, model, strategy)
        history.append(strategy.mean(axis=1))
    return AbmRun(agents_per_role, seed, len(history) - 1, settled, scale, revision_rate, np.array(history))


# ---------------------------------------------------------------------------------------------
# One analysis, as the command line reports it


@dataclass(frozen=True)
class Analysis:
    game: PayoffFunction
    equilibria: list[Equilibrium]
    interior: list[Equilibrium]
    ode: Trajectory
    abm: AbmRun | None

    def as_json(self) -> dict:
        return {
            "roles": list(self.game.roles),
            "equilibria": [
                {"profile": list(eq.profile), "eigenvalues": [float(v.real) for v in eq.eigenvalues], "stable": eq.stable}
                for eq in self.equilibria
            ],
            "ess": [list(eq.profile) for eq in self.equilibria if eq.stable],
            "ode": {"start": _floats(self.ode.shares[0]), "t_end": float(self.ode.t[-1]), "end": _floats(self.ode.end)},
            "abm": None if self.abm is None else {
                "agents_per_role": self.abm.agents_per_role, "steps": self.abm.steps, "seed": self.abm.seed,
                "end": _floats(self.abm.end),
            },
        }


def _floats(values) -> list[float]:
    return [round(float(v), 6) for v in values]


# Three roles of this many agents take about 40 bytes each per step (strategies, partners drawn,
# random numbers): 10^7 per role is 1.2 GB, the most a laptop holds comfortably.
ABM_AGENTS_MAX = 10_000_000


def check_options(start, t_end: float, agents_per_role: int, seed: int) -> None:
    """Raise a ConfigError for a start outside the unit cube, a non-positive horizon, a negative N or seed."""
    values = np.asarray(start, dtype=float)
    if values.shape != (3,) or not np.all(np.isfinite(values)) or np.any((values < 0) | (values > 1)):
        raise ConfigError(f"--start: {list(start)} is not allowed: three shares, each in [0, 1]")
    if not (np.isfinite(t_end) and t_end > 0):
        raise ConfigError(f"--t-end: {t_end} is not allowed: a finite ODE horizon > 0")
    if not 0 <= agents_per_role <= ABM_AGENTS_MAX:
        raise ConfigError(f"--abm-agents: {agents_per_role} is not allowed: agents per role in [0, {ABM_AGENTS_MAX:,}]"
                          " (0 skips the run)")
    low, high = field_bounds(Scenario.model_fields["seed"])
    if not low <= seed <= high:
        raise ConfigError(f"--seed: {seed} is not allowed: int in {range_text(low, high)}")


def check_plot_path(out: str | Path) -> None:
    """Raise a ConfigError unless matplotlib can write ``out`` (told by its extension)."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise ConfigError(f"--plot: {out}: cannot write a {'.' + suffix if suffix else 'file without an extension'}"
                          f" file; the name must end in one of {', '.join('.' + f for f in sorted(formats))}")


def analyse(game: PayoffFunction, start, t_end: float, agents_per_role: int, seed: int) -> Analysis:
    check_options(start, t_end, agents_per_role, seed)
    abm = run_abm(game, start, agents_per_role, seed) if agents_per_role > 0 else None
    return Analysis(game, pure_equilibria(game), interior_equilibria(game), solve(game, start, t_end), abm)


def describe(analysis: Analysis) -> str:
    """The analysis as a short text report."""
    roles = ", ".join(analysis.game.roles)
    lines = [f"{analysis.game.name}  (shares playing strategy 1: {roles})", "pure equilibria (eigenvalues of the Jacobian):"]
    for eq in analysis.equilibria:
        values = "  ".join(f"{v.real:+.4f}" for v in eq.eigenvalues)
        lines.append(f"  {eq.profile}  {values}  {'ESS' if eq.stable else ''}")
    for eq in analysis.interior:
        point = ", ".join(f"{v:.4f}" for v in eq.profile)
        values = "  ".join(f"{v:.4f}" for v in eq.eigenvalues)
        lines.append(f"interior equilibrium ({point})  eigenvalues {values}  {'stable' if eq.stable else 'unstable'}")
    ode = analysis.ode
    lines.append(f"ODE  start {_floats(ode.shares[0])}  t_end {ode.t[-1]:g}  end {_floats(ode.end)}")
    if analysis.abm is not None:
        abm = analysis.abm
        state = "settled" if abm.settled else "step cap reached"
        lines.append(f"ABM  {abm.agents_per_role} agents/role  seed {abm.seed}  {abm.steps} steps ({state}, "
                     f"= ODE time {abm.ode_time[-1]:.1f})  end {_floats(abm.end)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Phase portrait


def plot_phase_portrait(game: PayoffFunction, out: str | Path, t_end: float, grid: int = 3) -> None:
    """Trajectories from a grid of starts in the unit cube, ESS marked, saved to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(7, 6))
    ax = fig.add_subplot(projection="3d")
    axis = np.linspace(0.1, 0.9, grid)
    stable = ess(game)
    colours = plt.get_cmap("tab10")
    for start in itertools.product(axis, repeat=3):
        path = solve(game, start, t_end).shares
        nearest = int(np.argmin(np.abs(CORNERS - path[-1]).sum(axis=1)))
        ax.plot(*path.T, color=colours(nearest % 10), linewidth=0.9, alpha=0.8)
        ax.scatter(*start, color="grey", s=6)
    for corner in CORNERS:
        is_ess = tuple(int(s) for s in corner) in stable
        ax.scatter(*corner, s=110 if is_ess else 25, marker="*" if is_ess else "o",
                   color="crimson" if is_ess else "lightgrey", edgecolor="black", depthshade=False, zorder=5)
    ax.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1))
    ax.set_xlabel(f"{game.roles[0]} (x)")
    ax.set_ylabel(f"{game.roles[1]} (y)")
    ax.set_zlabel(f"{game.roles[2]} (z)")
    marked = ", ".join(str(p) for p in stable) or "none"
    ax.set_title(f"{game.name}\nESS (red stars): {marked}", fontsize=10)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
