"""Global sensitivity analysis of scenario parameters: Morris screening and Sobol indices (SALib).

A spec file (``scenarios/sensitivity/*.yaml``) names a scenario, a method, the parameters with their
``[low, high]`` ranges, the outputs and the size of the design.  SALib draws the design from the
spec's seed; every design point becomes a scenario (integer parameters rounded), run ``replications``
times through the batch runner (:mod:`simulation.analyses.study`; the study's protocol is
:mod:`simulation.analyses.protocol`), so the runs are parallel,
resumable and cluster-ready and land in the batch layout of ``DIR``.  Each point's outputs are
averaged over its replications before the indices are computed; every point uses the same
replication seeds (common random numbers).

Outputs are run-level figures: the final value of a metric, or ``time_to_lasting_integration`` /
``time_to_half_adoption``, where a run that never gets there counts as the horizon.

Sobol indices are first-order and total (``S1``, ``ST``): the design is Saltelli's without the
second-order columns, N·(D+2) points instead of N·(2D+2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simulation.analyses.protocol import Execution, Input, PlanSize
from simulation.analyses.study import RangesSpec, SpecFile, plan_points, point_means, short, validate_spec
from simulation.experiments.figures import paper_style, save
from simulation.experiments.folder import named_folder
from simulation.experiments.plan import Plan
from simulation.experiments.results import RUNS, record_derived
from simulation.experiments.sampling import problem_of, salib_design, salib_points
from simulation.experiments.store import atomic_path

INDEX_COLUMNS = {"morris": ("mu_star", "mu_star_conf", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}
INDICES = "indices.csv"
CONF_LEVEL = 0.95
RESAMPLES = 1000


# ---------------------------------------------------------------------------------------------
# Spec files


class SensitivitySpec(RangesSpec):
    method: Literal["morris", "sobol"] = Field(description="morris: elementary effects; sobol: variance-based indices")
    samples: int = Field(ge=2, le=1_000_000, description="Morris: trajectories; Sobol: base samples N (a power of 2)")
    levels: int = Field(4, ge=2, le=1000, description="Morris: levels of the grid (even)")
    outputs: list[str] = Field(min_length=1, description="run-level outputs: final metric values, run-level figures"
                                                         " such as fulfilment_overall, or time_to_lasting_integration")

    @model_validator(mode="after")
    def _design_fits_method(self) -> "SensitivitySpec":
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol needs samples N a power of 2 (Sobol' sequence balance), got {self.samples}")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"morris needs an even number of levels, got {self.levels}")
        return self


def load_sensitivity(path: str | Path) -> tuple[dict[str, Any], SensitivitySpec]:
    return validate_spec(SensitivitySpec, Path(path))


# ---------------------------------------------------------------------------------------------
# Designs and indices (shared by the model and by analytic test functions)


def index_table(method: str, problem: dict[str, Any], x: np.ndarray, y: pd.DataFrame, levels: int,
                seed: int) -> pd.DataFrame:
    """One row per output and parameter, with the method's index columns (NaN for a constant output)."""
    from SALib.analyze import morris, sobol

    frames = []
    for output in y.columns:
        values = y[output].to_numpy(dtype=float)
        if np.ptp(values) == 0:  # no variance to apportion: every index is undefined
            result = {c: np.full(problem["num_vars"], np.nan) for c in INDEX_COLUMNS[method]}
        elif method == "morris":
            result = morris.analyze(problem, x, values, num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                    num_levels=levels, seed=seed)
        else:
            result = sobol.analyze(problem, values, calc_second_order=False, num_resamples=RESAMPLES,
                                   conf_level=CONF_LEVEL, seed=seed)
        frame = pd.DataFrame({c: np.asarray(result[c], dtype=float) for c in INDEX_COLUMNS[method]})
        frames.append(frame.assign(output=output, parameter=problem["names"]))
    return pd.concat(frames, ignore_index=True)[["output", "parameter", *INDEX_COLUMNS[method]]]


def design(method: str, parameters: dict[str, list[float]], samples: int, levels: int, seed: int
           ) -> tuple[dict[str, Any], np.ndarray, list[dict[str, float]]]:
    """SALib's problem, its design drawn from ``seed``, and the design's points (parameter -> value)."""
    problem = problem_of(parameters)
    x = salib_design(method, problem, samples, levels, seed)
    return problem, x, [dict(zip(problem["names"], map(float, row))) for row in x]


def indices(method: str, parameters: dict[str, list[float]], samples: int, levels: int, seed: int,
            evaluate: Callable[[list[dict[str, float]]], pd.DataFrame]) -> pd.DataFrame:
    """Draw the design, evaluate every point (a mapping of parameter to value), analyse."""
    problem, x, points = design(method, parameters, samples, levels, seed)
    return index_table(method, problem, x, evaluate(points), levels, seed)


def ranking(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Parameters ordered by their influence on each output (mu* for Morris, ST for Sobol)."""
    key = "mu_star" if method == "morris" else "ST"
    return table.sort_values(["output", key], ascending=[True, False], kind="stable", na_position="last")


# ---------------------------------------------------------------------------------------------
# The study


@dataclass
class SensitivityResult:
    out: Path
    spec: SensitivitySpec
    table: pd.DataFrame
    written: list[Path]
    runs: int

    def describe(self) -> str:
        """The ranking per output, most influential first, and what was written."""
        key = "mu_star" if self.spec.method == "morris" else "ST"
        lines = [f"{self.spec.name}: {self.spec.method}, {self.runs} runs; parameters ranked by {key}"]
        for output, rows in self.table.groupby("output", sort=False):
            lines.append(f"  {output}")
            lines += [f"    {i}. {short(r.parameter):<40} {getattr(r, key):.4g}"
                      for i, r in enumerate(rows.itertuples(), 1)]
        lines.append(f"wrote {', '.join(str(p) for p in self.written)}; runs in {self.out}/runs.parquet")
        return "\n".join(lines)


class Sensitivity:
    """Morris or Sobol indices of a spec's parameters (a planned study: the design is drawn up front)."""

    name = "sensitivity"
    help = "Morris or Sobol sensitivity indices of scenario parameters (SALib)"
    inputs = (Input("spec", "sensitivity spec (scenarios/sensitivity/levers_*.yaml)", positional=True),)
    spec_key = "method"
    block = doc_example = None
    doc_replaces_output = False
    keeps_runs = True

    def load(self, spec: str | Path) -> SpecFile[SensitivitySpec]:
        return SpecFile(Path(spec), *load_sensitivity(spec))

    def folder(self, loaded: SpecFile[SensitivitySpec]) -> Path:
        return named_folder("results", loaded.spec.name)

    def size(self, loaded: SpecFile[SensitivitySpec]) -> PlanSize:
        spec = loaded.spec
        points = salib_points(spec.method, len(spec.parameters), spec.samples)
        return PlanSize(points, points * spec.replications, str(loaded.path))

    def plan(self, loaded: SpecFile[SensitivitySpec]) -> Plan:
        spec = loaded.spec
        _, _, points = design(spec.method, spec.parameters, spec.samples, spec.levels, spec.seed)
        return plan_points(loaded.path, spec, loaded.given, points)

    def analyse(self, out: Path, loaded: SpecFile[SensitivitySpec], execution: Execution) -> SensitivityResult:
        """The indices of the finished design in ``out``, written with their figures."""
        spec = loaded.spec
        problem, x, _ = design(spec.method, spec.parameters, spec.samples, spec.levels, spec.seed)
        y = point_means(out, spec.outputs)
        table = ranking(index_table(spec.method, problem, x, y, spec.levels, spec.seed), spec.method)
        with atomic_path(out / INDICES) as tmp:
            table.to_csv(tmp, index=False)
        written = [out / INDICES, *figures(table, spec.method, out)]
        record_derived(out, written)  # so that a restart removes them with the runs they came from
        runs = len(pd.read_parquet(out / RUNS, columns=["run_id"]))
        return SensitivityResult(out, spec, table, written, runs)


STUDY = Sensitivity()


def figures(table: pd.DataFrame, method: str, out: Path) -> list[Path]:
    with paper_style():
        if method == "morris":
            return save(morris_figure(table), out / "morris")
        return save(sobol_figure(table), out / "sobol")


def _panels(outputs: list[str], width: float, height: float) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    columns = min(2, len(outputs))
    rows = math.ceil(len(outputs) / columns)
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes[len(outputs):]:
        ax.set_visible(False)
    return figure, list(axes[:len(outputs)])


def morris_figure(table: pd.DataFrame) -> Any:
    """mu* against sigma per output: influential parameters lie right, interacting or non-linear ones high."""
    outputs = list(dict.fromkeys(table["output"]))
    figure, axes = _panels(outputs, 5.2, 4.2)
    for ax, output in zip(axes, outputs):
        rows = table[table["output"] == output].dropna(subset=["mu_star"])
        ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o", color="black",
                    markerfacecolor="white", markersize=4, elinewidth=0.6, capsize=2)
        for _, row in rows.head(6).iterrows():  # label the most influential; the rest stay unlabelled
            ax.annotate(short(row["parameter"]), (row["mu_star"], row["sigma"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("mu* (mean absolute elementary effect)")
        ax.set_ylabel("sigma (sd of elementary effects)")
        ax.set_title(output)
    figure.suptitle(f"Morris screening: mu* with its {CONF_LEVEL:.0%} bootstrap interval")
    return figure


def sobol_figure(table: pd.DataFrame) -> Any:
    """Horizontal bars of S1 (light) and ST (dark, hatched) with their intervals, per output."""
    outputs = list(dict.fromkeys(table["output"]))
    parameters = list(dict.fromkeys(table["parameter"]))
    figure, axes = _panels(outputs, 5.2, 0.9 + 0.32 * len(parameters))
    y = np.arange(len(parameters))
    for ax, output in zip(axes, outputs):
        rows = table[table["output"] == output].set_index("parameter").reindex(parameters)
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], color="0.8", edgecolor="black",
                linewidth=0.5, error_kw={"elinewidth": 0.7, "capsize": 2}, label="first order S1")
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], color="0.35", edgecolor="black", hatch="///",
                linewidth=0.5, error_kw={"elinewidth": 0.7, "capsize": 2}, label="total ST")
        ax.set_yticks(y, [short(p) for p in parameters], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_title(output)
    axes[0].legend(loc="lower right", fontsize=7)
    figure.suptitle(f"Sobol indices with {CONF_LEVEL:.0%} bootstrap intervals")
    return figure
