"""Every project file the README and the docs name exists (tests move; the docs must follow)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAMED = re.compile(r"\b(?:tests|benchmarks|sim|scenarios|notebooks|docs|\.ci)/[\w./-]+\.(?:py|yaml|md|ipynb|sh)\b")


def _named_paths(doc: Path) -> set[str]:
    return set(NAMED.findall(doc.read_text(encoding="utf-8")))


def test_the_pattern_finds_the_paths_a_doc_names(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("See `tests/dashboard/test_charts.py::test_x`, benchmarks/bench_step.py and results/x.parquet.\n")
    assert _named_paths(doc) == {"tests/dashboard/test_charts.py", "benchmarks/bench_step.py"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_file_a_doc_names_exists(doc):
    missing = [name for name in sorted(_named_paths(doc))
               if not (ROOT / name).exists() and not (doc.parent / name).exists()]
    assert not missing, f"{doc.relative_to(ROOT)} names files that do not exist: {missing}"
