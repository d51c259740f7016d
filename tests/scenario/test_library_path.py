"""The scenario library is found from the package's location, not the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]


def test_library_path_finds_the_library_from_any_working_directory(tmp_path, monkeypatch):
    from sim.scenario.library import LIBRARY_DIR, library_path

    monkeypatch.chdir(tmp_path)
    assert library_path("baseline") == ROOT / "scenarios" / "baseline.yaml" and LIBRARY_DIR.is_dir()
    with pytest.raises(ScenarioError, match="baseline"):
        library_path("no_such_scenario")
