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
# Issue 13 added eight metric columns (waits by tier, telecom volume, producer integration by role):
# the digests were re-recorded after checking that the timeseries without the new columns still hash
# to the earlier digests, so every earlier metric of every step is unchanged.
PINNED = [
    ("baseline", 1, {}, "ca43fa1ac9d2b816", 60.36191558436751, 110, 0.0, 0.058333333333333334),
    ("all_countermeasures", 3, {}, "edf68c505cffd431", 1621.254169324801, 3, 83.2879982181022, 0.65),
    ("ecosystem", 2, {"network.kind": "small_world"}, "59303959c8524d70", 221.6422969386303, 23, 5.738522159565019, 0.25),
    ("mechanism", 4, {"parameters.learning_rule": "logit"}, "c77bae0eaef2b13f", 425.0589393320885, 78, 2.983435232883037, 0.65),
    ("security", 5, {}, "86cd57d4323a10e0", 234.6717256226481, 85, 14.4, 0.08333333333333333),
    ("cognition", 6, {"network.kind": "scale_free"}, "6083fb111d4aacbc", 3.5672379188688463, 120, 3.216, 0.15833333333333333),
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
