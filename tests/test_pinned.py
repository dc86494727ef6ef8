"""Pins whole runs to values recorded from main before a restructure: a refactor that changes any
bit of any metric of any step fails here.  A change to the model itself re-records them on purpose
(say so in the commit)."""

import hashlib

import pytest

from simulation import load_scenario, run

# (scenario, seed, overrides, sha256 of the 36-month timeseries, final cumulative volume, islands,
#  countermeasure cost of the last month, holder adoption); recorded for Model 2 (requests under
#  the published sharing rules).  Issue 11's restructure kept the earlier model's values, recorded
#  at commit 4c031fe, bit-identical; Model 2 changed the model on purpose and re-recorded them.
PINNED = [
    ("baseline", 1, {}, "b9c9b1edb5d734f3", 67.89082908318916, 104, 0.0, 0.175),
    ("all_countermeasures", 3, {}, "759fb5985cf1efd0", 1430.833507586653, 5, 64.88766329549276, 0.20833333333333334),
    ("ecosystem", 2, {"network.kind": "small_world"}, "9141a78fd37a454a", 262.1183001811703, 19, 6.420736495059409, 0.25833333333333336),
    ("mechanism", 4, {"parameters.learning_rule": "logit"}, "d5bbcead3a4ca61a", 456.8628943325599, 83, 2.4427470503884328, 0.5833333333333334),
    ("security", 5, {}, "a378b4f1ee4ca966", 268.97128692542947, 84, 14.4, 0.10833333333333334),
    ("cognition", 6, {"network.kind": "scale_free"}, "50fcd9dd40eaad3c", 8.70319394497976, 118, 3.216, 0.14166666666666666),
]


@pytest.mark.parametrize("name, seed, overrides, digest, volume, islands, cost, adoption", PINNED,
                         ids=[f"{case[0]}-{case[1]}" for case in PINNED])
def test_run_is_bit_identical_to_the_recorded_one(root, name, seed, overrides, digest, volume, islands, cost, adoption):
    result = run(load_scenario(root / "scenarios" / f"{name}.yaml", overrides), seed=seed, steps=36)
    summary = result.summary
    assert (summary["cumulative_volume"], summary["islands"], summary["countermeasure_cost"],
            summary["adoption_holders"]) == (volume, islands, cost, adoption)
    values = result.timeseries.to_numpy(dtype="float64").tobytes()
    assert hashlib.sha256(values).hexdigest()[:16] == digest
