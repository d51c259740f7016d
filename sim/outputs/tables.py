"""Write and read the run's tables as Parquet files, one file per table.

Parquet keeps the column types (ints stay ints, strings stay strings) and is
read by pandas, polars, R and DuckDB, so a result directory can be analysed
without this package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from sim.experiments.store import write_parquet

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path) -> dict[str, Path]:
    """Write each table to ``<out_dir>/<name>.parquet``, atomically.

    Each file is first written to a temporary file in ``out_dir`` and then
    renamed over the target, so an interrupted run never leaves a truncated
    Parquet file where a complete one is expected.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name (letters, digits, ``_`` or ``-``; it becomes the file
        name) to table, e.g. ``{"market": ..., "institutions": ...}``.
    out_dir : Path
        Destination directory; created if missing.

    Returns
    -------
    dict of str to Path
        The file written for each table.
    """
    out_dir = Path(out_dir)
    for name, frame in tables.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"table name {name!r} cannot be a file name; "
                "use letters, digits, '_' or '-'"
            )
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        path = out_dir / f"{name}.parquet"
        written[name] = write_parquet(path, frame)
    return written


def read_tables(out_dir: Path, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read the Parquet tables of a result directory.

    Parameters
    ----------
    out_dir : Path
        A directory written by :func:`write_tables`.
    names : iterable of str, optional
        Tables to read. By default every ``*.parquet`` file in ``out_dir``
        (temporary files left by a killed writer are skipped).

    Returns
    -------
    dict of str to DataFrame
        Table name (file stem) to table.

    Raises
    ------
    FileNotFoundError
        If ``out_dir`` does not exist or a requested table is not in it.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"no result directory at {out_dir}")
    if names is None:
        paths = sorted(p for p in out_dir.glob("*.parquet") if not p.name.startswith("."))
    else:
        paths = [out_dir / f"{name}.parquet" for name in names]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{out_dir} has no {', '.join(missing)}")
    return {p.stem: pd.read_parquet(p, engine="pyarrow") for p in paths}
