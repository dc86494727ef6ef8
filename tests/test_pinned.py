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
    ("baseline", 1, {}, "873d300f8ec71d96", 156.75572900340396, 105, 0.0, 0.11666666666666667),
    ("all_countermeasures", 3, {}, "e44578a58df10320", 1587.8898364555112, 4, 85.78648203095918, 0.7666666666666667),
    ("ecosystem", 2, {"network.kind": "small_world"}, "24a330c841065c2d", 263.840084892116, 15, 6.209807720788813, 0.35),
    ("mechanism", 4, {"parameters.learning_rule": "logit"}, "e890d917750acf02", 514.3831770330668, 70, 2.989715393048984, 0.6916666666666667),
    ("security", 5, {}, "2a77e11032f7f554", 213.66677070959832, 104, 14.4, 0.05),
    ("cognition", 6, {"network.kind": "scale_free"}, "5fdef863f237b5b0", 8.288416470891587, 118, 3.216, 0.13333333333333333),
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
