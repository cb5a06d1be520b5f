"""District public-safety simulator: disputes, mediators and patrol units on one clock."""

from sim.config import ConfigError, RunConfig, parse_config
from sim.simulation import RunResult, Simulation

__all__ = ["ConfigError", "RunConfig", "RunResult", "Simulation", "parse_config"]
