"""Scenario files: schema, loading with ``extends`` and overrides, dotted paths."""

from sim.scenario.loader import dump_resolved, load_scenario, with_overrides
from sim.scenario.paths import get_path
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "with_overrides", "dump_resolved", "get_path"]
