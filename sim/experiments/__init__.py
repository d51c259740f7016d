"""Experiments: replications, comparisons, sweeps and sensitivity analysis, and what they compute from runs.

- :mod:`~sim.experiments.replicate`: ``run``, ``RunResult``;
- :mod:`~sim.experiments.schema`, :mod:`~sim.experiments.metrics`, :mod:`~sim.experiments.stats`,
  :mod:`~sim.experiments.summary`: the tables of a run, the one reduction of a run to metrics, intervals
  over replications, the summary;
- :mod:`~sim.experiments.compare`, :mod:`~sim.experiments.design`, :mod:`~sim.experiments.sweep`,
  :mod:`~sim.experiments.gather`, :mod:`~sim.experiments.backends`, :mod:`~sim.experiments.sensitivity`;
- :mod:`~sim.experiments.targets`, :mod:`~sim.experiments.target_metrics`, :mod:`~sim.experiments.calibration`:
  calibration targets and priors, the metrics they name, and the joint ABC-SMC fit;
- :mod:`~sim.experiments.store`: every write to disk (atomic files and folders, sweep parts, manifest, lock).
"""
