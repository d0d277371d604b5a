"""Simulated e-commerce traffic with labelled violations, for demos,
benchmarks and measuring how much targeting catches."""

from clearway.simulate.output import truth_outcome, write_simulation
from clearway.simulate.traffic import VIOLATIONS, SimulationConfig, TruthRow, simulate

__all__ = [
    "VIOLATIONS",
    "SimulationConfig",
    "TruthRow",
    "simulate",
    "truth_outcome",
    "write_simulation",
]
