"""Time per step of the browser app, server side: ``python -m benchmarks.app_step``.

Renders the page in-process with Solara (as the server does for one browser session), sets the
population, presses Reset, then presses Step and times each click: the model step plus redrawing
the indicators, the network and the charts.  The browser's own time to first render and
click-to-update are recorded by tests/test_app_browser.py in results/app_browser/timings.json.
Wall-clock and CPU times are both reported, with the load average, since other processes on a
shared machine stretch wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import ipyvuetify as v
import solara

import app

OUT = Path(__file__).resolve().parent.parent / "results" / "app_browser" / "step_timing.json"
SIZES = {"default (420 agents)": 300, "1,000 agents": 880}  # members of the public; 20 + 100 holders


def time_steps(public: int, clicks: int) -> dict[str, float]:
    rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)[1]
    rc.find(v.Slider, label="Members of the public").widget.v_model = public
    rc.find(v.Btn, children=["Reset"]).widget.click()
    step = rc.find(v.Btn, children=["Step"]).widget
    wall, cpu = [], []
    for _ in range(clicks):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        step.click()
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    assert rc.find(children=[f"Step: {clicks}"]).widgets, "the page did not advance"
    rc.close()  # outside a server, Mesa's redraw trigger is shared: a live page would redraw too
    return {"median_wall_s": round(statistics.median(wall), 3), "median_cpu_s": round(statistics.median(cpu), 3),
            "max_wall_s": round(max(wall), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_step", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args()
    results = {"load_average_start": os.getloadavg()}
    for name, public in SIZES.items():
        results[name] = time_steps(public, args.clicks)
        print(f"{name}: {results[name]}")
    results["load_average_end"] = os.getloadavg()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"load average {results['load_average_start']} -> {results['load_average_end']}; written to {OUT}")


if __name__ == "__main__":
    main()
