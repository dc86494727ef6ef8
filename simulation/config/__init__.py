"""Configuration: the declared parameters (``schema``) and reading scenario files (``loader``)."""

from simulation.config.schema import *  # noqa: F401,F403
from simulation.config.schema import (  # noqa: F401  (private helpers used by the layers above)
    ConfigError, Scenario, load_scenario,
)
