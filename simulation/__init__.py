"""Government-enterprise-public data-sharing simulator.

The model and runner are imported on first use, so commands that only read configuration
(``validate``, ``params``) start without loading Mesa.
"""

from importlib import import_module

from simulation.config import Scenario, load_scenario
from simulation.errors import ConfigError, UserError

_LAZY = {"DataSharingModel": "simulation.core.model", "RunResult": "simulation.core.runner",
         "run": "simulation.core.runner"}

__all__ = ["ConfigError", "DataSharingModel", "RunResult", "Scenario", "UserError", "load_scenario", "run"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")
