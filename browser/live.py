"""The model of one browser session, and where its nodes are drawn.

A module of its own because it sits between the two others: it builds the model from the controls
(:mod:`browser.controls`), and the network figure (:mod:`browser.views`) draws it at the positions
it computes once per Reset.  A Reset never shows a traceback: a model that cannot be built (a
network file gone since its package was loaded, or any error not foreseen) is one line on the page
and in the server's log, and the default scenario is shown instead.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any, Protocol

import networkx as nx
import numpy as np

from agents import Role
from browser.controls import CONTROLS, DEFAULT_PRESET, SCENARIO_DIR, Settings, problem_line, scenario_from_controls
from simulation.config import load_scenario
from simulation.core.model import DataSharingModel

log = logging.getLogger(__name__)

GOV, ENT, PUB = Role
RING_RADIUS = {GOV: 0.35, ENT: 0.7, PUB: 1.0}


class SessionSettings(Protocol):
    """What the page hands the model: a session's settings, as they are at each Reset (a Solara
    reactive variable on the page)."""

    @property
    def value(self) -> Settings: ...


class BrowserModel(DataSharingModel):
    """The model built from the page's controls; keeps what the page draws.

    Args:
        scenario: ignored.  Mesa's Reset passes its own scenario object to every model; here the
            seed control fixes every random draw instead.
        settings: the session's settings, read at each Reset (Mesa passes them as a fixed parameter).
        controls: without ``settings``, controls by key (see ``CONTROLS``); missing ones take their default.
    """

    def __init__(self, scenario: Any = None, settings: SessionSettings | None = None, **controls: Any) -> None:
        unknown = sorted(set(controls) - set(CONTROLS))
        if unknown:
            raise TypeError(f"unknown controls: {', '.join(unknown)}")
        if settings is not None:
            config, seed, problems = settings.value.scenario()
        else:
            config, seed, problems = scenario_from_controls(controls)
        try:
            super().__init__(config, seed=seed)
        except Exception as exc:  # noqa: BLE001 - the page and the log get one line, never a traceback
            problem = problem_line(exc)
            log.error("Reset could not build the model: %s", problem)
            config = load_scenario(SCENARIO_DIR / f"{DEFAULT_PRESET}.yaml")
            seed, problems = config.seed, [*problems, f"The model could not be built ({problem});"
                                                      f" the {DEFAULT_PRESET} scenario is shown instead."]
            super().__init__(config, seed=seed)
        self.seed = seed
        self.problems = problems

    @cached_property
    def positions(self) -> np.ndarray:
        """Node positions, computed once per model (that is, once per Reset)."""
        return role_layout(self)


def role_layout(model: DataSharingModel) -> np.ndarray:
    """Concentric rings: the coordinator at the centre, departments, enterprises, then the public;
    each ring ordered by the mean angle of its neighbours on the inner rings so that ties stay short."""
    n, role = model.layout.total, model.population.role
    adjacency = nx.to_scipy_sparse_array(model.graph, nodelist=range(n), format="csr")
    angle = np.full(n, np.nan)  # NaN: not placed yet (the coordinator, at the centre, never is)
    departments = np.flatnonzero(role == GOV)[1:]
    angle[departments] = evenly_spaced(len(departments))
    for ring in (ENT, PUB):
        members = np.flatnonzero(role == ring)
        placed = ~np.isnan(angle)
        towards = adjacency[members][:, placed]
        sin, cos = towards @ np.sin(angle[placed]), towards @ np.cos(angle[placed])
        target = np.where((sin == 0) & (cos == 0), evenly_spaced(len(members)), np.arctan2(sin, cos))
        angle[members[np.argsort(target, kind="stable")]] = evenly_spaced(len(members))
    radius = np.array([RING_RADIUS[r] for r in Role])[role]
    radius[0], angle[0] = 0.0, 0.0  # the coordinator
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def evenly_spaced(count: int) -> np.ndarray:
    """Angles of ``count`` points evenly around a circle."""
    return 2 * np.pi * np.arange(count) / max(count, 1)
