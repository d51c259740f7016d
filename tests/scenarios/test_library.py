"""The scenario library: every file loads, says what it shows, cites real stylized facts, and is listed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario import load_scenario
from sim.scenario.library import scenario_files

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
#: The facts the project cites, in the project's own words (docs/sources.md).
FACTS = ROOT / "docs" / "sources.md"
FILES = scenario_files(SCENARIOS)
#: The adoption-side strategies of issue 4 (the risk side's are checked the same way by the loop below).
ADOPTION_SIDE = ("baseline", "bank_platform_alliance", "financial_supermarket", "live_streaming",
                 "referral_incentives", "employee_self_media", "city_bank_local", "own_app_only",
                 "lifecycle_precision")


def test_the_library_has_the_adoption_side_strategies():
    missing = [name for name in ADOPTION_SIDE if not (SCENARIOS / f"{name}.yaml").exists()]
    assert not missing, f"missing scenario files: {missing}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_scenario_loads_and_says_what_it_shows(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem, "the name should be the file stem, so results/<name>/ matches the file"
    description = scenario.description.strip()
    assert description and "\n" not in description, "description: one line, shown by `python -m sim list`"
    assert scenario.sources, "sources: the SF ids the scenario draws on"
    assert scenario.shows.strip(), "shows: what the scenario demonstrates"


def test_sources_are_facts_listed_in_docs_sources():
    known = set(re.findall(r"^### ((?:SF|EF)\d+)\b", FACTS.read_text(encoding="utf-8"), flags=re.M))
    assert known, f"no SF ids found in {FACTS}"
    unknown = {path.stem: sorted(set(load_scenario(path).sources) - known) for path in FILES}
    unknown = {name: ids for name, ids in unknown.items() if ids}
    assert not unknown, f"sources not in docs/sources.md: {unknown}"


def test_sim_list_shows_every_scenario_with_its_description():
    out = subprocess.run([sys.executable, "-m", "sim", "list", "--directory", str(SCENARIOS)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for path in FILES:
        description = load_scenario(path).description.strip()
        assert any(
            line.split()[0] == path.stem and line.rstrip().endswith(description) for line in lines if line.split()
        ), f"{path.stem} is not listed with its description:\n{out.stdout}"
