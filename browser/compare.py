"""The page's comparison with the baseline, without Solara: what it runs (the levers as set, and
the baseline, over shared seeds), its figure of bands and its table of final-year effects.  The
runs go through :mod:`simulation.experiments.compare` on the server's shared pool of processes
(:func:`simulation.experiments.execute.shared_processes`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from browser.controls import DEFAULT_PRESET, SCENARIO_DIR, Settings
from simulation.config import ConfigError, load_scenario
from simulation.config.package import changed_values
from simulation.experiments.brief import draw_band
from simulation.experiments.numbers import number
from simulation.experiments.compare import BANDS, Comparison, plan_comparison
from simulation.experiments.plan import RunSpec


@dataclass(frozen=True)
class CompareRequest:
    """What one comparison runs, and how the brief names it."""

    specs: list[RunSpec]
    title: str
    changes: dict[str, Any]


def compare_request(settings: Settings, runs: int, months: int) -> CompareRequest:
    """The comparison of the settings as they are now (raises ConfigError when they do not validate)."""
    config, seed, problems = settings.scenario()
    if problems:
        raise ConfigError(problems[0])
    baseline = load_scenario(SCENARIO_DIR / f"{DEFAULT_PRESET}.yaml")
    package = config.model_copy(update={"seed": seed})
    specs = plan_comparison(package, baseline, runs, months)
    changes = changed_values(package, baseline)
    title = f"The {settings.controls['preset']} scenario" + (f" with {len(changes)} changes to the baseline" if changes else "")
    return CompareRequest(specs, title, changes)


class CompareFigure:
    """The five compared indicators over time: the mean of each arm and its 95% band."""

    def __init__(self, comparison: Comparison) -> None:
        self.figure = Figure(figsize=(11.0, 2.6))
        self.figure.subplots_adjust(left=0.04, right=0.99, top=0.86, bottom=0.16, wspace=0.28)
        for ax, metric in zip(self.figure.subplots(1, len(BANDS)), BANDS):
            draw_band(ax, comparison, metric)


def effects_html(table: pd.DataFrame) -> str:
    """The final-year effects as an HTML table (Markdown would fetch a renderer from a CDN)."""
    cell = 'style="padding:2px 8px;text-align:right"'
    head = "".join(f"<th {cell}>{h}</th>" for h in ("outcome", "package", "baseline", "effect", "95% CI"))
    body = "".join(
        f"<tr><td style='padding:2px 8px'>{row.label}</td><td {cell}>{number(row.package)}</td>"
        f"<td {cell}>{number(row.baseline)}</td><td {cell}>{number(row.effect)}</td>"
        f"<td {cell}>{number(row.effect_low)} to {number(row.effect_high)}</td></tr>"
        for row in table.itertuples())
    return f'<table class="effects" style="font-size:0.9em;border-collapse:collapse"><tr>{head}</tr>{body}</table>'
