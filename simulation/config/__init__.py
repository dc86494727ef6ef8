"""Configuration: the declared parameters (``schema``), reading files (``loader``) and dotted keys
(``keys``).  The names below are the public ones; helpers are imported from their own module."""

from simulation.config.loader import load_scenario, parse_override, read_validated, read_yaml
from simulation.config.schema import (Block, Cognition, Countermeasure, Countermeasures, Ecosystem, Mechanism,
                                      Network, Parameters, Population, Scenario, Security, assumptions, field_bounds, param,
                                      parameter_markdown, parameter_table)
from simulation.errors import ConfigError

__all__ = [
    "Block", "Cognition", "ConfigError", "Countermeasure", "Countermeasures", "Ecosystem", "Mechanism", "Network",
    "Parameters", "Population", "Scenario", "Security", "assumptions", "field_bounds", "load_scenario", "param",
    "parameter_markdown", "parameter_table", "parse_override", "read_validated", "read_yaml",
]
