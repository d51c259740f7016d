"""docs/sources.md explains every fact the project cites (SF and EF ids), and says where it is used."""

from __future__ import annotations

import re
from pathlib import Path

from sim.cli import main
from sim.scenario.library import NOT_SCENARIOS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"
ID = re.compile(r"\b(?:SF|EF)\d+\b")


def _entries() -> dict[str, str]:
    """Each ``### <id> — title`` section of docs/sources.md, by id."""
    text = SOURCES.read_text(encoding="utf-8")
    parts = re.split(r"^### ", text, flags=re.M)[1:]
    return {part.split(" ", 1)[0]: part for part in parts}


def _cited(folder: str, pattern: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob(pattern)):
        for fid in ID.findall(path.read_text(encoding="utf-8")):
            found.setdefault(fid, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_cited_id_has_an_entry():
    entries = _entries()
    cited = _cited("scenarios", "*.yaml")
    for fid, files in _cited("docs", "*.md").items():
        cited.setdefault(fid, set()).update(files)
    missing = {fid: sorted(files) for fid, files in cited.items() if fid not in entries}
    assert not missing, f"add these ids to docs/sources.md: {missing}"


def test_every_entry_says_where_it_comes_from_and_where_it_is_used():
    for fid, entry in _entries().items():
        for field in ("**Source:**", "**Scenarios:**", "**Tests:**"):
            assert field in entry, f"docs/sources.md {fid}: missing {field}"


def test_the_scenarios_listed_for_an_id_cite_it():
    """An entry's scenario list is the scenarios whose file names the id: no more, no fewer."""
    cited = _cited("scenarios", "*.yaml")
    for fid, entry in _entries().items():
        line = next(line for line in entry.splitlines() if line.startswith("- **Scenarios:**"))
        listed = set(re.findall(r"`([^`]+)`", line))
        actual = {Path(f).stem for f in cited.get(fid, ()) if Path(f).name not in NOT_SCENARIOS}
        assert listed == actual, f"docs/sources.md {fid}: lists scenarios {sorted(listed)}, files cite {sorted(actual)}"


def test_list_points_to_the_sources(capsys):
    assert main(["list", "--directory", str(ROOT / "scenarios")]) == 0
    assert "docs/sources.md" in capsys.readouterr().out
