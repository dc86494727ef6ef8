"""Government-enterprise-public data-sharing simulator."""

from simulation.config import ConfigError, Scenario, load_scenario
from simulation.model import DataSharingModel
from simulation.runner import RunResult, run

__all__ = ["ConfigError", "DataSharingModel", "RunResult", "Scenario", "load_scenario", "run"]
