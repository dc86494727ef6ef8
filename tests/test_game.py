"""Evolutionary-game analysis: hand-derived games, the agent-based run of a game, docking of the main
model with its own mean field, and clear errors for bad game files."""

import json
import subprocess
import sys
import numpy as np
import pytest

from simulation import DataSharingModel, load_scenario
from simulation.cli import main
from simulation.config import ConfigError
from simulation.analyses.game import (
    CORNERS, MeanFieldGame, ess, interior_equilibria, load_game, max_advantage, pure_equilibria,
    run_abm, scenario_game, solve,
)
from agents import Role


@pytest.fixture(scope="module")
def games(root):
    return {name: load_game(root / "scenarios" / "games" / f"{name}.yaml")
            for name in ("coordination", "government_leads", "inspection_cycle")}


def nearest_corner(shares) -> tuple[int, ...]:
    return tuple(int(v) for v in CORNERS[np.argmin(np.abs(CORNERS - shares).sum(axis=1))])


# ------------------------------------------------------------------ hand-derived games (see the files' comments)

def test_table_game_advantage_is_the_payoff_gain_at_every_corner(games):
    game = games["government_leads"]
    t = game.table
    for a, b, c in CORNERS.astype(int):
        expected = [t[1, b, c, 0] - t[0, b, c, 0], t[a, 1, c, 1] - t[a, 0, c, 1], t[a, b, 1, 2] - t[a, b, 0, 2]]
        np.testing.assert_allclose(game.advantage(np.array([a, b, c], float)), expected)


def test_single_ess_at_full_sharing_reached_from_everywhere(games):
    game = games["government_leads"]
    assert ess(game) == [(1, 1, 1)]
    eigen = {eq.profile: eq.eigenvalues for eq in pure_equilibria(game)}
    np.testing.assert_allclose(eigen[(0, 0, 0)], [0.3, -0.2, -0.1])
    np.testing.assert_allclose(eigen[(1, 1, 0)], [-0.3, -0.4, 0.2])
    for start in [(0.05, 0.05, 0.05), (0.1, 0.9, 0.1), (0.5, 0.2, 0.9)]:
        assert nearest_corner(solve(game, start, 200).end) == (1, 1, 1)


def test_bistable_coordination_is_path_dependent(games):
    game = games["coordination"]
    assert ess(game) == [(0, 0, 0), (1, 1, 1)]
    assert all(np.allclose(np.abs(eq.eigenvalues), 0.5) for eq in pure_equilibria(game))
    below, above = solve(game, (0.65, 0.65, 0.65), 100).end, solve(game, (0.75, 0.75, 0.75), 100).end
    np.testing.assert_allclose(below, 0, atol=1e-3)
    np.testing.assert_allclose(above, 1, atol=1e-3)
    (saddle,) = interior_equilibria(game)
    np.testing.assert_allclose(saddle.profile, [np.sqrt(0.5)] * 3, atol=1e-6)
    assert not saddle.stable


def test_inspection_cycle_has_no_pure_ess_and_an_unstable_spiral(games):
    game = games["inspection_cycle"]
    assert ess(game) == []
    assert all((eq.eigenvalues > 0).sum() >= 1 for eq in pure_equilibria(game))
    (centre,) = interior_equilibria(game)
    np.testing.assert_allclose(centre.profile, [0.5, 0.5, 0.5], atol=1e-6)
    expected = 0.25 * np.roots([1, 0, 0, 1])  # eigenvalues of (1/4)·cyclic matrix: λ³ = −(1/4)³
    np.testing.assert_allclose(np.sort_complex(centre.eigenvalues), np.sort_complex(expected), atol=1e-6)
    near = solve(game, (0.52, 0.5, 0.5), 60).shares
    assert np.abs(near[-1] - 0.5).max() > 0.3  # trajectories spiral away from the interior point


# ------------------------------------------------------------------ the agent-based run of a game

@pytest.mark.parametrize("name, start", [
    ("coordination", (0.65, 0.65, 0.65)), ("coordination", (0.75, 0.75, 0.75)), ("government_leads", (0.1, 0.3, 0.2)),
])
def test_abm_ends_where_the_ode_ends(games, name, start):
    game = games[name]
    abm = run_abm(game, start, agents_per_role=1000, seed=3)
    assert abm.settled
    np.testing.assert_allclose(abm.end, solve(game, start, 300).end, atol=1e-3)


def test_abm_follows_the_ode_in_ode_time(games):
    """A step is revision_rate / M units of ODE time: with small steps and 2000 agents per role the
    path of the shares stays on the ODE's (measured gap <= 0.03 for seeds 1-3)."""
    game = games["government_leads"]
    abm = run_abm(game, (0.5, 0.3, 0.3), agents_per_role=2000, seed=2, revision_rate=0.05)
    ode = solve(game, (0.5, 0.3, 0.3), abm.ode_time[-1], points=len(abm.shares)).shares
    assert np.abs(abm.shares - ode).max() < 0.05


def test_abm_normalises_by_one_constant_for_all_roles(games):
    game = games["government_leads"]
    assert max_advantage(game) == pytest.approx(0.5)  # the largest |Δ| over all roles: departments at p = 1
    a = run_abm(game, (0.3, 0.3, 0.3), 200, seed=9)
    b = run_abm(game, (0.3, 0.3, 0.3), 200, seed=9)
    np.testing.assert_array_equal(a.shares, b.shares)


# ------------------------------------------------------------------ docking: the main model and its mean field

FROZEN = {
    "network.kind": "complete",
    "population.government": 30, "population.enterprise": 60, "population.public": 180,
    "population.water_companies": 0, "population.telecom_operators": 0,
    "parameters.quality_decay": 0, "parameters.technology_quality_gain": 0, "parameters.remediation_learning": 0,
    "parameters.trust_gain": 0, "parameters.trust_loss": 0, "parameters.incident_trust_loss": 0,
    "parameters.decay_probability": 0, "parameters.exploration": 0,
    "parameters.trust_initial": 0.6, "parameters.trust_spread": 0.0,  # above the threshold, so data flows
}
FULL_STRENGTH_AT_ONCE = {
    **{f"countermeasures.{block}.ramp": 0 for block in ("ecosystem", "mechanism", "cognition", "security")},
    "countermeasures.cognition.training_rate": 0, "countermeasures.cognition.publicity_rate": 0,
    "countermeasures.security.technology_investment": 0, "countermeasures.security.security_investment": 0,
    "parameters.imitation_scale": 3.0,  # above the largest |Δ| (about 2.9), so no switching probability is clipped
}


def frozen_model(scenario, seed: int) -> DataSharingModel:
    """The model with every agent at the representative state the mean field assumes."""
    p, g = scenario.parameters, scenario.population.government
    model = DataSharingModel(scenario, seed=seed)
    model.volume[:] = 1.0
    model.quality[:g], model.quality[g:] = p.quality_government, p.quality_enterprise
    model.technology[:], model.security[:] = p.technology_initial, p.security_initial
    model.restricted[:], model.open[:] = p.restricted_share, p.open_share
    model.conditional[:] = 1.0 - p.open_share - p.restricted_share
    model.cognition[:] = np.array([p.cognition_government, p.cognition_enterprise, p.cognition_public])[model.role]
    model.privacy_concern[:] = p.privacy_concern
    model.links.trust[:] = p.trust_initial
    model._mean_trust = None
    return model


def role_shares(model) -> np.ndarray:
    return np.array([model.strategy[model.role == r].mean() for r in Role])


def docking_paths(scenario, game, seeds, steps):
    """Seed-mean shares of the model and of the ODE from each run's own start, per step; one step of
    the model is revision_rate / imitation_scale units of ODE time."""
    p = scenario.parameters
    runs, odes = [], []
    for seed in seeds:
        model = frozen_model(scenario, seed)
        path = [role_shares(model)]
        for _ in range(steps):
            model.step()
            path.append(role_shares(model))
        runs.append(path)
        odes.append(solve(game, path[0], steps * p.revision_rate / p.imitation_scale, points=steps + 1).shares)
    return np.mean(runs, axis=0), np.mean(odes, axis=0)


DOCKING = [
    ("baseline.yaml", {}, (0.6, 0.5, 0.5)),
    ("all_countermeasures.yaml", FULL_STRENGTH_AT_ONCE, (0.2, 0.1, 0.1)),
]


@pytest.mark.slow
@pytest.mark.parametrize("file, extra, start", DOCKING)
def test_model_on_a_complete_graph_follows_its_mean_field(root, file, extra, start):
    starts = dict(zip(("initial_active_government", "initial_share_enterprise", "initial_participation"), start))
    overrides = {**FROZEN, **extra, **{f"parameters.{k}": v for k, v in starts.items()}}
    scenario = load_scenario(root / "scenarios" / file, overrides)
    game = scenario_game(scenario)
    assert max_advantage(game) <= scenario.parameters.imitation_scale  # no switching probability is clipped
    # Ten seeds: with a few dozen agents per role one run's path is noisy (measured seed-mean gap <= 0.04).
    model, ode = docking_paths(scenario, game, seeds=range(1, 11), steps=120)
    assert np.abs(model - ode).max() < 0.08
    # The same check rejects a mean field that ignores cognition (perception 1 for every role).
    p = scenario.parameters
    seeing = {"cognition_government": 1.0, "cognition_enterprise": 1.0, "cognition_public": 1.0}
    blind = scenario.model_copy(update={"parameters": p.model_copy(update=seeing)})
    wrong = solve(MeanFieldGame(blind, game.step), model[0], 120 * p.revision_rate / p.imitation_scale, points=121).shares
    assert np.abs(model - wrong).max() > 0.15


# ------------------------------------------------------------------ bad game files

GOOD = """name: t
roles: [government, enterprise, public]
strategies: {government: [passive, active], enterprise: [hoard, share], public: [bystander, participate]}
payoffs:
  "000": [0, 0, 0]
  "001": [0, 0, 1]
  "010": [0, 1, 0]
  "011": [0, 1, 1]
  "100": [1, 0, 0]
  "101": [1, 0, 1]
  "110": [1, 1, 0]
  "111": [1, 1, 1]
start: [0.5, 0.5, 0.5]
"""

BAD = [
    (GOOD.replace('  "011": [0, 1, 1]\n', ""), "payoffs: a mapping is not allowed: all 8 profiles are required; missing 011"),
    (GOOD.replace('"010"', "010"), "profile key 8 is not one of"),
    (GOOD.replace("start: [0.5, 0.5, 0.5]", "start: [0.5, 1.5, 0.5]"), "start.1"),
    (GOOD.replace("start: [0.5, 0.5, 0.5]", "start: [0.5, 0.5]"), "start"),
    (GOOD.replace('"101": [1, 0, 1]', '"101": [1, .nan, 1]'), "payoffs.101.1"),
    (GOOD.replace('"101": [1, 0, 1]', '"101": [1, 0]'), "payoffs.101"),
    (GOOD.replace("public: [bystander, participate]", "citizen: [bystander, participate]"), "strategies: a mapping is not allowed: strategies must name"),
    (GOOD.replace("enterprise: [hoard, share]", "enterprise: [hoard, share, sell]"), "strategies.enterprise"),
    (GOOD.replace("name: t", "name: t\nstrat: 1"), "strat: unknown key"),
    (GOOD.replace("roles: [government, enterprise, public]", "roles: [government, government, public]"), "roles: ['government', 'government', 'public'] is not allowed: roles must be three distinct names"),
    (GOOD.replace("name: t", "name: !!python/object:os.system t"), "not allowed"),
]


def test_good_game_file_loads(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert load_game(path).table.shape == (2, 2, 2, 3)


@pytest.mark.parametrize("text, expected", BAD)
def test_bad_game_file_gives_a_clear_error(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_game(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message


# ------------------------------------------------------------------ the command line

def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "simulation", "game", *args], cwd=root, capture_output=True,
                          text=True, timeout=300)


def test_game_json_is_one_object_with_the_documented_keys(root):
    proc = cli(root, "scenarios/games/coordination.yaml", "--start", "0.8", "0.8", "0.8", "--abm-agents", "200",
               "--seed", "5", "--t-end", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["roles", "equilibria", "ess", "ode", "abm"]
    assert len(out["equilibria"]) == 8 and all(len(eq["eigenvalues"]) == 3 for eq in out["equilibria"])
    assert out["ess"] == [[0, 0, 0], [1, 1, 1]]
    assert out["ode"] == {"start": [0.8, 0.8, 0.8], "t_end": 50.0, "end": [1.0, 1.0, 1.0]}
    assert out["abm"]["agents_per_role"] == 200 and out["abm"]["seed"] == 5 and out["abm"]["end"] == [1.0, 1.0, 1.0]


def test_game_scenario_mean_field_and_plot(root, tmp_path):
    png = tmp_path / "phase.png"
    proc = cli(root, "--scenario", "scenarios/baseline.yaml", "--abm-agents", "0", "--json", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["abm"] is None and out["roles"] == ["government", "enterprise", "public"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, expected", [
    (["scenarios/games/missing.yaml"], "file not found"),
    (["scenarios/games/coordination.yaml", "--start", "0.5", "2", "0.5"], "--start"),
    (["scenarios/games/coordination.yaml", "--t-end", "0"], "--t-end"),
    ([], "give either"),
    (["scenarios/games/coordination.yaml", "--seed", "-1"], "--seed"),
    (["scenarios/games/coordination.yaml", "--set", "parameters.revision_rate=0.5"], "needs --scenario"),
    (["--scenario", "scenarios/baseline.yaml", "--set", "parameters.revision_rat=0.5"], "did you mean"),
])
def test_game_bad_input_exits_2_with_one_clear_line(root, monkeypatch, capsys, args, expected):
    monkeypatch.chdir(root)
    assert main(["game", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and len(err.strip().splitlines()) == 1


def test_bad_game_file_via_cli(root, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace('  "111": [1, 1, 1]\n', ""))
    proc = cli(root, str(path))
    assert proc.returncode == 2 and "missing 111" in proc.stderr and "Traceback" not in proc.stderr


def test_long_run_mean_field_shows_countermeasures_that_act_through_state(root):
    """Cognition and security change capabilities, not payoff levers: only the long-run mean field
    (capabilities at the levels the countermeasures drive them to) sees them."""
    from simulation import load_scenario

    for name, new_ess in (("cognition", (1, 1, 1)), ("security", (1, 1, 0))):
        scenario = load_scenario(root / "scenarios" / f"{name}.yaml")
        assert new_ess not in ess(scenario_game(scenario))
        assert new_ess in ess(scenario_game(scenario, long_run=True))
    baseline = load_scenario(root / "scenarios" / "baseline.yaml")
    assert ess(scenario_game(baseline, long_run=True)) == ess(scenario_game(baseline))
