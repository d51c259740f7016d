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
        store.write_folder(out, broken, overwrite=True)
    assert (out / "file.txt").read_text() == "first"
    store.write_folder(out, fill("second"), overwrite=True)
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


def test_write_folder_marks_the_folder_and_lists_its_files(tmp_path):
    out = tmp_path / "results"
    store.write_folder(out, lambda tmp: (tmp / "sub").mkdir() or (tmp / "sub" / "a.txt").write_text("a"))
    marker = store.read_marker(out)
    assert marker["kind"] == "run" and marker["files"] == ["sub/a.txt"]
    assert sorted(p.name for p in out.iterdir()) == [store.MARKER_NAME, "sub"]     # no lock left behind
    assert store.foreign_files(out, marker) == []
    (out / "sub" / "b.txt").write_text("b")
    assert store.foreign_files(out, marker) == ["sub/b.txt"]


def test_folders_the_marker_does_not_account_for_are_foreign(tmp_path):
    out = tmp_path / "results"

    def write(tmp):
        (tmp / "plots").mkdir()
        (tmp / "plots" / "a.png").write_bytes(b"png")
        (tmp / "empty").mkdir()   # an empty folder this program wrote: listed in the marker

    store.write_folder(out, write)
    marker = store.read_marker(out)
    assert marker["files"] == ["plots/a.png"] and marker["folders"] == ["empty"]
    assert store.foreign_files(out, marker) == []
    (out / "mine" / "sub").mkdir(parents=True)
    (out / "plots" / "extra").mkdir()
    assert store.foreign_files(out, marker) == ["mine/", "plots/extra/"]
    with pytest.raises(ScenarioError, match="mine/"):
        store.check_out(out, "run", overwrite=True)
    assert (out / "mine" / "sub").is_dir()


def test_folders_a_kind_may_hold_are_not_foreign(tmp_path):
    (tmp_path / "parts" / "p0000r000").mkdir(parents=True)
    (tmp_path / "parts" / ".tmp-p0001r000").mkdir()
    (tmp_path / "failures").mkdir()
    (tmp_path / "plots").mkdir()
    assert store.foreign_files(tmp_path, {"kind": "sweep"}) == []
    assert store.foreign_files(tmp_path, {"kind": "run", "files": []}) == ["failures/", "parts/", "plots/"]


def _fifo(path):
    """A named pipe; a reader of it is sent end-of-file for 30 s, so that reading it cannot hang the test."""
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need POSIX")
    os.mkfifo(path)

    def writer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                time.sleep(0.05)   # no reader (yet), or the pipe is gone

    threading.Thread(target=writer, daemon=True).start()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("{not json"), "is not valid JSON"),
    (lambda p: p.write_bytes(b"\xe9\n"), "cannot be read (is not UTF-8 text"),
    (lambda p: p.mkdir(), "cannot be read (is a folder, not a file)"),
    (_fifo, "cannot be read (is not a regular file"),
    (lambda p: p.write_text('{"format": "something else"}'), "is not a marker written by this program"),
])
def test_a_marker_that_cannot_be_read_or_is_not_valid_is_named(tmp_path, make, message):
    """Regression: each was reported as 'it has no .bpsim-results.json'."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text("{}")
    make(out / store.MARKER_NAME)
    with pytest.raises(ScenarioError) as info:
        store.check_out(out, "run", overwrite=True)
    text = str(info.value)
    assert f"{out / store.MARKER_NAME}" in text and message in text and "nothing in it is touched" in text, text
    assert "it has no" not in text
    assert (out / "run.json").read_text() == "{}"


def test_a_marker_of_someone_else_is_not_ours(tmp_path):
    (tmp_path / store.MARKER_NAME).write_text('{"format": "something else"}')
    assert store.read_marker(tmp_path) is None
    (tmp_path / store.MARKER_NAME).write_text("not json")
    assert store.read_marker(tmp_path) is None


def test_a_temporary_folder_still_being_written_is_not_removed(tmp_path):
    """Only temporaries whose lock no live process holds are stale."""
    out = tmp_path / "out"
    live = tmp_path / f".out{store.TMP_INFIX}live"
    live.mkdir()
    store.write_marker(live, "run")
    holder = textwrap.dedent(f"""
        import sys
        from sim.experiments.store import FolderLock
        lock = FolderLock({str(live)!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.readline()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert store.remove_stale_temporaries(out) == []
        assert live.is_dir()
    finally:
        proc.communicate("\n", timeout=30)
    assert store.remove_stale_temporaries(out) == [live]      # its writer is gone
    assert not live.exists()


def test_an_old_folder_left_mid_swap_is_restored_or_removed(tmp_path):
    out = tmp_path / "out"
    old = tmp_path / f".out{store.OLD_INFIX}x"
    old.mkdir()
    store.write_marker(old, "run", files=[])
    store.remove_stale_temporaries(out)          # killed between the two renames: the old results come back
    assert out.is_dir() and not old.exists()
    old.mkdir()
    store.write_marker(old, "run", files=[])
    store.remove_stale_temporaries(out)          # the swap was done: the old copy is garbage
    assert out.is_dir() and not old.exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("x"), "not a folder"),
    (lambda p: (p.mkdir(), (p / "x").write_text("x")), "not written by this program"),
    (lambda p: (p.mkdir(), store.write_marker(p, "run", files=[])), "--overwrite"),
])
def test_check_out_refuses_without_touching(tmp_path, make, message):
    out = tmp_path / "out"
    make(out)
    with pytest.raises(ScenarioError, match=message) as info:
        store.check_out(out, "run")
    assert info.value.source == f"--out {out}"
    with pytest.raises(ScenarioError):
        store.write_folder(out, lambda tmp: (tmp / "new").write_text("new"))
    assert not (out / "new").exists() if out.is_dir() else out.read_text() == "x"
