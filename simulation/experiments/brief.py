"""A one-page brief of a comparison for a policymaker: what the package changes, what it costs,
its headline effects with 95% intervals, two figures, the model version and the seeds.

One A4 page drawn with matplotlib (its PDF backend); the numbers are those of
:func:`simulation.experiments.compare.effects` and :func:`simulation.experiments.compare.bands`.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulation.core.provenance import code_version
from simulation.experiments.compare import ARMS, BANDS, Comparison, bands, effects
from simulation.experiments.numbers import number

A4 = (8.27, 11.69)  # inches
ARM_COLOURS = {"package": "#1d4e89", "baseline": "#999999"}
FIGURES = ("sharing_volume", "producer_integration")  # the two figures of the page
HEADLINES = ("final_year_volume", "final_year_fulfilment", "producer_integration", "islands",
             "forced_volume_share", "total_net_countermeasure_cost")


def effect_line(row: pd.Series) -> str:
    return (f"{row['label']}: {number(row['package'])} vs {number(row['baseline'])};"
            f" effect {number(row['effect'])} (95% CI {number(row['effect_low'])} to {number(row['effect_high'])})")


def changes_text(changes: dict[str, Any]) -> list[str]:
    if not changes:
        return ["No lever changed: the preset as it is."]
    return [f"{key} = {value}" for key, value in changes.items()]


def draw_band(ax: Axes, comparison: Comparison, metric: str) -> None:
    frame = bands(comparison, metric)
    for arm in ARMS:
        rows = frame[frame["arm"] == arm]
        ax.plot(rows["step"], rows["mean"], color=ARM_COLOURS[arm], label=arm)
        ax.fill_between(rows["step"], rows["ci_low"], rows["ci_high"], color=ARM_COLOURS[arm], alpha=0.25, linewidth=0)
    ax.set_title(BANDS[metric], fontsize=9)
    ax.set_xlabel("month", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)


def brief_figure(comparison: Comparison, title: str, changes: dict[str, Any], version: str | None = None) -> Figure:
    """The page as a matplotlib figure."""
    table = effects(comparison).set_index("outcome")
    runs = len(comparison.seeds)
    figure = Figure(figsize=A4)
    put = figure.text
    put(0.06, 0.955, title, fontsize=16, weight="bold")
    intro = (f"The package against the baseline (the same world with every countermeasure off) over {runs} runs"
             f" of {comparison.steps} months each, the same {runs} seeds for both.")
    y = 0.94
    for line in textwrap.wrap(intro, 100):
        put(0.06, y, line, fontsize=9)
        y -= 0.015
    y -= 0.015
    put(0.06, y, "The package", fontsize=11, weight="bold")
    for line in changes_text(changes)[:14]:
        y -= 0.017
        put(0.08, y, line, fontsize=8.5, family="monospace")
    cost = table.loc["total_net_countermeasure_cost"]
    y -= 0.03
    put(0.06, y, "Its cost", fontsize=11, weight="bold")
    y -= 0.019
    put(0.08, y, f"{number(cost['package'])} × 10,000 yuan over {comparison.steps} months on average, net of"
        f" the fines collected (baseline {number(cost['baseline'])}).", fontsize=9)
    y -= 0.03
    put(0.06, y, "Headline effects (package minus baseline, 95% confidence interval)", fontsize=11, weight="bold")
    for name in HEADLINES:
        for line in textwrap.wrap(effect_line(table.loc[name]), 110):
            y -= 0.018
            put(0.08, y, line, fontsize=8.5)
    top = y - 0.03
    height = min(0.3, top - 0.12)
    for i, metric in enumerate(FIGURES):
        draw_band(figure.add_axes((0.08 + i * 0.47, top - height, 0.39, height)), comparison, metric)
    seeds = ", ".join(str(s) for s in comparison.seeds)
    footer = (f"Lines: mean over the runs; bands: 95% interval of the mean. Effects: paired by seed"
              f" (both arms run the same seeds), t interval."
              f" Model version {version or code_version()}. Seeds: {seeds}")
    for i, line in enumerate(textwrap.wrap(footer, 150)[:6]):
        put(0.06, 0.075 - i * 0.013, line, fontsize=6.5, color="#444444")
    return figure


def brief_pdf(comparison: Comparison, title: str, changes: dict[str, Any], version: str | None = None) -> bytes:
    """The one-page brief as PDF bytes."""
    buffer = io.BytesIO()
    brief_figure(comparison, title, changes, version).savefig(buffer, format="pdf")
    return buffer.getvalue()
