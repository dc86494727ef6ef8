"""Robustness of the countermeasure conclusions across the model's structural assumptions.

Every parameter whose source is an assumption (``simulation.config.schema.assumptions``: the
"assumption" rows of the parameter table in docs/ODD.md section 8) is sampled over its declared
plausible range (categorical ones over their plausible choices) by a Latin hypercube drawn from the
spec's seed.  At every sampled structure the baseline and each countermeasure scenario run with the
same seeds (common random numbers), ``replications`` times, through the batch runner, so the study
is parallel, resumable and runs on a Dask cluster.  Each conclusion of docs/countermeasures.md is a
named predicate over one structure's runs; the report gives the share of structures where it holds
with a Wilson 95% interval, and for a conclusion that holds in fewer than 90% of them, scenario
discovery (PRIM, from the EMA Workbench) names the box of assumptions where it fails.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simulation.analyses.protocol import Execution, Input, PlanSize
from simulation.analyses.study import SpecFile, short
from simulation.config import Block, assumptions, load_scenario, read_validated
from simulation.config.loader import apply_overrides, validate_data
from simulation.errors import ConfigError
from simulation.experiments.figures import paper_style, save
from simulation.experiments.outcomes import final_year, integrated
from simulation.experiments.plan import Plan, RunSpec, child_seeds
from simulation.experiments.results import RUNS, TIMESERIES
from simulation.experiments.sampling import latin_hypercube, on_range
from simulation.experiments.statistics import share_interval
from simulation.experiments.store import GeneratedBlock, atomic_path, write_json, write_text

BASELINE = "baseline"
COUNTERMEASURES = ("ecosystem", "mechanism", "cognition", "security")
COMBINED = "all_countermeasures"
SCENARIOS = (BASELINE, *COUNTERMEASURES, COMBINED)
ROBUST_SHARE = 0.9  # a conclusion holding in fewer structures than this gets its failure boxes named
# The PRIM box reported: the largest coverage among boxes at least this dense in failures.
BOX_DENSITY = 0.8
REPORT = "report"
TABLE, SAMPLES, BOXES, TIMING = "robustness.csv", "structures.csv", "prim_boxes.csv", "timing.json"


class RobustnessSpec(Block):
    name: str = Field(description="study name: labels the runs and the default output folder")
    description: str = Field("", description="what the study is for")
    scenarios: list[str] = Field(min_length=1, description="scenario files (relative to the spec or absolute): "
                                 "the baseline and every countermeasure scenario the conclusions compare")
    structures: int = Field(ge=2, le=100_000, description="Latin hypercube samples of the assumption parameters")
    replications: int = Field(1, ge=1, le=1000, description="runs per scenario and structure, averaged")
    steps: int | None = Field(None, ge=1, le=100_000,
                              description="horizon of every run in months (default: the scenarios')")
    seed: int = Field(ge=0, le=2**63 - 1, description="seeds the design and the runs")

    @model_validator(mode="after")
    def _no_duplicates(self) -> "RobustnessSpec":
        if len(set(self.scenarios)) != len(self.scenarios):
            raise ValueError("scenarios: a file is listed twice")
        return self


def load_robustness(path: str | Path) -> tuple[dict[str, Any], RobustnessSpec, list[Path]]:
    """The spec as written and validated, and its scenario files (each must exist; together they
    must be the scenarios the conclusions compare)."""
    path = Path(path)
    given, spec = read_validated(path, RobustnessSpec)
    files = []
    for name in spec.scenarios:
        file = Path(name) if Path(name).is_absolute() else (path.resolve().parent / name).resolve()
        if not file.is_file():
            raise ConfigError(f"{path}: scenarios: file not found: {file}")
        files.append(file)
    names = [load_scenario(f).name for f in files]
    missing = [n for n in SCENARIOS if n not in names]
    if missing:
        raise ConfigError(f"{path}: scenarios: {', '.join(missing)} missing; the conclusions compare the scenarios "
                          f"named {', '.join(SCENARIOS)}")
    return given, spec, files


# ---------------------------------------------------------------------------------------------
# The design: a Latin hypercube over the assumptions


def sampled_value(plausible: list[Any], unit: float) -> Any:
    """A draw in [0, 1) carried onto a plausible range ``[low, high]`` or a list of choices."""
    if all(isinstance(v, str) for v in plausible):
        return plausible[min(int(unit * len(plausible)), len(plausible) - 1)]
    return on_range(unit, *plausible)


def design(structures: int, seed: int) -> list[dict[str, Any]]:
    """``structures`` points, each a value for every assumption parameter, one stratum per point in
    every dimension."""
    space = assumptions()
    cube = latin_hypercube(len(space), structures, seed)
    return [{key: sampled_value(plausible, u) for (key, plausible), u in zip(space.items(), row)} for row in cube]


def plan_robustness(path: Path, spec: RobustnessSpec, given: dict[str, Any], files: list[Path]) -> Plan:
    """Every structure x scenario x replication, in that order; a structure's runs share their
    seeds across scenarios.  Every run's scenario is validated here, before any run starts."""
    bases = [load_scenario(f) for f in files]
    points = design(spec.structures, spec.seed)
    seeds = child_seeds(spec.seed, spec.structures * spec.replications)
    runs: list[RunSpec] = []
    for k, point in enumerate(points):
        for base in bases:
            source = f"{path}: structure {k} of scenario {base.name}"
            scenario = validate_data(apply_overrides(base.model_dump(mode="json"), point, source), source)
            steps = spec.steps or base.steps
            runs.extend(RunSpec(len(runs), scenario, seeds[k * spec.replications + r], steps, r, k, point)
                        for r in range(spec.replications))
    resolved = {**spec.model_dump(mode="json"), "scenarios": [str(f) for f in files], "assumptions": assumptions()}
    return Plan(spec.name, given, resolved, runs)


# ---------------------------------------------------------------------------------------------
# Outcomes per structure and scenario, and the conclusions as predicates over them


def outcomes(runs: pd.DataFrame, timeseries: pd.DataFrame) -> pd.DataFrame:
    """One row per (structure, scenario), the run-level outcomes averaged over replications:
    cumulative volume, final-year volume, islands and waiting time, and the share integrated."""
    year = final_year(timeseries, by="run_id")
    tail = timeseries.sort_values(["run_id", "step"]).groupby("run_id").tail(12)
    per_run = pd.DataFrame({
        "structure": runs["point"].to_numpy(), "scenario": runs["scenario"].astype(str).to_numpy(),
        "cumulative_volume": runs["cumulative_volume"].to_numpy(dtype=float),
        "integrated": integrated(runs).to_numpy(),
    }, index=runs["run_id"].to_numpy())
    per_run["final_volume"] = year["final_year_volume"]
    per_run["wait_mean_days"] = year["final_year_wait_mean_days"]
    per_run["islands"] = tail.groupby("run_id")["islands"].mean()
    return per_run.groupby(["structure", "scenario"]).mean().reset_index()


@dataclass(frozen=True)
class Conclusion:
    name: str
    claim: str  # as docs/countermeasures.md states it
    holds: Callable[[pd.DataFrame], bool]  # one structure's outcomes, indexed by scenario


def _raises_volume(x: str) -> Callable[[pd.DataFrame], bool]:
    return lambda o: o.at[x, "cumulative_volume"] > o.at[BASELINE, "cumulative_volume"]


def _reduces_islands(x: str) -> Callable[[pd.DataFrame], bool]:
    return lambda o: o.at[x, "islands"] < o.at[BASELINE, "islands"]


def _shortens_waits(x: str) -> Callable[[pd.DataFrame], bool]:
    return lambda o: o.at[x, "wait_mean_days"] < o.at[BASELINE, "wait_mean_days"]


def _integrates(x: str) -> Callable[[pd.DataFrame], bool]:
    return lambda o: o.at[x, "integrated"] == 1.0


def _combined_beats_each(o: pd.DataFrame) -> bool:
    singles = o.loc[list(COUNTERMEASURES)]
    return bool(o.at[COMBINED, "cumulative_volume"] > singles["cumulative_volume"].max()
                and o.at[COMBINED, "islands"] < singles["islands"].min())


# Strongest first, as measured on the default structure (Model 3, 30 seeds): by cumulative volume
# ecosystem 320 > mechanism 272 > cognition 142 > security 122; by final-year islands mechanism 101 <
# cognition 109.7 < ecosystem 109.8 < security 115 (ecosystem and cognition within a tenth of an island).
RANKING_VOLUME = ("ecosystem", "mechanism", "cognition", "security")
RANKING_ISLANDS = ("mechanism", "cognition", "ecosystem", "security")


def _ranked(column: str, higher_is_better: bool, ranking: tuple[str, ...]) -> Callable[[pd.DataFrame], bool]:
    def holds(o: pd.DataFrame) -> bool:
        values = o.loc[list(ranking), column].to_numpy(dtype=float)
        steps = np.diff(values)
        return bool(np.all(steps < 0) if higher_is_better else np.all(steps > 0))
    return holds


def _strongest(o: pd.DataFrame) -> bool:
    volume = o.loc[list(COUNTERMEASURES), "cumulative_volume"]
    return bool(volume.drop("ecosystem").max() < volume["ecosystem"])


CONCLUSIONS: tuple[Conclusion, ...] = (
    *(Conclusion(f"{x}_raises_volume", f"{x} raises sharing volume (cumulative, over the baseline)", _raises_volume(x))
      for x in (*COUNTERMEASURES, COMBINED)),
    *(Conclusion(f"{x}_reduces_islands", f"{x} reduces islands (final-year mean, below the baseline)",
                 _reduces_islands(x))
      for x in (*COUNTERMEASURES, COMBINED)),
    *(Conclusion(f"{x}_shortens_waits", f"{x} shortens waits (final-year mean waiting time)", _shortens_waits(x))
      for x in ("mechanism", "security")),
    Conclusion("ecosystem_integrates", "the ecosystem countermeasure alone integrates every run lastingly",
               _integrates("ecosystem")),
    Conclusion("all_four_integrate", "all four combined integrate every run lastingly", _integrates(COMBINED)),
    Conclusion("all_four_beat_each", "all four combined beat each alone on volume and islands", _combined_beats_each),
    Conclusion("ecosystem_strongest", "the ecosystem countermeasure raises volume most of the four", _strongest),
    Conclusion("ranking_volume", "ranking by volume: " + " > ".join(RANKING_VOLUME),
               _ranked("cumulative_volume", True, RANKING_VOLUME)),
    Conclusion("ranking_islands", "ranking by islands reduced: " + " > ".join(RANKING_ISLANDS),
               _ranked("islands", False, RANKING_ISLANDS)),
)


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """One row per structure, one boolean column per conclusion."""
    rows = {}
    for structure, frame in table.groupby("structure", sort=True):
        by_scenario = frame.set_index("scenario")
        rows[structure] = {c.name: bool(c.holds(by_scenario)) for c in CONCLUSIONS}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("structure")


# ---------------------------------------------------------------------------------------------
# Scenario discovery


@dataclass
class FailureBox:
    coverage: float  # share of the failing structures inside the box
    density: float   # share of the structures inside the box that fail
    mass: float      # share of all structures inside the box
    limits: pd.DataFrame  # restricted parameter: low, high (or choices), quasi-p value


def failure_box(x: pd.DataFrame, fails: np.ndarray) -> FailureBox | None:
    """PRIM's box where ``fails`` concentrates: on the peeling trajectory, of the boxes that restrict
    some assumption, the largest coverage among those with density >= BOX_DENSITY (and above the
    share failing overall), else the densest.  None without both outcomes."""
    if fails.all() or not fails.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional parallel back-ends on import
        from ema_workbench.analysis.prim import Prim
        # Integer dimensions as floats: PRIM pastes half-way values, which pandas 3 will not put in an int column.
        x = x.reset_index(drop=True).astype({c: float for c in x.select_dtypes("integer").columns})
        prim = Prim(x, np.asarray(fails, dtype=bool))
        box = prim.find_box()
    trajectory = box.peeling_trajectory
    restricted = trajectory[trajectory["res_dim"] > 0]  # the whole space names no assumption
    if restricted.empty:
        return None
    dense = restricted[restricted["density"] >= max(BOX_DENSITY, float(np.mean(fails)))]
    i = int(dense["coverage"].idxmax() if len(dense) else restricted.sort_values(
        ["density", "coverage"], ascending=False).index[0])
    # Read from the box's trajectory rather than box.inspect(), whose table breaks on categorical
    # dimensions under pandas 3: box_lims[i] holds each dimension's [min, max] (a set of choices for
    # a categorical one), p_values[i] the quasi-p values of the restricted sides (-1 for a free side).
    stats, lims = trajectory.loc[i], box.box_lims[i]
    rows = []
    for key, sides in box.p_values[i].items():
        tested = [q for q in sides if q >= 0]
        rows.append({"parameter": key, "low": lims.at[0, key], "high": lims.at[1, key],
                     "quasi_p": min(tested) if tested else np.nan})
    frame = pd.DataFrame(rows, columns=["parameter", "low", "high", "quasi_p"]).sort_values("quasi_p", kind="stable")
    return FailureBox(float(stats["coverage"]), float(stats["density"]), float(stats["mass"]),
                      frame.reset_index(drop=True))


def design_frame(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The sampled values of every structure, one row each, in structure order."""
    first = runs.drop_duplicates("point").sort_values("point").set_index("point")
    frame = first[keys].copy()
    for key in keys:
        if not pd.api.types.is_numeric_dtype(frame[key]):
            frame[key] = frame[key].astype(str).astype("category")
    return frame


# ---------------------------------------------------------------------------------------------
# The command


@dataclass
class RobustnessResult:
    out: Path
    spec: RobustnessSpec
    table: pd.DataFrame          # one row per conclusion
    boxes: dict[str, FailureBox]
    written: list[Path]
    runs: int
    seconds: float

    def describe(self) -> str:
        lines = [f"{self.spec.name}: {self.spec.structures} structures x {len(SCENARIOS)} scenarios x "
                 f"{self.spec.replications} replication(s) = {self.runs} runs in {self.seconds:.0f} s"]
        for r in self.table.itertuples():
            lines.append(f"  {r.share:5.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]  {r.claim}")
            if r.failure_box:
                lines.append(f"         fails: {r.failure_box}")
        lines.append(f"wrote {', '.join(str(p) for p in self.written)}")
        return "\n".join(lines)

    def block(self) -> str:
        return "\n" + markdown(self.spec, self.table)


def shares(verdict: pd.DataFrame) -> pd.DataFrame:
    """Per conclusion: structures where it holds, of how many, the share and its Wilson 95% interval."""
    rows = []
    for c in CONCLUSIONS:
        holds, n = int(verdict[c.name].sum()), len(verdict)
        low, high = share_interval(holds, n)
        rows.append({"conclusion": c.name, "claim": c.claim, "holds": holds, "structures": n,
                     "share": holds / n, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def conclusions(out: Path, spec: RobustnessSpec, timing: dict[str, Any] | None = None
                ) -> tuple[pd.DataFrame, dict[str, FailureBox], list[Path]]:
    """The verdicts, shares and PRIM boxes of the finished runs in ``out``, written to ``out/report``."""
    runs = pd.read_parquet(out / RUNS)
    timeseries = pd.read_parquet(out / TIMESERIES, columns=["run_id", "step", "islands", "requests_filed",
                                                            "sharing_volume", "fulfilment_rate", "wait_mean_days",
                                                            "wait_p90_days", "beyond_window_share"])
    verdict = verdicts(outcomes(runs, timeseries))
    table = shares(verdict)
    x = design_frame(runs, list(assumptions()))
    boxes = {}
    for row in table.itertuples():
        if row.share < ROBUST_SHARE:
            box = failure_box(x, ~verdict[row.conclusion].to_numpy())
            if box is not None:
                boxes[row.conclusion] = box
    table["failure_box"] = [box_text(boxes.get(c)) for c in table["conclusion"]]
    return table, boxes, write_outputs(out / REPORT, spec, table, verdict.join(x), boxes, timing)


def box_text(box: FailureBox | None, significant: float = 0.05) -> str:
    """The box's restrictions whose quasi-p value is below ``significant``, most significant first."""
    if box is None:
        return ""
    parts = [f"{short(r.parameter)} in {_limits(r.low, r.high)}" for r in box.limits.itertuples()
             if r.quasi_p < significant]
    head = f"coverage {box.coverage:.2f}, density {box.density:.2f}"
    return f"{'; '.join(parts) or '(no restriction with quasi-p < 0.05)'} ({head})"


def _limits(low: Any, high: Any) -> str:
    if isinstance(low, set | frozenset):
        return "{" + ", ".join(sorted(map(str, low))) + "}"
    return f"[{low:.3g}, {high:.3g}]"


def write_outputs(report: Path, spec: RobustnessSpec, table: pd.DataFrame, structures: pd.DataFrame,
                  boxes: dict[str, FailureBox], timing: dict[str, Any] | None) -> list[Path]:
    written = [report / TABLE, report / "robustness.md", report / SAMPLES, report / BOXES]
    with atomic_path(written[0]) as tmp:
        table.to_csv(tmp, index=False)
    write_text(written[1], markdown(spec, table))
    with atomic_path(written[2]) as tmp:
        structures.to_csv(tmp)
    box_rows = [limits.assign(conclusion=name, coverage=box.coverage, density=box.density, mass=box.mass)
                for name, box in boxes.items() for limits in [box.limits.astype({"low": str, "high": str})]]
    columns = ["conclusion", "coverage", "density", "mass", "parameter", "low", "high", "quasi_p"]
    with atomic_path(written[3]) as tmp:
        (pd.concat(box_rows, ignore_index=True)[columns] if box_rows
         else pd.DataFrame(columns=columns)).to_csv(tmp, index=False)
    if timing is not None:
        write_json(report / TIMING, timing)
        written.append(report / TIMING)
    return written + figures(table, boxes, report)


def markdown(spec: RobustnessSpec, table: pd.DataFrame) -> str:
    lines = [f"_Generated by `python -m simulation robustness` ({spec.name}): {spec.structures} structures "
             f"(Latin hypercube over the {len(assumptions())} assumption parameters, seed {spec.seed}), "
             f"{spec.replications} replication(s) per scenario, {spec.steps or 'the scenarios’'} months._", "",
             "| conclusion | holds in | share [95% Wilson CI] | where it fails (PRIM box, if share < 90%) |",
             "|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.claim} | {r.holds} of {r.structures} | {r.share:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}] "
                     f"| {r.failure_box or '-'} |")
    return "\n".join(lines) + "\n"


def figures(table: pd.DataFrame, boxes: dict[str, FailureBox], report: Path) -> list[Path]:
    with paper_style():
        written = save(shares_figure(table), report / "shares")
        if boxes:
            written += save(boxes_figure(boxes), report / "prim_boxes")
        return written


def shares_figure(table: pd.DataFrame) -> Any:
    """The share of structures where each conclusion holds, with its Wilson 95% interval."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 0.9 + 0.26 * len(table)), layout="constrained")
    ax = figure.subplots()
    y = np.arange(len(table))
    ax.errorbar(table["share"], y, xerr=[table["share"] - table["ci_low"], table["ci_high"] - table["share"]],
                fmt="o", color="black", markerfacecolor="white", markersize=4, elinewidth=0.8, capsize=2)
    ax.axvline(ROBUST_SHARE, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, table["claim"], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of sampled structures where the conclusion holds (95% Wilson interval)")
    return figure


def boxes_figure(boxes: dict[str, FailureBox]) -> Any:
    """Per conclusion, the significant restrictions of its failure box, as a share of the plausible range."""
    from matplotlib.figure import Figure

    space = assumptions()
    panels = list(boxes.items())
    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(5.2 * columns, 2.4 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax, (name, box) in zip(axes, panels):
        limits = box.limits[box.limits["quasi_p"] < 0.05].head(6)
        if limits.empty:
            ax.text(0.5, 0.5, "no restriction significant (quasi-p < 0.05):\nthe failures are spread over the space",
                    ha="center", va="center", fontsize=7, transform=ax.transAxes)
        for j, r in enumerate(limits.itertuples()):
            plausible = space[r.parameter]
            if isinstance(r.low, set | frozenset):
                for c in sorted(plausible.index(c) for c in r.low if c in plausible):
                    ax.barh(j, 1 / len(plausible), left=c / len(plausible), color="0.6", edgecolor="black",
                            linewidth=0.5)
                    ax.text((c + 0.5) / len(plausible), j, plausible[c], ha="center", va="center", fontsize=6)
            else:
                lo, hi = plausible
                ax.barh(j, (r.high - r.low) / (hi - lo), left=(r.low - lo) / (hi - lo), color="0.6",
                        edgecolor="black", linewidth=0.5)
        ax.set_yticks(range(len(limits)), [short(p) for p in limits["parameter"]], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of the plausible range")
        ax.set_title(f"{name}: fails here (coverage {box.coverage:.2f}, density {box.density:.2f})", fontsize=8)
    return figure


@dataclass(frozen=True)
class RobustnessInput(SpecFile[RobustnessSpec]):
    files: tuple[Path, ...] = ()  # the scenario files, in the spec's order


class Robustness:
    """The countermeasure conclusions across sampled structures (a planned study: the Latin hypercube
    is drawn up front)."""

    name = "robustness"
    help = "the countermeasure conclusions across sampled structural assumptions (LHS, PRIM)"
    inputs = (Input("spec", "robustness spec (scenarios/studies/robustness.yaml)", positional=True),)
    spec_key = "structures"
    block = GeneratedBlock("robustness-table")
    doc_example = "docs/countermeasures.md"
    doc_replaces_output = False
    keeps_runs = True

    def load(self, spec: str | Path) -> RobustnessInput:
        path = Path(spec)
        given, validated, files = load_robustness(path)
        return RobustnessInput(path, given, validated, tuple(files))

    def folder(self, loaded: RobustnessInput) -> Path:
        return Path("results") / loaded.spec.name

    def size(self, loaded: RobustnessInput) -> PlanSize:
        cells = loaded.spec.structures * len(loaded.files)
        return PlanSize(cells, cells * loaded.spec.replications, str(loaded.path))

    def plan(self, loaded: RobustnessInput) -> Plan:
        return plan_robustness(loaded.path, loaded.spec, loaded.given, list(loaded.files))

    def analyse(self, out: Path, loaded: RobustnessInput, execution: Execution) -> RobustnessResult:
        """The conclusions' shares and failure boxes, written to ``out/report`` with the timing of the
        call that ran runs (a call that only re-analyses finished runs keeps it)."""
        runs = len(execution.plan.runs)
        executed = runs - execution.outcome.skipped
        options = execution.options
        timing = None if executed == 0 else {
            "runs": runs, "runs_executed": executed, "wall_seconds": round(execution.seconds, 1),
            "wall_seconds_per_run": round(execution.seconds / executed, 4), "workers": options.get("workers"),
            "scheduler": options.get("scheduler"), "load_average_before": execution.load_before,
            "load_average_after": execution.load_after}
        table, boxes, written = conclusions(out, loaded.spec, timing)
        return RobustnessResult(out, loaded.spec, table, boxes, written, runs, execution.seconds)


STUDY = Robustness()
