"""Benchmark runner: ``python -m benchmarks`` (or ``make bench``).

For the all-countermeasures scenario at about 500, 10,000 and 100,000 agents: agent-steps per
second, seconds per step by phase, build time and peak memory; the speed ratio to the plain-Mesa
reference at 10,000 agents; the fitted exponent of time per step against links (10,000 to
1,000,000 agents); batch throughput on 1 and 2 workers; and 10 steps at 1,000,000 agents.
Prints a report and writes every figure to ``benchmarks/results.json``.

Times are wall-clock (what a user waits) with CPU time beside them: on a shared machine other
processes stretch wall-clock time, and the load average is recorded with the results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks import compare_panel
from benchmarks.measure import batch_throughput, in_fresh_process, measure_fast, measure_reference
from simulation.core.provenance import code_version, package_versions
from simulation.experiments.store import write_json

OUT = Path(__file__).resolve().parent / "results.json"
DETAILED = (500, 10_000, 100_000)
SCALING_EXTRA = (30_000, 300_000)
MILLION = 1_000_000
REFERENCE_AGENTS = 10_000
FIT_FROM = 10_000  # smaller models are dominated by fixed per-step costs, not by links
FIT_STEPS = 10  # every size is fitted on its first steps, as many as the million-agent run has
GIB = 2**30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs: checks the runner in a minute")
    parser.add_argument("--no-million", action="store_true", help="skip the 1,000,000-agent run")
    parser.add_argument("--out", type=Path, default=OUT, help=f"results file (default: {OUT})")
    args = parser.parse_args(argv)
    quick = args.quick
    load_start = os.getloadavg()

    detailed = [_fast(n, 5 if quick else 20) for n in (DETAILED[:2] if quick else DETAILED)]
    reference = _announce(f"plain-Mesa reference at {REFERENCE_AGENTS:,} agents",
                          in_fresh_process, measure_reference, REFERENCE_AGENTS, 1 if quick else 3)
    extra = [] if quick else [_fast(n, FIT_STEPS) for n in SCALING_EXTRA]
    million = None if quick or args.no_million else _fast(MILLION, FIT_STEPS)
    runs = 6 if quick else 120  # enough that starting the worker processes is a small part
    batch = [_announce(f"batch of {runs} runs on {w} worker(s)", batch_throughput, w, runs, 60) for w in (1, 2)]
    compare = _announce("the browser app's comparison with the baseline", compare_panel.measure,
                        3 if quick else 10, 12 if quick else 60, 2, 1 if quick else 3, not quick)[0]

    results = {
        "meta": {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "code_version": code_version(),
                 "packages": package_versions(), "cpus": os.cpu_count(), "quick": quick,
                 "load_average_start": load_start, "load_average_end": os.getloadavg(),
                 "scenario": "scenarios/all_countermeasures.yaml",
                 "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])])},
        "sizes": [_summary(row) for row in detailed],
        "reference": _versus_reference(reference, next(r for r in detailed if r["agents"] == REFERENCE_AGENTS)),
        "scaling": _scaling([*detailed, *extra, *([million] if million else [])]),
        "batch": _batch(batch),
        "million": _summary(million) if million else None,
        "compare_panel": compare,
    }
    write_json(args.out, results)
    print(report(results))
    print(f"\nwritten: {args.out}")
    return 0


def _announce(what: str, function, *args):
    print(f"measuring {what} ...", file=sys.stderr, flush=True)
    return function(*args)


def _fast(agents: int, steps: int) -> dict:
    return _announce(f"{agents:,} agents, {steps} steps", in_fresh_process, measure_fast, agents, steps)


def _summary(row: dict) -> dict:
    wall, cpu = sum(row["step_seconds"]), sum(row["step_cpu_seconds"])
    return {
        **{k: row[k] for k in ("agents", "government", "enterprise", "public", "steps", "links", "holder_links",
                               "build_seconds", "build_cpu_seconds", "phase_seconds", "phase_cpu_seconds")},
        "seconds_per_step": wall / row["steps"], "cpu_seconds_per_step": cpu / row["steps"],
        "run_seconds": wall, "agent_steps_per_second": row["agents"] * row["steps"] / wall,
        "agent_steps_per_cpu_second": row["agents"] * row["steps"] / cpu,
        "peak_rss_bytes": row["peak_rss_bytes"], "rss_before_build_bytes": row["rss_before_build_bytes"],
        "step_seconds": row["step_seconds"], "step_cpu_seconds": row["step_cpu_seconds"],
    }


def _versus_reference(reference: dict, fast: dict) -> dict:
    fast = _summary(fast)
    ref_rate = reference["agents"] * reference["steps"] / reference["seconds"]
    ref_cpu_rate = reference["agents"] * reference["steps"] / reference["cpu_seconds"]
    return {**reference, "agent_steps_per_second": ref_rate, "agent_steps_per_cpu_second": ref_cpu_rate,
            "speedup": fast["agent_steps_per_second"] / ref_rate,
            "speedup_cpu": fast["agent_steps_per_cpu_second"] / ref_cpu_rate}


def _scaling(rows: list[dict]) -> dict:
    """Least-squares slope of log(median seconds per step) on log(links), over the first FIT_STEPS steps."""
    points = [{"agents": r["agents"], "links": r["links"],
               "median_seconds_per_step": statistics.median(r["step_seconds"][:FIT_STEPS]),
               "median_cpu_seconds_per_step": statistics.median(r["step_cpu_seconds"][:FIT_STEPS])}
              for r in sorted(rows, key=lambda r: r["agents"])]
    fitted = [p for p in points if p["agents"] >= FIT_FROM]

    def slope(key: str, pts: list[dict]) -> float | None:
        if len(pts) < 2:
            return None
        return float(np.polyfit(np.log([p["links"] for p in pts]), np.log([p[key] for p in pts]), 1)[0])

    return {"points": points, "fit_from_agents": FIT_FROM,
            "exponent": slope("median_seconds_per_step", fitted),
            "exponent_cpu": slope("median_cpu_seconds_per_step", fitted),
            "exponent_all_sizes": slope("median_seconds_per_step", points)}


def _batch(rows: list[dict]) -> dict:
    """Parallel efficiency by wall-clock, and the ratio of the CPU work the two batches needed (what
    the efficiency would approach with both cores free: other processes take cores from the first)."""
    one, two = (next(r for r in rows if r["workers"] == w) for w in (1, 2))
    work = [r["workers_cpu_seconds"] + r["parent_cpu_seconds"] for r in (one, two)]
    return {"runs": rows, "parallel_efficiency": two["runs_per_minute"] / (2 * one["runs_per_minute"]),
            "cpu_work_ratio": work[0] / work[1]}


# ---------------------------------------------------------------------------- the printed report
def report(results: dict) -> str:
    meta, sizes = results["meta"], results["sizes"]
    lines = [f"Benchmark of {meta['scenario']} · code {meta['code_version']} · {meta['date']} · {meta['cpus']} CPUs"
             f" · load average {meta['load_average_start'][0]:.1f} at start,"
             f" {meta['load_average_end'][0]:.1f} at end", ""]
    lines += _size_table(sizes + ([results["million"]] if results["million"] else []))
    lines += ["", "Seconds per step by phase (wall-clock, ms; share of the step):"]
    lines += _phase_table(sizes + ([results["million"]] if results["million"] else []))
    ref = results["reference"]
    lines += ["", f"Plain-Mesa reference at {ref['agents']:,} agents ({ref['steps']} steps): "
                  f"{ref['agent_steps_per_second']:,.0f} agent-steps/s"
                  f" ({ref['agent_steps_per_cpu_second']:,.0f} per CPU second)",
              f"Fast model / reference: {ref['speedup']:.0f}x wall-clock, {ref['speedup_cpu']:.0f}x CPU (goal >= 40x)"]
    sc = results["scaling"]
    pts = ", ".join(f"{p['agents']:,}: {p['links']:,.0f} links {1000 * p['median_seconds_per_step']:.1f} ms"
                    for p in sc["points"])
    lines += ["", f"Time per step vs links: exponent {_fmt(sc['exponent'])} wall-clock, {_fmt(sc['exponent_cpu'])} CPU "
                  f"(fit over >= {sc['fit_from_agents']:,} agents; {_fmt(sc['exponent_all_sizes'])} over all sizes;"
                  f" goal <= 1.1)",
              f"  median of the first {FIT_STEPS} steps: {pts}"]
    b = results["batch"]
    lines += ["", "Batch throughput (simulation.experiments.execute, local processes):"]
    lines += [f"  {r['workers']} worker(s): {r['runs_per_minute']:.0f} runs/min"
              f" ({r['runs']} runs of {r['agents']} agents x {r['steps']} steps in {r['seconds']:.1f} s,"
              f" {r['failed']} failed;"
              f" CPU {r['workers_cpu_seconds']:.1f} s in workers, {r['parent_cpu_seconds']:.1f} s in the parent;"
              f" load average {r['load_average_before']:.1f} before)" for r in b["runs"]]
    lines += [f"  parallel efficiency on 2 workers: {100 * b['parallel_efficiency']:.0f} % wall-clock;"
              f" CPU work 1 worker / 2 workers: {100 * b['cpu_work_ratio']:.0f} %"
              f" (what the efficiency approaches when no other process needs the cores)"]
    m = results["million"]
    if m:
        lines += ["", f"{m['agents']:,} agents ({m['public']:,} public, {m['links']:,.0f} links):"
                      f" build {m['build_seconds']:.1f} s, "
                      f"{m['steps']} steps in {m['run_seconds']:.1f} s ({m['seconds_per_step']:.2f} s/step), "
                      f"peak memory {m['peak_rss_bytes'] / GIB:.2f} GiB (limit 24 GiB)"]
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _size_table(rows: list[dict]) -> list[str]:
    out = [f"{'agents':>10} {'gov/ent/public':>22} {'links':>10} {'build s':>8} {'s/step':>8} {'CPU s/step':>10}"
           f" {'agent-steps/s':>14} {'peak GiB':>9}"]
    for r in rows:
        mix = f"{r['government']}/{r['enterprise']}/{r['public']}"
        out.append(f"{r['agents']:>10,} {mix:>22} {r['links']:>10,.0f} {r['build_seconds']:>8.2f}"
                   f" {r['seconds_per_step']:>8.4f} {r['cpu_seconds_per_step']:>10.4f}"
                   f" {r['agent_steps_per_second']:>14,.0f} {r['peak_rss_bytes'] / GIB:>9.2f}")
    return out


def _phase_table(rows: list[dict]) -> list[str]:
    phases = list(rows[0]["phase_seconds"])  # the phases the runs recorded, in step order
    out = [f"{'phase':>16} " + " ".join(f"{r['agents']:>18,}" for r in rows)]
    for phase in [*phases, "other"]:
        cells = []
        for r in rows:
            ms = 1000 * (r["seconds_per_step"] - sum(r["phase_seconds"].values()) if phase == "other"
                         else r["phase_seconds"][phase])
            cells.append(f"{ms:>10.2f} ({100 * ms / (1000 * r['seconds_per_step']):>4.0f} %)")
        out.append(f"{phase:>16} " + " ".join(cells))
    return out


if __name__ == "__main__":
    sys.exit(main())
