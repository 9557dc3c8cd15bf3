"""Model files: one safetensors file holding the tensors, with JSON metadata in its header.

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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._version import __version__
from chainrule.io.atomic import atomic_write_bytes, is_temporary_name
from chainrule.io.bounds import check_layout, read_bounded

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
