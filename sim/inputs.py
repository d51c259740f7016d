"""Reading the files a user names, safely: regular files only, of bounded size, UTF-8 text.

Every input file (a scenario and its ``extends`` parents, an uncertainty or
targets file, a sweep YAML, a design CSV, a network's edge and node files, and
the markers and manifests found in a folder given as ``--out``) is read
through :func:`read_bytes`.  Anything that is not a regular file, such as a
device (``/dev/zero`` would be read until memory runs out), a FIFO (which
blocks until someone writes to it) or a socket, is refused before a byte is
read, and so is a file larger than :data:`MAX_BYTES`.  Each refusal is a
:class:`~sim.errors.ScenarioError` naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sim.errors import ScenarioError

#: Largest input file read, in bytes (64 MiB); scenarios, designs and networks are far smaller.
MAX_BYTES = 64 * 1024 * 1024

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode(raw: bytes, path: Path, key: str = "", what: str = "a UTF-8 text file") -> str:
    """``raw`` as UTF-8 text, a byte-order mark dropped.

    Parameters
    ----------
    raw : bytes
        The content of ``path``.
    path : Path
        The file, named in the messages.
    key : str
        The key path naming the file in a scenario, if any.
    what : str
        What is allowed, for the messages.

    Raises
    ------
    ScenarioError
        If the content is UTF-16, binary (holds a NUL byte) or not UTF-8.
    """
    if raw.startswith(_UTF16_BOMS):
        raise ScenarioError.single(path, key, "is UTF-16 text", "UTF-8 text: save the file as UTF-8")
    if b"\x00" in raw:
        raise ScenarioError.single(path, key, "is a binary file, not text", what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError.single(path, key, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                                   what) from None


def read_bytes(path: str | Path, what: str = "a .yaml file", key: str = "") -> bytes:
    """The bytes of the regular file ``path``, at most :data:`MAX_BYTES` of them.

    Every input file the user names (a scenario, its ``extends`` parents, an
    uncertainty or targets file, a sweep YAML, a design CSV, a network's edge
    and node files) is read through here, so that no input can make the
    program read forever or block: the path is opened without blocking and
    checked with ``fstat`` before a byte is read.

    Parameters
    ----------
    path : str or Path
        The file; a symbolic link is followed.
    what : str
        What the file should be ("a .yaml file"), for the messages.
    key : str
        The key path naming the file in a scenario (``network.path``), if any.

    Returns
    -------
    bytes
        The whole content of the file.

    Raises
    ------
    ScenarioError
        Naming the file, if it does not exist, is a folder, is not a regular
        file (a device such as ``/dev/zero``, a FIFO, a socket), is larger
        than :data:`MAX_BYTES`, or cannot be read.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError.single(path, key, "file not found", f"a path to {what} that exists") from None
    except IsADirectoryError:
        raise ScenarioError.single(path, key, "is a folder, not a file", f"a path to {what}") from None
    except OSError as exc:
        if path.is_dir():   # Windows cannot open a folder at all
            raise ScenarioError.single(path, key, "is a folder, not a file", f"a path to {what}") from None
        raise ScenarioError.single(path, key, f"cannot be read: {exc.strerror or exc}",
                                   f"{what} that can be read") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError.single(path, key, "is a folder, not a file", f"a path to {what}")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError.single(path, key, f"is not a regular file: it is a {_file_type(info.st_mode)}",
                                       f"a path to {what}")
        if info.st_size > MAX_BYTES:
            raise ScenarioError.single(path, key, f"is too large ({info.st_size:,} bytes)",
                                       f"{what} of at most {MAX_BYTES:,} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_BYTES + 1)   # the file may have grown since fstat
    except OSError as exc:
        raise ScenarioError.single(path, key, f"cannot be read: {exc.strerror or exc}",
                                   f"{what} that can be read") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise ScenarioError.single(path, key, f"is too large (more than {MAX_BYTES:,} bytes)",
                                   f"{what} of at most {MAX_BYTES:,} bytes")
    return raw


def _file_type(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def read_text(path: str | Path, what: str = "a .yaml file", key: str = "") -> str:
    """The UTF-8 text of ``path`` (a byte-order mark dropped), read with :func:`read_bytes`.

    Besides the refusals of :func:`read_bytes`, binary, UTF-16 and other
    non-UTF-8 content is a ScenarioError naming the file (and ``key``).
    """
    path = Path(path)
    return decode(read_bytes(path, what, key), path, key)


__all__ = ["MAX_BYTES", "decode", "read_bytes", "read_text"]
