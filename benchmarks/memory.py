"""Peak memory of runs and plans against the estimate that refuses sizes this machine cannot hold
(simulation/core/capacity.py).  Each case runs in a fresh process; its figure is the peak resident
memory minus the resident memory before the model or plan was built.  Prints one line per case:
the sizes, the measured bytes, the estimate, and the bytes per agent, link, cell or run implied.

    python -m benchmarks.memory
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from benchmarks.measure import ROOT, in_fresh_process, peak_rss_bytes

SCENARIO = ROOT / "scenarios" / "baseline.yaml"
STEPS = 3
RUN_CASES = {
    "default sizes": {},
    "many agents, few links": {"population.public": 300_000, "network.public_degree": 1},
    "many agents, more links": {"population.public": 300_000, "network.public_degree": 5},
    "dense departments": {"population.government": 2_000, "network.department_density": 0.5},
    "networkx small world": {"population.public": 100_000, "network.kind": "small_world", "network.mean_degree": 6},
}
PLAN_CASES = {
    "many replications": {"replications": 20_000},
    "large sweep grid": {"replications": 1, "sweep": {"method": "grid", "parameters": {
        "parameters.trust_gain": [round(0.01 * i, 2) for i in range(40)],
        "parameters.trust_loss": [round(0.01 * i, 2) for i in range(50)]}}},
}


def measure_run(overrides: dict) -> dict:
    from simulation import load_scenario
    from simulation.core import capacity
    from simulation.core.model import DataSharingModel

    scenario = load_scenario(SCENARIO, overrides)
    before = peak_rss_bytes()
    model = DataSharingModel(scenario, seed=1)
    for _ in range(STEPS):
        model.step()
    used = peak_rss_bytes() - before
    links = len(model.network.edges)
    holder_links = int((model.network.edges.max(axis=1) < model.layout.holders).sum()) if links else 0
    estimate = capacity.run_bytes(model.layout, scenario.network, STEPS)
    return {"agents": model.layout.total, "links": links, "holder_links": holder_links, "measured": used,
            "estimate": estimate}


def measure_plan(fields: dict) -> dict:
    from simulation.core import capacity
    from simulation.experiments.plan import plan_experiment

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "experiment.yaml"
        path.write_text(yaml.safe_dump({"name": "memory", "seed": 1, "scenarios": [str(SCENARIO)], **fields}))
        before = peak_rss_bytes()
        plan = plan_experiment(path)
        plan.digest()
        used = peak_rss_bytes() - before
    cells = len({run.point for run in plan.runs})
    return {"cells": cells, "runs": len(plan.runs), "measured": used,
            "estimate": capacity.plan_bytes(cells, len(plan.runs))}


def main() -> None:
    mib = 2**20
    for name, overrides in RUN_CASES.items():
        r = in_fresh_process(measure_run, overrides)
        print(f"{name:<24} {r['agents']:>9,} agents {r['links']:>10,} links ({r['holder_links']:,} between holders)"
              f"  measured {r['measured'] / mib:8.1f} MiB"
              f"  estimate {r['estimate'] / mib:8.1f} MiB  ({r['measured'] / r['agents']:,.0f} B/agent,"
              f" {r['measured'] / max(r['links'], 1):,.0f} B/link)")
    for name, fields in PLAN_CASES.items():
        r = in_fresh_process(measure_plan, fields)
        print(f"{name:<24} {r['cells']:>9,} cells {r['runs']:>10,} runs   measured {r['measured'] / mib:8.1f} MiB"
              f"  estimate {r['estimate'] / mib:8.1f} MiB  ({r['measured'] / r['runs']:,.0f} B/run,"
              f" {r['measured'] / r['cells']:,.0f} B/cell)")


if __name__ == "__main__":
    main()
