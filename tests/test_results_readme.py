"""results/README.md documents every table, every column (unit; per step, level or cumulative) and every plot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sim
from sim.outputs.deck import CHARTS
from sim.outputs.risk_plots import RISK_CHARTS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "results" / "README.md"
KINDS = {"key", "per step", "level", "cumulative"}


def _documented() -> dict[str, dict[str, str]]:
    """Column name (or pattern with ``<…>``) → kind, per ``### `<table>.parquet``` section."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in README.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### `(\w+)\.parquet`", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        if line.startswith("## "):
            current = None
        if current is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for name in re.findall(r"`([^`]+)`", cells[0]):
                current[name] = cells[2]
    return tables


def _match(column: str, documented: dict[str, str]) -> str | None:
    if column in documented:
        return documented[column]
    for name, kind in documented.items():
        if "<" in name and re.fullmatch(re.sub(r"<[^>]+>", r"\\w+", name), column):
            return kind
    return None


@pytest.fixture(scope="module")
def credit_run_tables():
    scenario = sim.load_scenario(ROOT / "scenarios" / "credit_insurance.yaml",
                                 overrides={"population.size": 1500})
    assert scenario.credit.enabled and scenario.insurers
    return sim.run(scenario, replications=1).tables


def test_every_column_of_a_credit_run_is_documented(credit_run_tables):
    documented = _documented()
    assert set(credit_run_tables) <= set(documented), f"tables missing from results/README.md: " \
        f"{sorted(set(credit_run_tables) - set(documented))}"
    assert not credit_run_tables["credit"].empty and not credit_run_tables["insurers"].empty
    missing = {name: [c for c in table.columns if _match(c, documented[name]) is None]
               for name, table in credit_run_tables.items()}
    missing = {name: cols for name, cols in missing.items() if cols}
    assert not missing, f"document these columns in results/README.md: {missing}"


def test_every_column_says_whether_it_is_per_step_level_or_cumulative():
    for table, columns in _documented().items():
        for name, kind in columns.items():
            assert kind in KINDS, f"results/README.md {table}.{name}: kind {kind!r} is not one of {sorted(KINDS)}"
    institutions = _documented()["institutions"]
    assert institutions["cac"] == "per step" and institutions["profit"] == "per step"


def test_every_plot_is_listed():
    text = README.read_text(encoding="utf-8")
    for filename, _, _ in (*CHARTS, *RISK_CHARTS):
        assert f"`{filename}`" in text, f"results/README.md does not describe {filename}"
