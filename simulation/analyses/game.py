"""Tripartite evolutionary games (docs/game.md).

Three roles, two strategies each; ``x = (x_0, x_1, x_2)`` is the share of each role playing strategy 1.
A *payoff function* is anything with ``roles`` and ``advantage(shares) -> Δ``, the payoff of strategy 1
minus strategy 0 for each role, vectorised over leading axes of ``shares``.  Two kinds implement it:

* :class:`TableGame`, a game from a payoff table (a ``scenarios/games/*.yaml`` file), multilinear in x;
* :class:`~simulation.analyses.mean_field.MeanFieldGame`, the data-sharing model reduced to
  representative agents on the role-to-role mixing of the scenario's network (docs/ODD.md section 6).

Everything here (the replicator ODE, the 8 pure equilibria and their stability, interior
equilibria, the agent-based run of the game, the phase portrait) takes a payoff function, so a game
from the literature and our own model are analysed by one code path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from scipy.integrate import solve_ivp
from scipy.optimize import root

from simulation.config import Scenario, field_bounds, read_validated
from simulation.config.schema import range_text
from simulation.errors import ArgumentError

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
# Payoffs are relative: multiplying all of them by a positive number only rescales time.  Measured:
# payoffs of 1e12 are analysed in under 2 s; at 1e100 the solver overflows, and near 1e300 (whose
# differences are infinite) it never ends.  So a game file's payoffs stay within this bound.
MAX_PAYOFF = 1e12
Payoff = Annotated[float, Field(ge=-MAX_PAYOFF, le=MAX_PAYOFF)]
Triple = Annotated[list[Payoff], Field(min_length=3, max_length=3)]


class GameFile(BaseModel):
    """A ``scenarios/games/*.yaml`` file: exactly name, roles, strategies, payoffs and start."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    name: str = Field(description="game name")
    roles: Annotated[list[str], Field(min_length=3, max_length=3)] = Field(
        description="three distinct role names, the order of profile keys and payoff lists")
    strategies: dict[str, Pair] = Field(description="two strategy names per role, strategy 0 first")
    payoffs: dict[str, Triple] = Field(
        description='payoff to each role at each of the 8 profiles "000" .. "111", one strategy index per role'
    )
    start: Annotated[list[Share], Field(min_length=3, max_length=3)] = Field(
        description="initial share playing strategy 1, per role, each in [0, 1]")

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
    return [Equilibrium(tuple(int(s) for s in corner), (1.0 - 2.0 * corner) * delta)
            for corner, delta in zip(CORNERS, deltas)]


def ess(game: PayoffFunction) -> list[tuple[int, int, int]]:
    return [eq.profile for eq in pure_equilibria(game) if eq.stable]


def jacobian(game: PayoffFunction, shares: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of the replicator field."""
    shares = np.asarray(shares, dtype=float)
    columns = [(replicator(game, shares + step * e) - replicator(game, shares - step * e)) / (2 * step)
               for e in np.eye(3)]
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
                {"profile": list(eq.profile), "eigenvalues": [float(v.real) for v in eq.eigenvalues],
                 "stable": eq.stable}
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
    """Raise an ArgumentError (naming the argument) for a start outside the unit cube, a non-positive
    horizon, a negative N or seed."""
    values = np.asarray(start, dtype=float)
    if values.shape != (3,) or not np.all(np.isfinite(values)) or np.any((values < 0) | (values > 1)):
        raise ArgumentError("start", f"{list(start)} is not allowed: three shares, each in [0, 1]")
    if not (np.isfinite(t_end) and t_end > 0):
        raise ArgumentError("t_end", f"{t_end} is not allowed: a finite ODE horizon > 0")
    if not 0 <= agents_per_role <= ABM_AGENTS_MAX:
        raise ArgumentError("agents_per_role", f"{agents_per_role} is not allowed: agents per role in"
                            f" [0, {ABM_AGENTS_MAX:,}] (0 skips the run)")
    low, high = field_bounds(Scenario.model_fields["seed"])
    if not low <= seed <= high:
        raise ArgumentError("seed", f"{seed} is not allowed: int in {range_text(low, high)}")


def check_plot_path(out: str | Path) -> None:
    """Raise an ArgumentError naming ``out`` unless matplotlib can write it (told by its extension)."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise ArgumentError("out", f"{out}: cannot write a {'.' + suffix if suffix else 'file without an extension'}"
                            f" file; the name must end in one of {', '.join('.' + f for f in sorted(formats))}")


def analyse(game: PayoffFunction, start, t_end: float, agents_per_role: int, seed: int) -> Analysis:
    check_options(start, t_end, agents_per_role, seed)
    abm = run_abm(game, start, agents_per_role, seed) if agents_per_role > 0 else None
    return Analysis(game, pure_equilibria(game), interior_equilibria(game), solve(game, start, t_end), abm)


def describe(analysis: Analysis) -> str:
    """The analysis as a short text report."""
    roles = ", ".join(analysis.game.roles)
    lines = [f"{analysis.game.name}  (shares playing strategy 1: {roles})",
             "pure equilibria (eigenvalues of the Jacobian):"]
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

    from simulation.experiments.figures import PLAIN_TEXT

    with matplotlib.rc_context(PLAIN_TEXT):
        _draw_phase_portrait(plt, game, Path(out), t_end, grid)


def _draw_phase_portrait(plt: Any, game: PayoffFunction, out: Path, t_end: float, grid: int) -> None:
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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
