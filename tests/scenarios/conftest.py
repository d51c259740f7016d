"""Every test in tests/scenarios/ is marked ``slow``.

These are end-to-end checks of the strategy library: each runs whole scenarios
over several replications (module-scoped fixtures of 5-40 s on two cores), so
they stay out of the fast loop ``python -m pytest -m "not slow"`` and run in the
full suite (``python -m pytest``, what CI runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by -m
def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)
