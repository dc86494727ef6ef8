"""Pins whole runs to values recorded from main before a restructure: a refactor that changes any
bit of any metric of any step fails here.  A change to the model itself re-records them on purpose
(say so in the commit)."""

import hashlib

import pytest

from simulation import load_scenario, run

# (scenario, seed, overrides, sha256 of the 36-month timeseries, final cumulative volume, islands,
#  countermeasure cost of the last month, holder adoption); recorded at commit 4c031fe.
PINNED = [
    ("baseline", 1, {}, "8545af009e04e71a", 1960.7673834914526, 104, 0.0, 0.10833333333333334),
    ("all_countermeasures", 3, {}, "bf8ec0bb429d901f", 40546.41498550817, 1, 155.816, 0.9083333333333333),
    ("ecosystem", 2, {"network.kind": "small_world"}, "7d5c651da8eb1aa3", 72.92349646316914, 118, 9.8, 0.041666666666666664),
    ("mechanism", 4, {"parameters.learning_rule": "logit"}, "6cde984370074128", 12984.651213656467, 70, 37.449999999999996, 0.8),
    ("security", 5, {}, "0ec92b08876ad3e9", 8124.572564970628, 37, 14.4, 0.09166666666666666),
    ("cognition", 6, {"network.kind": "scale_free"}, "e33841aff7037847", 43.91138694557449, 120, 3.216, 0.075),
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
