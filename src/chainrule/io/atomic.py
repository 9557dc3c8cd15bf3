"""Writing a file so that a crash never leaves half of it: temporary file, fsync, rename.

The temporary file is named ``.<name>.<pid>.<random>.tmp`` beside the target. SIGTERM during
the write removes it (the signal is turned into :class:`SystemExit` for the write's duration,
so the cleanup below runs); a SIGKILL cannot be caught, so the next write to the same target
removes temporary files whose process is gone, and loading refuses any such name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")


def is_temporary_name(name: str) -> bool:
    """Whether a file name is one :func:`atomic_write_bytes` gives its temporary files."""
    return _TEMP_NAME.match(name) is not None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or unknowable: leave its file alone
    return True


def _remove_stale(folder: Path, target: Path) -> None:
    """Delete temporary files of ``target`` left by processes that no longer exist."""
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TEMP_NAME.match(entry.name)
            if match and entry.name.startswith(prefix) and not _process_alive(int(match[1])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` so ``finally`` clauses run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    The bytes go to a temporary file in the same folder, are flushed to disk with ``fsync``,
    and the temporary file is renamed over ``path`` with :func:`os.replace`, which is atomic
    on POSIX and Windows. A reader therefore sees the old file or the new one, never a mix;
    if anything fails, the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    OSError
        With a one-line message when the folder does not exist or cannot be written.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OSError(
            f"Cannot write '{target}': folder '{folder}' does not exist; create it first."
        )
    if target.is_dir():
        raise OSError(f"Cannot write '{target}': it is a folder; give a file name.")
    _remove_stale(folder, target)
    with _sigterm_raises():
        _write_and_rename(folder, target, data)
    with contextlib.suppress(OSError):  # make the rename itself durable, where supported
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target


def _mode_for(target: Path) -> int:
    """The permission bits the new file gets: the old file's, or what ``open()`` would give."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_and_rename(folder: Path, target: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise OSError(f"Cannot write into folder '{folder}' ({exc.strerror}).") from None
    try:
        # mkstemp creates the file private (0600); saving over a file keeps that file's mode,
        # a new file gets the mode open() would have given it.
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:  # a full disk, a quota: say which file, not just the errno's words
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        hint = "free some space or write elsewhere" if exc.errno in _FULL else "check the folder"
        raise OSError(
            exc.errno,
            f"Cannot write '{target}' ({exc.strerror or exc}); {hint}. Nothing was replaced.",
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_FULL = (errno.ENOSPC, errno.EDQUOT)
"""Errors meaning the disk (or the user's quota) is full."""


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))
