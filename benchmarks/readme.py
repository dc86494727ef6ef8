"""The README's benchmark figures, rendered from ``benchmarks/results.json`` (``make readme-bench``;
``make bench`` runs it after measuring), so no figure is copied by hand.

The rendering replaces what lies between the two marker lines of ``README.md``;
``python -m benchmarks.readme --check`` only reports whether the README is up to date, and
``tests/test_readme_bench.py`` holds the committed README to the committed results.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from simulation.experiments.store import write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
README = ROOT / "README.md"
BEGIN = "<!-- benchmark figures: generated from benchmarks/results.json by `make readme-bench`; edit that, not this -->"
END = "<!-- end of benchmark figures -->"
GIB = 2**30
WIDTH = 100  # the README's line length


def render(results: dict) -> str:
    """The benchmark section's text (Markdown) for ``results`` as ``python -m benchmarks`` writes them."""
    meta = results["meta"]
    sizes = [*results["sizes"], *([results["million"]] if results.get("million") else [])]
    quick = " with `--quick` (small sizes, few runs)" if meta.get("quick") else ""
    intro = (f"Measured{quick} on a {meta['cpus']}-CPU machine on {meta['date'][:10]} (code `{meta['code_version']}`,"
             f" Python {meta['packages']['python']}, Mesa {meta['packages']['mesa']}; load average"
             f" {meta['load_average_start'][0]:.1f} at the start), `{meta['scenario']}`:")
    lines = [textwrap.fill(intro, WIDTH), "",
             "| agents | links | build (ms) | ms per step | agent-steps per second | peak memory (GiB) |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['agents']:,} | {r['links']:,.0f} | {_ms(r['build_seconds'])} | {_ms(r['seconds_per_step'])}"
              f" | {r['agent_steps_per_second']:,.0f} | {r['peak_rss_bytes'] / GIB:.2f} |" for r in sizes]
    lines += ["", textwrap.fill(" ".join(_sentences(results, sizes)), WIDTH)]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    ms = 1000 * seconds
    return f"{ms:.1f}" if ms < 100 else f"{ms:,.0f}"


def _sentences(results: dict, sizes: list[dict]) -> list[str]:
    ref, scaling, batch = results["reference"], results["scaling"], results["batch"]
    said = [f"The plain-Mesa reference runs {ref['agent_steps_per_second']:,.0f} agent-steps per second at"
            f" {ref['agents']:,} agents: the model is {ref['speedup']:.0f} times as fast"
            f" ({ref['speedup_cpu']:.0f} times by CPU time)."]
    if scaling.get("exponent") is not None:
        largest = max(p["agents"] for p in scaling["points"])
        said.append(f"Time per step grows with links to the power {scaling['exponent']:.2f}"
                    f" ({scaling['fit_from_agents']:,} to {largest:,} agents).")
    biggest = sizes[-1]
    phase, seconds = max(biggest["phase_seconds"].items(), key=lambda item: item[1])  # the phases the run recorded
    said.append(f"At {biggest['agents']:,} agents the largest phase of a step is {phase}"
                f" ({seconds / biggest['seconds_per_step']:.0%} of it).")
    one, two = (next(r for r in batch["runs"] if r["workers"] == w) for w in (1, 2))
    said.append(f"Batches ({one['runs']} runs of {one['agents']} agents and {one['steps']} months):"
                f" {one['runs_per_minute']:.0f} runs per minute on 1 worker, {two['runs_per_minute']:.0f} on 2"
                f" (parallel efficiency {batch['parallel_efficiency']:.0%}).")
    compare = results.get("compare_panel")
    if compare:
        warm = sorted(compare["warm_s"])[len(compare["warm_s"]) // 2]
        said.append(f"The browser app's comparison with the baseline"
                    f" ({compare['runs_per_arm']} + {compare['runs_per_arm']}"
                    f" runs of {compare['months']} months, {compare['agents']} agents, {compare['workers']} processes):"
                    f" {compare['cold_s_including_process_start']:.1f} s from a cold start, {warm:.1f} s once its"
                    f" processes run, {compare['brief_pdf_s']:.1f} s for the one-page brief.")
    return said


def replace_section(readme: str, body: str) -> str:
    """``readme`` with the text between the markers replaced by ``body``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{README.name}: the benchmark markers are missing:\n{BEGIN}\n{END}")
    return readme[:start + len(BEGIN)] + "\n" + body + "\n" + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.readme", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report whether README.md is up to date; change nothing")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = replace_section(current, render(json.loads(args.results.read_text(encoding="utf-8"))))
    if wanted == current:
        print(f"{README.name}: the benchmark figures match {args.results.name}")
        return 0
    if args.check:
        print(f"{README.name}: the benchmark figures differ from {args.results.name}: run make readme-bench",
              file=sys.stderr)
        return 1
    write_text(README, wanted)
    print(f"{README.name}: benchmark figures rendered from {args.results.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
