"""Sampling designs over parameter ranges, each drawn from a seed: Latin hypercubes (scipy) for
sweeps and policy packages, Morris and Sobol designs (SALib) for sensitivity analysis."""

from __future__ import annotations

from typing import Any

import numpy as np


def latin_hypercube(dimensions: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` points in the unit cube, one in each of ``samples`` equal strata of every dimension."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=dimensions, rng=np.random.default_rng(seed)).random(samples)


def on_range(unit: float, low: float, high: float) -> int | float:
    """A draw in [0, 1) carried onto [low, high]; with integer bounds every integer is equally likely."""
    if isinstance(low, int) and isinstance(high, int):
        return min(high, low + int(unit * (high - low + 1)))
    return float(low + unit * (high - low))


def problem_of(ranges: dict[str, list[float]]) -> dict[str, Any]:
    """SALib's description of the parameter space: names and [low, high] bounds."""
    return {"num_vars": len(ranges), "names": list(ranges), "bounds": [list(b) for b in ranges.values()]}


def salib_points(method: str, dimensions: int, samples: int) -> int:
    """The rows :func:`salib_design` draws, counted without drawing them: a Morris trajectory is
    dimensions + 1 points; Saltelli's design without second-order indices, dimensions + 2 per base point."""
    return samples * (dimensions + (1 if method == "morris" else 2))


def salib_design(method: str, problem: dict[str, Any], samples: int, levels: int, seed: int) -> np.ndarray:
    """Morris trajectories (``samples`` of them, on a grid of ``levels``), or Saltelli's design for
    first-order and total Sobol indices (``samples`` base points), one row per point."""
    if method == "morris":
        from SALib.sample import morris
        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    from SALib.sample import sobol
    return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
