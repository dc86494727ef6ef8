"""Countermeasures are objects: one written here, in the test file alone, acts in the model and in
the mean-field game without any edit to ``simulation/``."""

from dataclasses import replace

import numpy as np
import pytest

from simulation.analyses.mean_field import complete_graph_game
from simulation.config.schema import CountermeasureSettings
from simulation.core.countermeasures import CapabilityRates, Countermeasure, Package
from simulation.core.model import DataSharingModel
from simulation.core.runner import timeseries_of


class InspectionDriveSettings(CountermeasureSettings):
    enabled: bool = True
    start: int = 2
    ramp: int = 0
    penalty: float = 2.0
    training_rate: float = 0.2
    budget: float = 3.0


class InspectionDrive(Countermeasure):
    """Inspections that fine detected hoarders, with training on the rules, at a fixed monthly budget."""

    name = "inspection_drive"

    def levers(self, levers, step):
        return replace(levers,
                       evaluation_penalty=levers.evaluation_penalty + self.settings.penalty * self.strength(step))

    def capability_rates(self, step):
        return CapabilityRates(training=self.settings.training_rate * self.strength(step))

    def budget(self, step, holders, public):
        return self.paid(step) * self.settings.budget


def drive(scenario):
    return InspectionDrive(InspectionDriveSettings(), scenario.parameters)


def run(scenario, seed, extra=(), steps=12):
    model = DataSharingModel(scenario, seed=seed, countermeasures=extra)
    for _ in range(steps):
        model.step()
    return model, timeseries_of(model)


def test_a_new_countermeasure_acts_in_the_model_through_its_own_object(baseline):
    _, without = run(baseline, seed=3)
    model, with_drive = run(baseline, seed=3, extra=[drive(baseline)])
    assert model.levers.evaluation_penalty == pytest.approx(2.0)
    # Row k of the timeseries is month k (row 0 the initial state).  It is paid from its start
    # month, and only what it spends is added to the baseline's outlays.
    spent = with_drive["countermeasure_cost"] - without["countermeasure_cost"]
    assert spent.tolist() == [0.0, 0.0] + [3.0] * 11
    # Its fines act on refusals from its start on (they are revenue, not outlays).
    assert with_drive["fines_collected"].iloc[:2].sum() == 0 < with_drive["fines_collected"].iloc[2:].sum()
    # Training raises cognition from its start on; before it, the two runs are the same run.
    assert with_drive["mean_cognition"].iloc[1] == without["mean_cognition"].iloc[1]
    assert with_drive["mean_cognition"].iloc[-1] > without["mean_cognition"].iloc[-1] + 0.1


def test_a_new_countermeasure_acts_in_the_game_through_the_same_object(baseline):
    shares = np.array([0.5, 0.5, 0.5])
    plain = complete_graph_game(baseline)
    with_drive = complete_graph_game(baseline, extra=(drive(baseline),))
    assert with_drive.step == 2  # its start + ramp is the month by which all are at full strength
    gain = with_drive.advantage(shares) - plain.advantage(shares)
    assert gain[1] > 0.1  # hoarding enterprises now risk a fine
    long_run = complete_graph_game(baseline, long_run=True, extra=(drive(baseline),))
    assert long_run.capabilities["cognition_enterprise"] == 1.0 > plain.capabilities["cognition_enterprise"]


def test_the_package_folds_the_scenarios_four_in_block_order(root):
    from simulation.config import load_scenario

    package = Package.of(load_scenario(root / "scenarios" / "all_countermeasures.yaml"))
    assert [c.name for c in package] == ["ecosystem", "mechanism", "cognition", "security"]
    assert all(c.enabled for c in package)
    assert package.levers_at(0).coordination < package.levers_at(package.full_strength_step).coordination
