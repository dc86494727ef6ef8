# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The analyst's tutorial: from a batch folder to a LaTeX table
#
# This notebook walks through what an analyst does with the simulator's results:
#
# 1. **load a batch folder** (what `make run` or `python -m simulation batch` writes) into pandas;
# 2. **reproduce a report figure** with the same function `python -m simulation report` uses;
# 3. **run a small sweep of your own** through the Python API (the batch runner, so the runs are
#    parallel, resumable and land in the same layout);
# 4. **compare the sweep's points** with confidence intervals, using common random numbers;
# 5. **export a LaTeX table** for a paper.
#
# `docs/tutorial.py` is the source of this notebook (a [jupytext](https://jupytext.readthedocs.io)
# percent script, easy to review in git); `docs/tutorial.ipynb` is rendered from it by
# `make tutorial`. `make test` executes the notebook at small sizes (`TUTORIAL_SMALL=1`), so every
# cell here runs against the current code. The model itself is described in `docs/ODD.md`.
#
# To open it: `.venv/bin/pip install jupyterlab`, then `.venv/bin/jupyter lab docs/tutorial.ipynb`.
# Work on a copy (say `results/my-analysis.ipynb`), so that the tutorial stays as it is.

# %% [markdown]
# ## Settings
#
# `SMALL` shrinks every batch so the whole notebook runs in seconds (the test suite sets
# `TUTORIAL_SMALL=1`); leave it off for numbers worth reporting. `OUT` is where this notebook
# writes its own batches and tables. `WORKERS` is the number of local processes (None: one per CPU).

# %% tags=["parameters"]
import os
from pathlib import Path

import simulation

SMALL = os.environ.get("TUTORIAL_SMALL", "0") not in ("", "0")
# The checkout's root, the folder holding scenarios/: the one this notebook is in (Jupyter starts in
# docs/), or else the one the simulation package was installed from (a copy of the notebook elsewhere).
ROOT = next((p for p in [Path.cwd(), *Path.cwd().parents, Path(simulation.__file__).resolve().parents[1]]
             if (p / "scenarios" / "baseline.yaml").is_file()), None)
if ROOT is None:
    raise FileNotFoundError("no scenarios/baseline.yaml here or where the simulation package is installed from:"
                            " open the notebook in the project's checkout")
OUT = Path(os.environ.get("TUTORIAL_OUT", ROOT / "results" / "tutorial"))
WORKERS = 1 if SMALL else None

# %%
# %matplotlib inline
import pandas as pd
import yaml

from simulation import load_scenario, run
from simulation.errors import ResultsMissing
from simulation.experiments.execute import execute
from simulation.experiments.figures import group_style, paper_style
from simulation.experiments.outcomes import final_year, horizon_filled
from simulation.experiments.plan import Plan, RunSpec, child_seeds, plan_experiment
from simulation.experiments.report import group_labels, time_series_figure
from simulation.experiments.results import export_csv, read_results
from simulation.experiments.statistics import describe

OUT.mkdir(parents=True, exist_ok=True)
pd.set_option("display.width", 120)

# %% [markdown]
# ## 1. Load a batch folder
#
# `make run` runs the experiment `scenarios/experiments/countermeasures.yaml` (the baseline, each
# of the four countermeasures alone and all four together, 30 replications of 60 months) into
# `results/countermeasures/`. If that folder holds a finished batch, we read it; otherwise we run
# the experiment now. With `SMALL` we run the same experiment shrunk to 3 replications of 24
# months, into `OUT`, and leave `results/countermeasures/` alone: whatever `OUT` held before, of
# another plan or code, is replaced (`replace_stale`), and a finished batch of this one is reused.
#
# An experiment is a small YAML file; shrinking it is editing a copy (its scenario paths are
# relative to the file, so the copy names them absolutely).

# %%
experiment_file = ROOT / "scenarios" / "experiments" / "countermeasures.yaml"
BATCH = ROOT / "results" / "countermeasures"
if SMALL:
    spec = yaml.safe_load(experiment_file.read_text(encoding="utf-8"))
    spec.update(replications=3, steps=24,
                scenarios=[str((experiment_file.parent / s).resolve()) for s in spec["scenarios"]])
    experiment_file = OUT / "countermeasures-small.yaml"
    experiment_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    BATCH = OUT / "countermeasures-small"

if SMALL:  # the tutorial's own batch: resumed, or started over if BATCH held another plan's or code's
    execute(plan_experiment(experiment_file), BATCH, workers=WORKERS, progress=False, replace_stale=True)
try:
    runs, timeseries, manifest = read_results(BATCH)
except ResultsMissing:
    print(f"no finished batch in {BATCH}: running {experiment_file.name} now")
    execute(plan_experiment(experiment_file), BATCH, workers=WORKERS, progress=False)
    runs, timeseries, manifest = read_results(BATCH)
if not (runs["status"] == "ok").any():
    raise RuntimeError(f"{BATCH}: no run finished; see the error column of {BATCH / 'runs.parquet'}")
print(f"{BATCH}: {len(runs)} runs, {len(timeseries)} monthly rows")

# %% [markdown]
# `read_results` returns three things, all read from the folder:
#
# - `runs` (`runs.parquet`): one row per run with its labels (`run_id, scenario, point,
#   replication, seed, steps, config_hash`, any swept values), `status` and `error` (a run that
#   raised is recorded as `failed`, not lost), and every run-level summary metric;
# - `timeseries` (`timeseries.parquet`): one row per run and month, every metric
#   (`docs/ODD.md` section 7 defines them);
# - `manifest` (`_manifest.json`): the experiment as given and resolved, the root seed, the code
#   version and the package versions the results were made with.
#
# They are plain parquet files: `pd.read_parquet(BATCH / "runs.parquet")` reads the same table.

# %%
print("code version:", manifest["code_version"], "| root seed:", manifest["seed"],
      "| mesa", manifest["packages"]["mesa"], "| baseline:", manifest["resolved"]["baseline"])
runs[["run_id", "scenario", "replication", "seed", "status", "cumulative_volume",
      "producer_integration", "islands", "time_to_lasting_integration"]].head()

# %% [markdown]
# Ordinary pandas from here on. Mean and spread of three outcomes per scenario over the runs that
# finished. `time_to_lasting_integration` is missing (`<NA>`) for a run that never integrated
# lastingly: `horizon_filled` counts such a run as the horizon (the restricted mean the report
# uses, see `simulation/experiments/outcomes.py`).

# %%
ok = runs[runs["status"] == "ok"]
outcomes = horizon_filled(ok, ["cumulative_volume", "producer_integration", "time_to_lasting_integration"])
outcomes.groupby(ok["scenario"], sort=False).agg(["mean", "std"]).round(3)

# %% [markdown]
# The monthly table is long (one row per run and month). A pivot gives one column per scenario,
# here the mean share of requests fulfilled in each month:

# %%
fulfilment = (timeseries.merge(ok[["run_id", "scenario"]], on="run_id")
              .pivot_table(index="step", columns="scenario", values="fulfilment_rate", aggfunc="mean", sort=False))
fulfilment.tail()

# %% [markdown]
# CSV instead of Parquet, for another tool: `python -m simulation export DIR --format csv` (or
# `export_csv`) writes `runs.csv` and `timeseries.csv` beside the Parquet files.

# %%
runs_csv, timeseries_csv = export_csv(BATCH)
assert len(pd.read_csv(runs_csv)) == len(runs)
runs_csv.name, timeseries_csv.name

# %% [markdown]
# ## 2. Reproduce a report figure
#
# `python -m simulation report DIR` writes every table and figure into `DIR/report/`. Each figure
# is a function of the tables above, so a figure can be redrawn here, restyled or restricted to
# some scenarios. The report labels each run by its group (the scenario, with its swept values if
# any) and gives each group a greyscale-safe style; then `time_series_figure` draws the monthly
# mean of sharing volume, largest component share and adoption with 95% confidence bands (with
# `SMALL`, 3 runs per scenario, the bands are wide; the 30 replications of `make run` narrow them).

# %%
labelled = runs.assign(group=group_labels(runs, ["scenario", *manifest["value_columns"]]))
finished = labelled[labelled["status"] == "ok"]
series = timeseries.merge(finished[["run_id", "group"]], on="run_id")
groups = list(dict.fromkeys(finished["group"]))
styles = {group: group_style(i, len(groups)) for i, group in enumerate(groups)}
with paper_style():
    figure = time_series_figure(series, groups, styles)
figure.savefig(OUT / "timeseries.png", dpi=100)
figure

# %% [markdown]
# ## 3. A sweep of your own through the Python API
#
# Question: how strongly does the mechanism countermeasure's fine (`evaluation_penalty`, per data
# unit of a refusal the evaluation finds) drive sharing? We sweep it over three values in the
# `mechanism` scenario, holding everything else at the scenario's values.
#
# A single run first, to see the API: `load_scenario` reads a scenario file and checks every
# override against the parameter table (a value out of range is a one-line error naming the field
# and the allowed range); `run` returns the monthly `timeseries`, the run-level `summary` and the
# Mesa `model`.

# %%
SCENARIO = ROOT / "scenarios" / "mechanism.yaml"
LEVER = "countermeasures.mechanism.evaluation_penalty"
one = run(load_scenario(SCENARIO, overrides={LEVER: 1.0}), seed=1, steps=12)
one.timeseries[["step", "requests_filed", "requests_granted", "fulfilment_rate", "sharing_volume"]].tail(3)

# %% [markdown]
# For many runs, build a `Plan` of `RunSpec`s and hand it to `execute`, the same runner `python -m
# simulation batch` uses: local processes (or a Dask cluster with `scheduler=`), finished chunks
# saved as they land (re-running the cell after an interruption resumes), a failing run recorded
# rather than fatal, and the same folder layout as above.
#
# **Common random numbers**: every point of the sweep reuses the same replication seeds, so the
# points differ only by the lever. Comparing replication by replication (paired) then removes much
# of the run-to-run noise. `child_seeds(root, n)` gives the seeds the batch runner itself uses.

# %%
PENALTIES = [0.0, 0.5, 1.0]
REPLICATIONS, STEPS = (4, 24) if SMALL else (20, 60)
seeds = child_seeds(7, REPLICATIONS)
specs = []
for point, penalty in enumerate(PENALTIES):
    scenario = load_scenario(SCENARIO, overrides={LEVER: penalty})
    for replication, seed in enumerate(seeds):
        specs.append(RunSpec(len(specs), scenario, seed, STEPS, replication, point, values={LEVER: penalty}))
plan = Plan("penalty-sweep", given={"lever": LEVER, "values": PENALTIES},
            resolved={"seed": 7}, runs=specs)
SWEEP = OUT / "penalty-sweep"
outcome = execute(plan, SWEEP, workers=WORKERS, progress=False, replace_stale=True)
print(f"{outcome.total} runs, {outcome.failed} failed, {outcome.skipped} already in {SWEEP}")

# %% [markdown]
# ## 4. Compare the points
#
# The sweep's folder reads like any batch. Run-level outcomes come from `runs`; the final-year
# means (a run's monthly metric averaged over its last 12 months, as in the report) from
# `final_year` on the timeseries.

# %%
sweep_runs, sweep_series, sweep_manifest = read_results(SWEEP)
sweep_runs = sweep_runs[sweep_runs["status"] == "ok"].join(final_year(sweep_series, by="run_id"), on="run_id")
OUTCOMES = {"final_year_volume": "volume, final year (units/month)",
            "fulfilment_overall": "requests fulfilled (share)",
            "producer_integration": "producer integration (share)",
            "total_countermeasure_cost": "countermeasure cost"}

rows = []
for penalty, members in sweep_runs.groupby(LEVER):
    for column, label in OUTCOMES.items():
        rows.append({"penalty": penalty, "outcome": label, **describe(members[column].to_numpy())})
by_point = pd.DataFrame(rows)
by_point.pivot(index="outcome", columns="penalty", values="mean").loc[list(OUTCOMES.values())].round(3)

# %% [markdown]
# The effect of each penalty over no penalty, paired by replication (same seed): the mean of the
# per-seed differences with its t-based 95% interval.

# %%
wide = sweep_runs.pivot(index="replication", columns=LEVER, values=list(OUTCOMES))
effects = []
for penalty in PENALTIES[1:]:
    for column, label in OUTCOMES.items():
        paired = (wide[(column, penalty)] - wide[(column, PENALTIES[0])]).dropna().to_numpy()
        effects.append({"penalty": penalty, "outcome": label, **describe(paired)})
effects = pd.DataFrame(effects)
effects.round(3)

# %% [markdown]
# ## 5. Export a LaTeX table
#
# `DataFrame.to_latex` (through Jinja2, pinned in `requirements.txt`) writes a `tabular` with a
# caption and a label for `\ref`. One row per outcome, one column per penalty: mean and 95% CI. The
# caption names the code version of the sweep's own runs (from its manifest).

# %%
def cell(row: pd.Series) -> str:
    return f"{row['mean']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"


table = (by_point.assign(value=by_point.apply(cell, axis=1))
         .pivot(index="outcome", columns="penalty", values="value").loc[list(OUTCOMES.values())])
table.columns = [f"penalty {p:g}" for p in table.columns]
table.index.name = None
latex = table.to_latex(
    column_format="l" + "r" * table.shape[1], escape=True, label="tab:penalty-sweep",
    caption=(f"Mechanism scenario, evaluation penalty swept: mean and 95\\% CI over {REPLICATIONS} runs of "
             f"{STEPS} months per value (common random numbers; code {sweep_manifest['code_version']})."))
(OUT / "penalty_sweep.tex").write_text(latex, encoding="utf-8")
print(latex)

# %% [markdown]
# `\input{penalty_sweep.tex}` in a paper (with `\usepackage{booktabs}`, which the table's rules
# need). For the report's own tables of every key outcome, with effects over the baseline, run
# `python -m simulation report DIR`: `DIR/report/summary.tex`.
#
# Where to go next: `README.md` (experiment files with grid, list and Latin-hypercube sweeps;
# sensitivity analysis; the policy frontier), `docs/countermeasures.md` (what each countermeasure
# does, with its measured effects) and `docs/ODD.md` (the model).
