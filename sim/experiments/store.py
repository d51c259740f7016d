"""Everything written to disk, written so that readers never see half of it.

A file is written to a hidden temporary file beside its target and moved over
it with :func:`os.replace`, an atomic rename on POSIX and Windows; a folder
(a run's results, a sweep's part) is filled under a hidden temporary name and
renamed into place.  Either way an interrupted or failed write leaves the old
file or folder, or nothing, and no temporary behind.

Sweep folders also hold a manifest (the sweep's identity, see
:mod:`sim.experiments.sweep`) and a ``.lock`` file, held with :mod:`filelock`
while a process writes into the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError

#: Name of the lock file in a sweep folder.
LOCK_NAME = ".lock"
#: Name of the manifest in a sweep folder.
MANIFEST_NAME = "manifest.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- files
@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; move it onto ``final`` on success.

    If the body raises, the temporary file is removed and ``final`` is left
    untouched.  The temporary name starts with a dot and ends in ``.tmp`` so
    that directory listings can skip it.

    Parameters
    ----------
    final : Path
        Where the file must end up.  Its directory is created if needed.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual new-file mode
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_json(path: str | Path, data: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Write ``data`` as indented JSON (with a final newline) to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, default=default) + "\n")


def write_parquet(path: str | Path, frame: pd.DataFrame, *, index: bool | None = None) -> Path:
    """Write a DataFrame as Parquet (pyarrow) to ``path`` atomically and return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=index)
    return path


# --------------------------------------------------------------------------- folders
def write_folder(out: str | Path, write: Callable[[Path], Any]) -> Path:
    """Let ``write(tmp_dir)`` fill a temporary folder, then move it to ``out`` in one step.

    An interrupted or failed write leaves no partial folder; an existing
    folder is replaced only once the new one is complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write(tmp)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- sweep parts
PART_TMP_PREFIX = ".tmp-"


def write_part(parts: Path, name: str, files: Mapping[str, bytes]) -> Path:
    """Write one run's files as ``parts/<name>/<file>``, renamed into place as a whole.

    The files go to a hidden temporary folder that is then renamed, so a
    part either exists whole or not at all, even if the process is killed
    mid-write.  A part is never written twice.
    """
    final = parts / name
    assert not final.exists(), f"run {name} was already written; a run must never be duplicated"
    tmp = parts / f"{PART_TMP_PREFIX}{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for filename, data in files.items():
        (tmp / filename).write_bytes(data)
    os.rename(tmp, final)
    return final


def finished_parts(parts: Path) -> set[str]:
    """Names of the complete parts in ``parts`` (hidden temporary folders do not count)."""
    if not parts.is_dir():
        return set()
    return {p.name for p in parts.iterdir() if p.is_dir() and not p.name.startswith(".")}


def remove_stale_parts(parts: Path) -> None:
    """Remove temporary part folders left by a killed process."""
    for stale in parts.glob(f"{PART_TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------- manifest and lock
def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep folder; a ScenarioError if there is none."""
    path = Path(out) / MANIFEST_NAME
    if not path.is_file():
        raise ScenarioError.single(
            out, MANIFEST_NAME, "not found: this is not a sweep folder", "a folder written by `sweep`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(out: str | Path, manifest: Mapping[str, Any]) -> Path:
    """Write a sweep folder's manifest atomically."""
    return write_json(Path(out) / MANIFEST_NAME, manifest, default=str)


class FolderLock:
    """A lock on a folder so that two processes never write into it at once.

    Held through :class:`filelock.FileLock` on ``<folder>/.lock``: the
    operating system releases it when the holder exits, even when killed, so
    a lock left by a dead process is simply taken over.  Acquiring does not
    wait: a folder held by another process is a :class:`ScenarioError`.
    """

    def __init__(self, folder: str | Path, what: str = "another sweep"):
        from filelock import FileLock

        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self._lock = FileLock(self.path, timeout=0)

    def acquire(self) -> None:
        """Take the lock, or raise a ScenarioError naming the folder if another process holds it."""
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise ScenarioError.single(
                self.folder, LOCK_NAME, f"{self.what} is writing here",
                f"wait for it, or delete the {LOCK_NAME} file if no sweep is running") from None

    def release(self) -> None:
        """Let go of the lock (a no-op when not held) and remove the lock file.

        The file is removed while still held, so that a finished sweep leaves
        no ``.lock``; a process that opened the old file meanwhile sees it
        unlinked and retries on a new one (filelock checks for this).
        """
        if self._lock.is_locked:
            self.path.unlink(missing_ok=True)
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


__all__ = [
    "FolderLock",
    "atomic_path",
    "finished_parts",
    "read_manifest",
    "remove_stale_parts",
    "write_bytes",
    "write_folder",
    "write_json",
    "write_manifest",
    "write_parquet",
    "write_part",
    "write_text",
]
