"""Configuration: the declared parameters (``schema``), reading files (``loader``) and dotted keys
(``keys``).  The names below are the public ones; helpers are imported from their own module."""

from simulation.config.loader import load_scenario, parse_override, read_validated, read_yaml
from simulation.config.schema import (Block, CognitionSettings, CountermeasureSettings, Countermeasures,
                                      EcosystemSettings, MechanismSettings, Network, Parameters, Population, Scenario,
                                      SecuritySettings, assumptions, field_bounds, param, parameter_markdown,
                                      parameter_table)
from simulation.errors import ConfigError

__all__ = [
    "Block", "CognitionSettings", "ConfigError", "CountermeasureSettings", "Countermeasures", "EcosystemSettings",
    "MechanismSettings", "Network", "Parameters", "Population", "Scenario", "SecuritySettings", "assumptions",
    "field_bounds", "load_scenario", "param", "parameter_markdown", "parameter_table", "parse_override",
    "read_validated", "read_yaml",
]
