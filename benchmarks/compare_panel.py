"""The browser app's "Compare with baseline", server side: ``python -m benchmarks.compare_panel``.

Times what a click on Compare costs at the default size (scenarios/all_countermeasures.yaml against
the baseline, 420 agents): 10 + 10 runs of 60 months on 2 local processes through the batch's
run_chunk, as the app runs them.  *Cold* includes starting the processes (the server's first
comparison); *warm* reuses them (every later comparison).  Then the bands and the effect table the
page draws, and the one-page brief.  Wall-clock times with CPU time of this process and the load
average, since other processes on a shared machine stretch wall-clock time.  Writes the figures into
benchmarks/results.json (its ``compare_panel`` entry; ``python -m benchmarks`` measures them too) and
the brief as results/screenshots/brief.png and .pdf.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pandas as pd

from simulation.config import load_scenario
from simulation.config.package import changed_values
from simulation.experiments.brief import brief_figure, brief_pdf
from simulation.experiments.compare import BANDS, bands, effects, plan_comparison, run_comparison
from simulation.experiments.pool import local_processes
from simulation.experiments.store import write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
SHOTS = ROOT / "results" / "screenshots"
TITLE = "The all_countermeasures scenario against the baseline"


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    return value, round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3)


def measure(runs: int = 10, steps: int = 60, workers: int = 2, repeats: int = 3,
            shots: bool = True) -> tuple[dict, pd.DataFrame]:
    """The figures of one timed comparison (and the effect table it drew); with ``shots``, the brief
    as results/screenshots/brief.png and .pdf."""
    load_start = os.getloadavg()
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    package = load_scenario(ROOT / "scenarios" / "all_countermeasures.yaml")
    specs = plan_comparison(package, baseline, runs, steps)
    with local_processes(workers, ignore_ctrl_c=False) as pool:  # as the app's shared_processes
        comparison, cold, _ = timed(run_comparison, specs, pool)
        warm = [timed(run_comparison, specs, pool)[1] for _ in range(repeats)]
    drawn, draw_wall, draw_cpu = timed(lambda: ([bands(comparison, m) for m in BANDS], effects(comparison)))
    changes = changed_values(package, baseline)
    pdf, brief_wall, _ = timed(brief_pdf, comparison, TITLE, changes)
    if shots:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "brief.pdf").write_bytes(pdf)
        brief_figure(comparison, TITLE, changes).savefig(SHOTS / "brief.png", dpi=110)
    figures = {
        "runs_per_arm": runs, "months": steps, "workers": workers, "cpus": os.cpu_count(),
        "agents": package.population.government + package.population.enterprise + package.population.public,
        "cold_s_including_process_start": cold, "warm_s": warm,
        "bands_and_effects_s": draw_wall, "bands_and_effects_cpu_s": draw_cpu, "brief_pdf_s": brief_wall,
        "load_average_start": load_start, "load_average_end": os.getloadavg(),
    }
    return figures, drawn[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare_panel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per arm (default 10)")
    parser.add_argument("--steps", type=int, default=60, help="months per run (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="local processes (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="warm comparisons timed (default 3)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help=f"benchmark results file whose compare_panel entry to replace (default: {RESULTS})")
    args = parser.parse_args(argv)
    figures, table = measure(args.runs, args.steps, args.workers, args.repeats)
    results = json.loads(args.results.read_text(encoding="utf-8")) if args.results.exists() else {}
    write_json(args.results, {**results, "compare_panel": figures})
    cold, warm = figures["cold_s_including_process_start"], figures["warm_s"]
    print(f"Compare with baseline: {args.runs} + {args.runs} runs of {args.steps} months, {figures['agents']} agents,"
          f" {args.workers} processes on {os.cpu_count()} CPUs")
    print(f"  cold (first comparison, processes started): {cold:.2f} s")
    print(f"  warm (processes running):                   {', '.join(f'{w:.2f}' for w in warm)} s")
    print(f"  bands and effect table:                     {figures['bands_and_effects_s']:.2f} s;"
          f" brief PDF {figures['brief_pdf_s']:.2f} s")
    print(f"  load average at start {figures['load_average_start']}, at end {figures['load_average_end']}")
    print(table[["label", "package", "baseline", "effect", "effect_low", "effect_high"]].to_string(
        index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"wrote {args.results}, {(SHOTS / 'brief.png').relative_to(ROOT)}, {(SHOTS / 'brief.pdf').relative_to(ROOT)};"
          " make readme-bench puts the figures into the README")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
