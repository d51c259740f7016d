"""The store: atomic files and folders, sweep parts, the manifest and the folder lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.experiments import store

ROOT = Path(__file__).resolve().parents[2]


def test_atomic_writes_replace_the_file_whole(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    assert store.write_text(path, "one") == path
    store.write_text(path, "two")
    assert path.read_text() == "two"
    store.write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    store.write_json(tmp_path / "c.json", {"x": Path("p")}, default=str)
    assert (tmp_path / "c.json").read_text() == '{\n  "x": "p"\n}\n'
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    store.write_parquet(tmp_path / "d.parquet", frame, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "d.parquet"), frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "c.json", "d.parquet", "sub"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    store.write_text(path, "old")
    with pytest.raises(RuntimeError, match="boom"):
        with store.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]

    class Unwritable:
        def to_parquet(self, *args, **kwargs):
            raise ValueError("cannot encode")

    with pytest.raises(ValueError, match="cannot encode"):
        store.write_parquet(tmp_path / "t.parquet", Unwritable())
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_folder_write_leaves_the_old_folder_and_no_temporary(tmp_path):
    out = tmp_path / "results"

    def fill(text):
        def write(tmp: Path) -> None:
            (tmp / "file.txt").write_text(text)
        return write

    store.write_folder(out, fill("first"))
    def broken(tmp: Path) -> None:
        (tmp / "file.txt").write_text("partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.write_folder(out, broken)
    assert (out / "file.txt").read_text() == "first"
    store.write_folder(out, fill("second"))
    assert (out / "file.txt").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_parts_are_whole_or_absent_and_never_written_twice(tmp_path):
    parts = tmp_path / "parts"
    (parts / f"{store.PART_TMP_PREFIX}p000001-r0000").mkdir(parents=True)   # left by a killed writer
    assert store.finished_parts(parts) == set()
    store.write_part(parts, "p000000-r0000", {"market.parquet": b"data"})
    assert store.finished_parts(parts) == {"p000000-r0000"}
    assert (parts / "p000000-r0000" / "market.parquet").read_bytes() == b"data"
    with pytest.raises(AssertionError, match="never be duplicated"):
        store.write_part(parts, "p000000-r0000", {"market.parquet": b"again"})
    store.remove_stale_parts(parts)
    assert sorted(p.name for p in parts.iterdir()) == ["p000000-r0000"]


def test_manifest_round_trip_and_missing_manifest(tmp_path):
    store.write_manifest(tmp_path, {"format": "x", "runs": 3})
    assert store.read_manifest(tmp_path) == {"format": "x", "runs": 3}
    with pytest.raises(ScenarioError, match="manifest.json: not found: this is not a sweep folder"):
        store.read_manifest(tmp_path / "elsewhere")


@pytest.mark.slow  # waits on a second process
def test_the_lock_is_refused_while_another_process_holds_it(tmp_path):
    """A second sweep into a held folder gets a ScenarioError naming the folder, at once."""
    holder = textwrap.dedent(f"""
        import sys, time
        from sim.experiments.store import FolderLock
        lock = FolderLock({str(tmp_path)!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.readline()
        lock.release()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        lock = store.FolderLock(tmp_path)
        started = time.monotonic()
        with pytest.raises(ScenarioError) as info:
            lock.acquire()
        assert time.monotonic() - started < 5      # refused, not waited for
        assert not lock.held
        message = info.value.render()
        assert message.startswith(f"{tmp_path}: .lock: another sweep is writing here")
        assert "delete the .lock file if no sweep is running" in message
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
    assert not (tmp_path / ".lock").exists()       # released and removed by its holder
    with store.FolderLock(tmp_path) as lock:       # and free again
        assert lock.held
    assert not (tmp_path / ".lock").exists()


@pytest.mark.slow  # starts and kills a second process
def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    code = (
        f"import os\nfrom sim.experiments.store import FolderLock\nFolderLock({str(tmp_path)!r}).acquire()\nos._exit(9)"
    )
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 9
    assert (tmp_path / ".lock").exists()
    with store.FolderLock(tmp_path) as lock:
        assert lock.held
