"""Experiments: replications, comparisons, sweeps and sensitivity analysis."""
