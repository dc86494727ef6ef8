"""The batch runner in one import, for scripts and the benchmarks: plan runs (:mod:`.plan`),
execute them in parallel and resumably (:mod:`.execute`) into a results folder (:mod:`.results`)."""

from simulation.experiments.execute import BatchOutcome, execute
from simulation.experiments.plan import Plan, RunSpec, child_seeds, plan_experiment
from simulation.experiments.results import export_csv, read_manifest

__all__ = ["BatchOutcome", "Plan", "RunSpec", "child_seeds", "execute", "export_csv", "plan_experiment",
           "read_manifest"]
