"""The interactive dashboard: ``python -m sim dashboard SCENARIO.yaml`` (docs/dashboard.md).

- :mod:`~sim.dashboard.levers`: the levers, as dotted scenario paths;
- :mod:`~sim.dashboard.charts`: the live charts and the network view, from tables and state;
- :mod:`~sim.dashboard.app`: the Solara page around Mesa's run controls;
- :mod:`~sim.dashboard.server`: the Solara server for one scenario;
- :mod:`~sim.dashboard.assets`: Solara's front-end files for machines without a CDN.

Nothing is imported here, so that ``import sim`` never pulls in Solara.
"""
