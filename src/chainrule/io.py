"""Files: the checksummed safetensors container and atomic writes. No chainrule classes here.

Saving objects is :func:`chainrule.save` / :func:`chainrule.load` (:mod:`chainrule.persist`);
ONNX is :func:`chainrule.export_onnx` (:mod:`chainrule.onnx_export`).

The container
-------------
Model files: one safetensors file holding the tensors, with JSON metadata in its header.

Layout (the standard safetensors layout, so any safetensors reader can open the tensors)::

    8 bytes    little-endian length n of the header
    n bytes    JSON header: {"__metadata__": {"chainrule": META, "chainrule.sha256": DIGEST},
                             "<tensor>": {"dtype", "shape", "data_offsets"}, ...}
    the rest   the tensors' raw little-endian bytes

``META`` is a JSON string ``{"format_version", "library_version", "kind", "meta"}``: ``kind``
names what was saved (``"Sequential"``, ``"TabularModel"``, ``"MLPClassifier"``…) and ``meta``
is that object's own JSON state (architecture, loss, preprocessing, classes, history…).
``DIGEST`` is the SHA-256 of ``META``, of the tensor index and of the tensor bytes, so any
change to a byte of the file — truncation, a flipped bit, a hand edit — is detected on load.
The digest catches damage and accidental edits, not a forger who recomputes it; that is
harmless, because loading never runs code (no pickle): the worst a hostile file can hold is
wrong numbers, and the architecture and shapes are still validated.

This module knows bytes, tensors and JSON, and nothing of chainrule's classes: turning an
object into ``(tensors, meta)`` and back is the object's own ``state()`` / ``from_state()``,
and :mod:`chainrule.persist` chooses the class from ``kind``.

Bounds
------
Limits that keep reading a model file bounded by the file itself.

A model file comes from disk and may be damaged or forged. Nothing in it may make the reader
allocate more than a small multiple of the file's own size, read without end, or hang:

* :func:`read_bounded` reads only regular files (never a FIFO, a device or ``/dev/zero``),
  of at most :data:`MAX_FILE_BYTES`, and never more bytes than ``stat`` announced;
* :func:`check_layout` checks, before any tensor is allocated, that the safetensors index
  declares known dtypes and shapes whose byte counts tile the payload exactly:

  .. math:: \\sum_t \\text{itemsize}(t) \\prod_i \\text{shape}_i(t) = \\text{payload bytes}

  with every tensor occupying ``[begin, end)`` intervals that follow each other without gaps or
  overlaps. Shapes are multiplied as Python integers, so no product can overflow.

Atomic writes
-------------
Writing a file so that a crash never leaves half of it: temporary file, fsync, rename.

The temporary file is named ``.<name>.<pid>.<random>.tmp`` beside the target. SIGTERM during
the write removes it (the signal is turned into :class:`SystemExit` for the write's duration,
so the cleanup below runs); a SIGKILL cannot be caught, so the next write to the same target
removes temporary files whose process is gone, and loading refuses any such name.

Schema checks
-------------
A small validator for the JSON a model file carries: types, ranges, sizes, nesting depth.

A schema is built from a handful of node types — :class:`Int`, :class:`Num`, :class:`Str`,
:class:`Bool`, :class:`Opt`, :class:`List`, :class:`Obj`, :class:`Map`, :class:`AnyJSON` —
and :func:`validate` walks a value against it, raising :class:`SchemaError` with the JSON
path of the first mismatch (``meta.history.best_epoch: expected an integer, got 'x'``).
Each node checks only what it is given, so the walk costs one pass over the value and never
allocates more than the value itself. This module knows no chainrule classes; the schemas of
the saved kinds live in :mod:`chainrule.model_schema`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._version import __version__

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_state",
    "write_state",
]


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


MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted anywhere in the metadata."""

_NON_FINITE = ("NaN", "Infinity", "-Infinity")  # how the writer stores non-finite floats


class SchemaError(ValueError):
    """Metadata that is valid JSON but not what chainrule writes; the message names the path."""


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of lists and dicts in ``value``, counted without recursion up to ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Node:
    """A schema node; :meth:`check` raises :class:`SchemaError` on a mismatch."""

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Int(Node):
    """An integer (not a bool) in ``[lo, hi]``."""

    lo: int | None = None
    hi: int | None = None

    def check(self, value: Any, path: str) -> None:
        if type(value) is not int:
            raise SchemaError(f"{path}: expected an integer, got {_shown(value)}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise SchemaError(f"{path}: {value} is outside [{self.lo}, {self.hi}]")


@dataclass
class Num(Node):
    """A number (int or float), or one of the strings non-finite floats are stored as."""

    finite: bool = False
    lo: float | None = None

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, str) and value in _NON_FINITE and not self.finite:
            return
        if type(value) not in (int, float) or not math.isfinite(value):
            raise SchemaError(f"{path}: expected a number, got {_shown(value)}")
        if self.lo is not None and value < self.lo:
            raise SchemaError(f"{path}: {value} is below {self.lo}")


@dataclass
class Str(Node):
    """A string of at most ``max_len`` characters, from ``choices`` when given."""

    choices: tuple[str, ...] | Callable[[], Any] | None = None
    max_len: int = 10_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a string, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: a string of {len(value)} characters is too long")
        choices = self.choices() if callable(self.choices) else self.choices
        if choices is not None and value not in choices:
            known = ", ".join(sorted(map(str, choices))[:20])
            raise SchemaError(f"{path}: unknown value {_shown(value)} (known: {known})")


class Bool(Node):
    """``true`` or ``false``."""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise SchemaError(f"{path}: expected true or false, got {_shown(value)}")


@dataclass
class Opt(Node):
    """``null`` or ``inner``."""

    inner: Node

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


@dataclass
class List(Node):
    """A list of at most ``max_len`` items, each matching ``item``."""

    item: Node
    max_len: int = 10_000_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise SchemaError(f"{path}: expected a list, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: {len(value)} items is more than {self.max_len}")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


@dataclass
class Obj(Node):
    """An object with ``required`` and ``optional`` keys; others only when ``extra`` is set."""

    required: Mapping[str, Node]
    optional: Mapping[str, Node] = field(default_factory=dict)
    extra: Node | None = None

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object, got {_shown(value)}")
        for key, node in self.required.items():
            if key not in value:
                raise SchemaError(f"{path}: the key {key!r} is missing")
            node.check(value[key], f"{path}.{key}")
        for key, item in value.items():
            if key in self.required:
                continue
            node = self.optional.get(key, self.extra)
            if node is None:
                raise SchemaError(f"{path}: unexpected key {_shown(key)}")
            node.check(item, f"{path}.{key}")


@dataclass
class Map(Node):
    """An object with any string keys, each value matching ``value``."""

    value: Node
    max_len: int = 100_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: {len(value)} keys is more than {self.max_len}")
        for key, item in value.items():
            self.value.check(item, f"{path}.{key}")


class AnyJSON(Node):
    """Any JSON value (depth is bounded by :func:`validate` as a whole)."""

    def check(self, value: Any, path: str) -> None:
        return None


def validate(value: Any, schema: Node, path: str = "meta") -> None:
    """Check ``value`` against ``schema``, and its nesting against :data:`MAX_DEPTH`.

    Raises
    ------
    SchemaError
        One line with the JSON path of the first mismatch.
    """
    if depth(value) > MAX_DEPTH:
        raise SchemaError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    schema.check(value, path)


FORMAT_VERSION = 1
"""Bumped whenever a file written now could be misread by an older chainrule."""

META_KEY = "chainrule"
DIGEST_KEY = "chainrule.sha256"

_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit


class ModelFileError(ValueError):
    """A model file is missing, damaged, tampered with, newer than this chainrule, or invalid."""


# -- JSON that any reader accepts ---------------------------------------------------------------
def _strict_json(value: Any) -> Any:
    """Replace non-finite floats by the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

    Strict JSON has no NaN; ``float()`` reads these strings back (a diverged run's history).
    """
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(v) for v in value]
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_strict_json(value), allow_nan=False, ensure_ascii=False, sort_keys=True)


# -- the safetensors container ------------------------------------------------------------------
def _split_header(blob: bytes, where: str) -> tuple[dict[str, Any], int]:
    """Parse the safetensors header of ``blob``; returns it and where the tensor bytes start."""
    if len(blob) < 8:
        raise ModelFileError(
            f"'{where}' is not a chainrule model file: it is {len(blob)} bytes long (truncated?)."
        )
    n = int.from_bytes(blob[:8], "little")
    if len(blob) > 8 and blob[8:9] != b"{":
        raise ModelFileError(
            f"'{where}' is not a chainrule model file (not in safetensors format); "
            "give a file written by 'chainrule train' or model.save()."
        )
    if n > _MAX_HEADER:  # no safetensors writer makes such a header: this is something else
        raise ModelFileError(
            f"'{where}' is not a chainrule model file (its first bytes are not a safetensors "
            "header); give a file written by 'chainrule train' or model.save()."
        )
    if 8 + n > len(blob):
        raise ModelFileError(
            f"'{where}' is truncated: its header claims {n} bytes but the file has "
            f"{len(blob) - 8}; copy the file again or re-save the model."
        )
    try:
        header = json.loads(bytes(blob[8 : 8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(
            f"'{where}' is corrupted: its header is not valid JSON; re-save the model."
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"'{where}' is corrupted: its header is not a JSON object.")
    return header, 8 + n


def _digest(meta_text: str, header: dict[str, Any], payload: bytes | memoryview) -> str:
    index = {k: v for k, v in header.items() if k != "__metadata__"}
    h = hashlib.sha256(b"chainrule-model\0")
    h.update(meta_text.encode("utf-8"))
    h.update(b"\0")
    h.update(json.dumps(index, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    h.update(b"\0")
    h.update(payload)
    return h.hexdigest()


def encode(tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    """The bytes of a model file holding ``tensors`` and ``meta`` (which must have ``"kind"``)."""
    from safetensors.numpy import save as st_save

    arrays = {}
    for name, value in tensors.items():
        array = np.ascontiguousarray(np.asarray(value))
        if array.dtype.kind not in "fiub":
            raise TypeError(f"Tensor {name!r} has dtype {array.dtype}; only numbers can be saved.")
        arrays[str(name)] = array
    meta_text = _dumps(
        {
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "kind": meta["kind"],
            "meta": meta,
        }
    )
    # The tensor bytes do not depend on the metadata, so a first pass gives the bytes to hash.
    draft = st_save(arrays, metadata={META_KEY: meta_text})
    header, start = _split_header(draft, "<memory>")
    digest = _digest(meta_text, header, draft[start:])
    blob = st_save(arrays, metadata={META_KEY: meta_text, DIGEST_KEY: digest})
    header, start = _split_header(blob, "<memory>")
    if (
        _digest(meta_text, header, blob[start:]) != digest
    ):  # pragma: no cover - a safetensors change
        raise RuntimeError("safetensors laid the tensors out differently on a second pass.")
    return blob


def write_state(
    path: str | os.PathLike[str], tensors: dict[str, np.ndarray], meta: dict[str, Any]
) -> Path:
    """Write a model file atomically (temporary file, fsync, rename); returns the path."""
    return atomic_write_bytes(path, encode(tensors, meta))


def decode(
    blob: bytes | memoryview, where: str = "<memory>"
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Validate the bytes of a model file and return ``(tensors, meta)``.

    Raises
    ------
    ModelFileError
        One line saying what is wrong: not a model file, truncated, corrupted or modified
        (checksum mismatch), or written by a newer chainrule.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    header, start = _split_header(blob, where)
    stored = header.get("__metadata__")
    if not isinstance(stored, dict) or not isinstance(stored.get(META_KEY), str):
        raise ModelFileError(
            f"'{where}' is a safetensors file but not a chainrule model (it has no chainrule "
            "metadata); give a file written by 'chainrule train' or model.save()."
        )
    meta_text = stored[META_KEY]
    try:
        info = json.loads(meta_text)
        version = info["format_version"]
        kind, meta = info["kind"], info["meta"]
    except (json.JSONDecodeError, TypeError, KeyError, RecursionError):
        raise ModelFileError(
            f"'{where}' is corrupted: its chainrule metadata is unreadable; re-save the model."
        ) from None
    if not isinstance(version, int) or not isinstance(meta, dict) or not isinstance(kind, str):
        raise ModelFileError(f"'{where}' is corrupted: its format version or kind is malformed.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"'{where}' was written by chainrule {info.get('library_version', '?')} in model "
            f"format {version}, newer than this chainrule {__version__} reads (format "
            f"{FORMAT_VERSION}); upgrade chainrule."
        )
    payload = memoryview(blob)[start:]  # a view: hashing and checking never copy the tensors
    problem = check_layout(header, len(payload))
    if problem is not None:
        raise ModelFileError(f"'{where}' is corrupted or forged: {problem}; re-save the model.")
    if stored.get(DIGEST_KEY) != _digest(meta_text, header, payload):
        raise ModelFileError(
            f"'{where}' is corrupted or was modified: its contents do not match the checksum "
            "stored in it; use an intact copy or re-save the model."
        )
    try:
        tensors = st_load(blob if isinstance(blob, bytes) else bytes(blob))
    except SafetensorError as exc:
        raise ModelFileError(f"'{where}' is corrupted ({exc}); re-save the model.") from None
    meta = dict(meta)
    meta["kind"] = kind
    return tensors, meta


def read_state(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and validate a model file; returns ``(tensors, meta)`` (see :func:`decode`)."""
    return decode(_read(path), str(path))


def _read(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a model file, refusing anything but a regular file of bounded size."""
    p = Path(path)
    if is_temporary_name(p.name):
        raise ModelFileError(
            f"'{p}' is a temporary file left by an interrupted save, not a model; delete it "
            "and use the model file beside it."
        )
    try:
        return read_bounded(p)
    except FileNotFoundError:
        raise ModelFileError(f"Model file '{p}' does not exist; check the path.") from None
    except IsADirectoryError:
        raise ModelFileError(f"'{p}' is a folder, not a model file.") from None
    except OSError as exc:
        raise ModelFileError(f"Cannot read model file '{p}': {exc.strerror or exc}.") from None


def file_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Format version, library version, kind, size and checksum of a model file (validated)."""
    p = Path(path)
    blob = _read(p)
    decode(blob, str(p))  # full validation first
    header, _ = _split_header(blob, str(p))
    info = json.loads(header["__metadata__"][META_KEY])
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    return {
        "format_version": info["format_version"],
        "library_version": info["library_version"],
        "kind": info["kind"],
        "bytes": len(blob),
        "tensors": len(tensors),
        "sha256": header["__metadata__"][DIGEST_KEY],
    }
