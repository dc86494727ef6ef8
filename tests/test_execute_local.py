"""Local run processes without interpreter internals (issue 23): results come back through files,
so what the pool sends is too small to be cut in half by a kill, and the batch's executor code reads
no private attribute of Python's process pool."""

import pickle
import re
import select

import pandas as pd
import yaml

from simulation.experiments import cluster as cluster_module
from simulation.experiments import execute as execute_module
from simulation.experiments import pool as pool_module
from simulation.experiments.execute import open_executor, run_chunk
from simulation.experiments.plan import plan_experiment


def tiny_plan(folder, root):
    scenario = folder / "small.yaml"
    scenario.write_text(yaml.safe_dump({
        "extends": str(root / "scenarios" / "baseline.yaml"), "name": "small",
        "population": {"government": 8, "enterprise": 20, "public": 40, "water_companies": 5, "telecom_operators": 1},
    }), encoding="utf-8")
    experiment = folder / "experiment.yaml"
    experiment.write_text(yaml.safe_dump({"name": "tiny", "seed": 5, "replications": 2, "steps": 3,
                                          "scenarios": [str(scenario)]}), encoding="utf-8")
    return plan_experiment(experiment)


def test_a_local_result_crosses_the_pool_whole_and_unchanged(tmp_path, root):
    plan = tiny_plan(tmp_path, root)
    expected_runs, expected_series, _ = run_chunk(plan.runs)
    with open_executor(1, None) as pool:
        future = pool.submit(plan.runs)
        sent = future.result()
        runs, series, _ = pool.result(future)
        assert not list(pool.spool.iterdir())  # read once, then gone
    # What the pool sends back (this, a work id and two empty fields) fits in one atomic pipe write.
    assert len(pickle.dumps(sent)) < select.PIPE_BUF // 4
    pd.testing.assert_frame_equal(runs, expected_runs)
    pd.testing.assert_frame_equal(series, expected_series)


def test_the_executor_reads_no_private_attribute_of_the_process_pool():
    for module in (execute_module, pool_module, cluster_module):
        source = open(module.__file__, encoding="utf-8").read()
        private = re.findall(r"\.(_processes|_broken|_result_queue|_writer|_call_queue|_pending_work_items)\b", source)
        assert private == [], module.__name__
