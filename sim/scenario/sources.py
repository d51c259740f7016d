"""The ids of stylized and empirical facts (``SF3``, ``EF2``) that scenarios and targets cite.

The facts are listed in docs/sources.md, one ``### <id> — title`` heading
each.  A scenario's ``sources:`` and a calibration target's ``source`` must
name an id with an entry there; the file is found from the scenario's (or
targets file's) folder upwards, and where there is none the ids are checked
for their form only.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from sim.errors import Problem
from sim.inputs import read_text

#: Where the facts are listed, relative to the project folder.
SOURCES_FILE = Path("docs") / "sources.md"


def source_ids(sources: str | Path) -> set[str]:
    """The ids with an entry (``### <id> — title``) in a sources file such as docs/sources.md."""
    path = Path(sources)
    stat = path.stat()
    return set(_ids(str(path.resolve()), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=8)
def _ids(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """The ids of one version of a sources file (read once per version)."""
    text = read_text(Path(path), "a sources file (docs/sources.md)")
    return frozenset(m.group(1) for m in re.finditer(r"^### ((?:SF|EF)\d+)\b", text, flags=re.M))


def find_sources(start: Path) -> Path | None:
    """docs/sources.md in the folder of ``start`` or one of its parents, or None."""
    for folder in [start, *start.parents]:
        candidate = folder / SOURCES_FILE
        if candidate.is_file():
            return candidate
    return None


def sorted_ids(ids: set[str]) -> list[str]:
    """Ids in reading order: SF before EF as listed, by number (SF2 before SF10)."""
    return sorted(ids, key=lambda s: (s[:2], int(s[2:])))


def check_sources(cited: list[str], base_dir: Path | None, key: str = "sources",
                  kinds: tuple[str, ...] = ("SF",)) -> list[Problem]:
    """Each cited id without an entry in the docs/sources.md found from ``base_dir`` upwards.

    Parameters
    ----------
    cited : list of str
        The ids, in file order (their form is checked by the schema).
    base_dir : Path or None
        The folder of the file citing them; None (or no sources file found)
        checks nothing.
    key : str
        The key of the list, for the key path of each problem (``sources[i]``).
    kinds : tuple of str
        The id prefixes the list may cite (a scenario cites stylized facts,
        ``SF``), listed as what is allowed.
    """
    if base_dir is None or not cited:
        return []
    sources = find_sources(Path(base_dir).resolve())
    if sources is None:
        return []
    known = {sid for sid in source_ids(sources) if sid.startswith(kinds)}
    allowed = ", ".join(sorted_ids(known)) or f"(none listed in {SOURCES_FILE.as_posix()})"
    return [Problem(f"{key}[{i}]", f"{sid!r} has no entry in {SOURCES_FILE.as_posix()}", allowed)
            for i, sid in enumerate(cited) if sid not in known]


__all__ = ["SOURCES_FILE", "check_sources", "find_sources", "sorted_ids", "source_ids"]
