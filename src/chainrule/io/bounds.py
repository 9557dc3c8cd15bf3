"""Limits that keep reading a model file bounded by the file itself.

A model file comes from disk and may be damaged or forged. Nothing in it may make the reader
allocate more than a small multiple of the file's own size, read without end, or hang:

* :func:`read_bounded` reads only regular files (never a FIFO, a device or ``/dev/zero``),
  of at most :data:`MAX_FILE_BYTES`, and never more bytes than ``stat`` announced;
* :func:`check_layout` checks, before any tensor is allocated, that the safetensors index
  declares known dtypes and shapes whose byte counts tile the payload exactly:

  .. math:: \\sum_t \\text{itemsize}(t) \\prod_i \\text{shape}_i(t) = \\text{payload bytes}

  with every tensor occupying ``[begin, end)`` intervals that follow each other without gaps or
  overlaps. Shapes are multiplied as Python integers, so no product can overflow.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 16 * 1024**3
"""The largest model file read (16 GiB): far above any network chainrule trains on a CPU."""

MAX_TENSORS = 100_000
"""More tensors than this is no network anyone saved; refuse before building an index."""

DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U64": 8,
    "U32": 4,
    "U16": 2,
    "U8": 1,
    "BOOL": 1,
}
"""Item sizes of the safetensors dtypes this reader accepts."""


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        The path does not exist, or is a folder.
    OSError
        The path is not a regular file (FIFO, socket, device), is larger than ``limit``, or
        grew while it was read.
    """
    p = Path(path)
    info = os.stat(p)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "is a folder", str(p))
    if not stat.S_ISREG(info.st_mode):
        raise OSError(0, "it is not a regular file (a pipe, socket or device)")
    if info.st_size > limit:
        raise OSError(0, f"it is {info.st_size} bytes, more than the {limit} bytes allowed")
    # O_NONBLOCK: should the path be swapped for a FIFO after stat, open() must not hang.
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "it is not a regular file (a pipe, socket or device)")
        data = handle.read(info.st_size + 1)  # one byte more tells a growing file
    if len(data) > info.st_size:
        raise OSError(0, "it changed size while it was read; read it again when it is complete")
    return data


def _entry_problem(name: str, entry: Any) -> str | None:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        return f"tensor {name!r} has a malformed index entry"
    if entry["dtype"] not in DTYPE_BYTES:
        return f"tensor {name!r} has unknown dtype {entry['dtype']!r}"
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or len(shape) > 8:
        return f"tensor {name!r} has a malformed shape"
    if not all(type(d) is int and d >= 0 for d in shape):
        return f"tensor {name!r} has a shape that is not non-negative integers"
    if not (isinstance(offsets, list) and len(offsets) == 2):
        return f"tensor {name!r} has malformed data offsets"
    if not all(type(o) is int and o >= 0 for o in offsets) or offsets[0] > offsets[1]:
        return f"tensor {name!r} has malformed data offsets"
    return None


def check_layout(header: dict[str, Any], payload_bytes: int) -> str | None:
    """``None`` when the tensor index tiles ``payload_bytes`` exactly, else what is wrong.

    Parameters
    ----------
    header : dict
        The parsed safetensors header (``"__metadata__"`` is skipped).
    payload_bytes : int
        How many bytes follow the header in the file.
    """
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    if len(entries) > MAX_TENSORS:
        return f"it indexes {len(entries)} tensors (limit {MAX_TENSORS})"
    spans = []
    for name, entry in entries:
        problem = _entry_problem(name, entry)
        if problem is not None:
            return problem
        count = 1
        for d in entry["shape"]:
            count *= d
        size = count * DTYPE_BYTES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        if end - begin != size:
            return (
                f"tensor {name!r} declares shape {tuple(entry['shape'])} of {entry['dtype']} "
                f"({size} bytes) but occupies {end - begin} bytes"
            )
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            return "its tensors overlap or leave gaps between them"
        position = end
    if position != payload_bytes:
        return f"its tensors declare {position} bytes but the file holds {payload_bytes}"
    return None
