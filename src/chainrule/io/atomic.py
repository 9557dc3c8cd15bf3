"""Writing a file so that a crash never leaves half of it: temporary file, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OSError(f"Cannot write into folder '{folder}' ({exc.strerror}).") from None
    try:
        # mkstemp creates the file private (0600); give it the mode open() would have given,
        # so a model or report meant to be shared is readable as any other file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where supported
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))
