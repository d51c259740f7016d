"""Parquet tables: round trip, atomic replacement, name checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.outputs import read_tables, write_tables


def test_round_trip_is_exact(output_tables, tmp_path):
    write_tables(output_tables, tmp_path)
    back = read_tables(tmp_path)
    assert set(back) == set(output_tables)
    for name, frame in output_tables.items():
        pd.testing.assert_frame_equal(back[name], frame, check_exact=True)


def test_round_trip_keeps_nan_and_string_columns(output_tables, tmp_path):
    write_tables(output_tables, tmp_path)
    back = read_tables(tmp_path, names=["market", "channels"])
    assert back["market"]["r_eff"].isna().sum() == output_tables["market"]["r_eff"].isna().sum() > 0
    assert list(back["channels"]["channel"]) == list(output_tables["channels"]["channel"])


def test_files_are_plain_parquet(output_tables, tmp_path):
    paths = write_tables(output_tables, tmp_path)
    for name, path in paths.items():
        assert path == tmp_path / f"{name}.parquet"
        assert pq.read_table(path).num_rows == len(output_tables[name])


def test_writing_leaves_only_the_tables(output_tables, tmp_path):
    write_tables(output_tables, tmp_path)
    write_tables(output_tables, tmp_path)  # replacing existing files too
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}.parquet" for name in output_tables
    )


def test_files_get_the_usual_permissions(output_tables, tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = write_tables({"market": output_tables["market"]}, tmp_path)["market"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_failed_write_keeps_old_file_and_no_temp(output_tables, tmp_path, monkeypatch):
    market = output_tables["market"]
    write_tables({"market": market}, tmp_path)
    before = (tmp_path / "market.parquet").read_bytes()

    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        write_tables({"market": market.iloc[:3]}, tmp_path)
    assert (tmp_path / "market.parquet").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["market.parquet"]


def test_read_skips_leftover_temp_files(output_tables, tmp_path):
    write_tables({"market": output_tables["market"]}, tmp_path)
    (tmp_path / ".funnel.parquet.abc123.tmp").write_bytes(b"junk")
    assert list(read_tables(tmp_path)) == ["market"]


def test_read_missing_table_or_directory_raises(output_tables, tmp_path):
    write_tables({"market": output_tables["market"]}, tmp_path)
    with pytest.raises(FileNotFoundError, match="funnel.parquet"):
        read_tables(tmp_path, names=["market", "funnel"])
    with pytest.raises(FileNotFoundError):
        read_tables(tmp_path / "nope")


@pytest.mark.parametrize("name", ["../market", "a/b", "", ".hidden"])
def test_bad_table_names_are_rejected(name, output_tables, tmp_path):
    with pytest.raises(ValueError, match="file name"):
        write_tables({name: output_tables["market"]}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_non_frames_are_rejected(tmp_path):
    with pytest.raises(TypeError, match="DataFrame"):
        write_tables({"market": [1, 2, 3]}, tmp_path)
