"""Everything written to disk, written so that readers never see half of it.

A file is written to a hidden temporary file beside its target and moved over
it with :func:`os.replace`, an atomic rename on POSIX and Windows; a folder
(a run's results, a sweep's part) is filled under a hidden temporary name and
renamed into place.  Either way an interrupted or failed write leaves the old
file or folder, or nothing, and no temporary behind.

Every folder this program writes carries a marker file, :data:`MARKER_NAME`,
that says what wrote it (a run, a comparison, a sweep, a sensitivity
analysis) and, for folders written in one step, which files it holds.  An
output folder is never removed or emptied unless it has the marker and holds
nothing the marker does not account for (:func:`check_out`): a folder of the
user's files, a regular file, or the current folder given as ``--out`` is
refused, never deleted.  A results folder is replaced only when asked to
(``overwrite``), and then only once its replacement is complete.  The hidden
temporary folder a results folder is built in is named
``.<name>.bpsim-tmp-<random>`` and holds the marker and a lock while it is
filled; one left by a killed process is removed by the next write to the same
``out`` (:func:`remove_stale_temporaries`).

Sweep folders also hold a manifest (the sweep's identity, see
:mod:`sim.experiments.sweep`) and a ``.lock`` file, held with :mod:`filelock`
while a process writes into the folder.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.inputs import read_text

#: Name of the lock file in a sweep folder.
LOCK_NAME = ".lock"
#: Name of the manifest in a sweep folder.
MANIFEST_NAME = "manifest.json"
#: Name of the marker file in every folder this program writes.
MARKER_NAME = ".bpsim-results.json"
#: ``format`` entry of the marker, to tell it from a file that happens to have the same name.
MARKER_FORMAT = "bankplatform-sim results folder v1"
#: Infix of the hidden temporary folder a results folder is built in (``.<name>.bpsim-tmp-<random>``).
TMP_INFIX = ".bpsim-tmp-"
#: Infix of the hidden name an old results folder has while its replacement is moved in.
OLD_INFIX = ".bpsim-old-"
#: What each kind of folder may hold besides the files its marker lists (folders that grow as they resume).
KIND_FILES = {
    "run": (),
    "compare": (),
    "sweep": (MANIFEST_NAME, "scenario.resolved.yaml", "parts/*", "failures/*", "failures.csv", "*.parquet",
              LOCK_NAME, "summary.csv", "plots/*.png"),
    "sensitivity": ("runs/*", "indices.csv", "indices_second_order.csv", "indices.png", "samples.png",
                    "samples.csv", "sensitivity.json", ".*.tmp"),
    "game": ("runs/*", "payoffs.parquet", "deviations.parquet", "equilibria.json", "report.md", "report.html",
             ".*.tmp"),
    "robustness": ("runs/*", "robustness.parquet", "summary.json", "report.md", "plots/*.png", ".*.tmp"),
    "calibration": (MANIFEST_NAME, LOCK_NAME, "history.db", "history.db-journal", "posterior.parquet",
                    "generations.csv", "parameters.csv", "fit.parquet", "fit.csv", "calibrated.yaml",
                    "calibration.json", "report.md", "plots/*.png", ".*.tmp"),
}


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


# --------------------------------------------------------------------------- markers and output folders
def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a folder this program wrote, or None (no marker, or a file that is not ours)."""
    return _marker(Path(folder))[0]


def _marker(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The marker of ``folder`` and, when there is none, what is wrong with the file of that name (None: absent)."""
    path = folder / MARKER_NAME
    if not path.exists() and not path.is_symlink():
        return None, None
    try:
        text = read_text(path, "a marker file")
    except ScenarioError as exc:
        reason = "; ".join(problem.message for problem in exc.problems)
        return None, f"its marker {path} cannot be read ({reason})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"its marker {path} is not valid JSON ({exc})"
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT:
        return None, f"its {path} is not a marker written by this program (no format {MARKER_FORMAT!r})"
    return data, None


def write_marker(folder: str | Path, kind: str, files: list[str] | None = None,
                 folders: list[str] | None = None) -> Path:
    """Mark ``folder`` as written by this program: what wrote it and, when known, which files it holds.

    ``folders`` lists the folders written that hold none of ``files`` (empty
    ones); the others are accounted for by the files in them.
    """
    from datetime import datetime

    from sim.version import __version__

    assert kind in KIND_FILES, f"unknown kind of results folder {kind!r}"
    data = {"format": MARKER_FORMAT, "kind": kind, "package_version": __version__,
            "written": datetime.now(UTC).isoformat(timespec="seconds")}
    if files is not None:
        data["files"] = sorted(files)
    if folders:
        data["folders"] = sorted(folders)
    return write_json(Path(folder) / MARKER_NAME, data)


def _files(folder: Path) -> list[str]:
    """Every file under ``folder``, as POSIX paths relative to it (folders themselves are not listed)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())


def _folders(folder: Path) -> list[str]:
    """Every folder under ``folder`` (not a symbolic link to one), as POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())


def _ancestors(name: str) -> Iterator[str]:
    """The folders ``name`` is in, as relative POSIX paths (``a/b/c`` -> ``a``, ``a/b``)."""
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])


def _empty_folders(folder: Path, files: list[str]) -> list[str]:
    """The folders under ``folder`` that hold none of ``files``."""
    holding = {a for name in files for a in _ancestors(name)}
    return [d for d in _folders(folder) if d not in holding]


def foreign_files(folder: str | Path, marker: Mapping[str, Any]) -> list[str]:
    """Files and folders in a marked folder that its marker does not account for (put there by someone else).

    A file is accounted for when the marker lists it or the folder's kind
    may hold it (:data:`KIND_FILES`).  A folder is accounted for when it holds
    such a file, the marker lists it (an empty folder this program wrote),
    the kind may hold it (``parts/<run>``) or may hold files in it
    (``plots/``, ``parts/``); any other folder, even an empty one, is the
    user's.  Folders are returned with a final ``/``; one holding a foreign
    file is not returned (the file names it).
    """
    folder = Path(folder)
    known = set(marker.get("files") or ()) | {MARKER_NAME, LOCK_NAME}
    known_folders = set(marker.get("folders") or ())
    patterns = KIND_FILES.get(marker.get("kind"), ())

    def ours(name: str) -> bool:
        return name in known or any(fnmatch.fnmatchcase(name, p) for p in patterns)

    files = _files(folder)
    foreign = [name for name in files if not ours(name)]
    holding = {a for name in [*known, *files] if ours(name) for a in _ancestors(name)}
    above_foreign = {a for name in foreign for a in _ancestors(name)}
    for name in _folders(folder):
        if (name in holding or name in known_folders or ours(name) or name in above_foreign
                or any(p.startswith(f"{name}/") for p in patterns)):
            continue
        if not any(f"{a}/" in foreign for a in _ancestors(name)):   # a folder in a foreign one: that one names it
            foreign.append(f"{name}/")
    return sorted(foreign)


def _refuse(out: Path, message: str, allowed: str, option: str) -> ScenarioError:
    return ScenarioError.single(f"{option} {out}", "", message, allowed)


def check_out(out: str | Path, kind: str, *, overwrite: bool = False, resumable: bool = False,
              option: str = "--out", overwrite_option: str | None = "--overwrite") -> Path:
    """Check that ``out`` may receive a folder of ``kind``; a ScenarioError (naming ``option``) if not.

    Accepted: a path that does not exist, an empty folder, and a folder this
    program wrote (it has the marker) that holds nothing else.  Such a folder
    is a *resumable* folder of the same kind (``resumable``: a sweep or a
    sensitivity analysis carries on where it stopped), or is to be replaced,
    which needs ``overwrite``.  Refused, with nothing touched: a regular file
    (or anything that is not a folder), a symbolic link, the current folder
    or one that holds it, a folder without the marker, and a marked folder
    holding files or folders the marker does not account for.  So is an ``out`` that
    cannot be written: checked before any run, by creating (and removing at
    once) an empty hidden folder where the results folder will be built,
    so that a read-only place, a pseudo file system (``/sys``, ``/proc``) or
    a name too long for the file system is refused up front; any other
    error of the file system while checking is refused the same way.

    ``overwrite_option`` names the option that replaces a folder in the
    message (None: there is none, as for ``sweep``).

    Returns
    -------
    Path
        ``out``, as a Path.
    """
    out = Path(out)
    try:
        _check_contents(out, kind, overwrite=overwrite, resumable=resumable, option=option,
                        overwrite_option=overwrite_option)
        _check_writable(out, option)
    except OSError as exc:
        raise _refuse(out, f"cannot be used: {exc.strerror or exc}", "a folder name where you can write",
                      option) from None
    return out


def _check_writable(out: Path, option: str) -> None:
    """Refuse an ``out`` whose results folder cannot be created (see :func:`check_out`)."""
    folder = out.parent if out.exists() else _nearest_existing(out.parent)
    allowed = "a folder name where you can write"
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(out, f"cannot be written: {folder} is not writable", allowed, option)
    try:   # the name and place write_folder builds in; root passes os.access even where nothing can be made
        probe = tempfile.mkdtemp(prefix=f".{out.name}{TMP_INFIX}", dir=folder)
    except OSError as exc:
        raise _refuse(out, f"cannot be written: creating a folder in {folder} fails ({exc.strerror or exc})",
                      allowed, option) from None
    os.rmdir(probe)
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise _refuse(out, "cannot be written: the folder is not writable", allowed, option)


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_contents(out: Path, kind: str, *, overwrite: bool, resumable: bool, option: str,
                    overwrite_option: str | None) -> Path:
    """The checks of :func:`check_out` on what ``out`` is and holds; OSError when a probe fails."""
    where = "a new folder name"
    if out.is_symlink():
        raise _refuse(out, "is a symbolic link", where, option)
    here = Path.cwd().resolve()
    target = out.resolve()
    if target == here or target in here.parents:
        raise _refuse(out, "is the current folder" if target == here else "holds the current folder", where, option)
    if not out.exists():
        ancestor = _nearest_existing(out.parent)
        if ancestor.exists() and not ancestor.is_dir():
            raise _refuse(out, f"is inside {ancestor}, which is a file, not a folder", where, option)
        return out
    if not out.is_dir():
        raise _refuse(out, "exists and is not a folder; it is left as it is", where, option)
    if not any(out.iterdir()):
        return out
    marker, problem = _marker(out)
    if marker is None and problem is not None:
        raise _refuse(out, f"is not known to be written by this program: {problem}; nothing in it is touched",
                      f"{where}, or an empty folder", option)
    if marker is None:
        raise _refuse(out, f"is a folder not written by this program (it has no {MARKER_NAME}); "
                           "nothing in it is touched", f"{where}, or an empty folder", option)
    foreign = foreign_files(out, marker)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise _refuse(out, f"holds files or folders this program did not write ({shown}); nothing in it is touched",
                      f"{where}, or move those out", option)
    if resumable and marker.get("kind") == kind and not overwrite:
        return out
    if not overwrite:
        what = {"run": "a run", "compare": "a comparison", "sweep": "a sweep",
                "sensitivity": "a sensitivity analysis", "robustness": "a robustness analysis",
                "calibration": "a calibration", "game": "a game"}.get(marker.get("kind"), "results")
        replace = (f"{overwrite_option} to replace them (the old ones are kept until the new ones are complete), "
                   f"or {where}") if overwrite_option else where
        raise _refuse(out, f"holds the results of {what} written earlier", replace, option)
    return out


def remove_stale_temporaries(out: str | Path) -> list[Path]:
    """Clean up after a process killed while writing ``out``; return what was removed.

    A temporary folder of ``out`` (``.<name>.bpsim-tmp-*`` beside it, with the
    marker) whose lock no live process holds is removed.  An old folder left
    mid-swap (``.<name>.bpsim-old-*``, with the marker) is removed when ``out``
    exists, and moved back to ``out`` when it does not (the swap was cut
    between its two renames).  Anything without the marker is left alone.
    """
    out = Path(out)
    parent = out.parent
    if not parent.is_dir():
        return []
    removed = []
    for path in sorted(parent.iterdir()):
        name = path.name
        if path.is_symlink() or not path.is_dir() or read_marker(path) is None:
            continue
        if name.startswith(f".{out.name}{TMP_INFIX}"):
            lock = FolderLock(path, what="another process")
            try:
                lock.acquire()
            except ScenarioError:
                continue   # still being written
            try:
                shutil.rmtree(path, ignore_errors=True)
            finally:
                lock.release()
            removed.append(path)
        elif name.startswith(f".{out.name}{OLD_INFIX}"):
            if out.exists():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            else:
                path.rename(out)
    return removed


def write_folder(out: str | Path, write: Callable[[Path], Any], *, kind: str = "run",
                 overwrite: bool = False, option: str = "--out", overwrite_option: str | None = "--overwrite") -> Path:
    """Let ``write(tmp_dir)`` fill a temporary folder, then move it to ``out`` in one step.

    ``out`` is checked first (:func:`check_out`): an existing results folder
    is replaced only with ``overwrite``, and anything else that exists is
    refused.  The folder gets the marker, listing the files ``write`` made.
    An interrupted or failed write leaves no partial folder; an existing
    folder is replaced only once the new one is complete.  Temporary folders
    of ``out`` left by a killed process are removed first.  ``option`` and
    ``overwrite_option`` name ``out`` and ``overwrite`` in the messages, as
    for :func:`check_out`.
    """
    out = check_out(out, kind, overwrite=overwrite, option=option, overwrite_option=overwrite_option)
    try:   # checked by check_out, but the file system may have changed since (a full disk, a remount)
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_INFIX}", dir=out.parent))
    except OSError as exc:
        raise _refuse(out, f"cannot be written: {exc.strerror or exc}", "a folder name where you can write",
                      option) from None
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual new-folder mode
    lock = FolderLock(tmp, what="another process")
    lock.acquire()
    moved = False
    try:
        write_marker(tmp, kind)
        write(tmp)
        written = [f for f in _files(tmp) if f not in (LOCK_NAME, MARKER_NAME)]
        write_marker(tmp, kind, files=written, folders=_empty_folders(tmp, written))
        check_out(out, kind, overwrite=overwrite, option=option,   # nothing appeared there meanwhile
                  overwrite_option=overwrite_option)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}{OLD_INFIX}", dir=out.parent))
            os.rmdir(old)
            out.rename(old)
            tmp.rename(out)
            moved = True
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
            moved = True
        (out / LOCK_NAME).unlink(missing_ok=True)
    finally:
        lock.release()
        if not moved:
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
    text = read_text(path, "a sweep manifest")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ScenarioError.single(path, "", f"is not valid JSON: {exc}", "a manifest written by `sweep`") from None


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
    "MARKER_NAME",
    "FolderLock",
    "atomic_path",
    "check_out",
    "foreign_files",
    "finished_parts",
    "read_manifest",
    "read_marker",
    "remove_stale_parts",
    "remove_stale_temporaries",
    "write_bytes",
    "write_folder",
    "write_json",
    "write_manifest",
    "write_marker",
    "write_parquet",
    "write_part",
    "write_text",
]
