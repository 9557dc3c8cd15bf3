"""Durable homes for models: safe single-file model files, and export to ONNX.

* :func:`save` / :func:`load` — one safetensors file with JSON metadata, no pickle, written
  atomically and validated on load (:mod:`chainrule.io.modelfile`).
* :func:`export_onnx` — an ONNX graph (opset 13+) that onnxruntime and other servers run
  (:mod:`chainrule.io.onnx_export`).
"""

import os
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes, atomic_write_text
from .modelfile import FORMAT_VERSION, ModelFileError, load, read_state, save, write_state

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "atomic_write_bytes",
    "atomic_write_text",
    "export_onnx",
    "load",
    "read_state",
    "save",
    "write_state",
]


def export_onnx(obj: Any, path: str | os.PathLike[str], *, opset: int = 13) -> Path:
    """Export a model to ONNX; see :func:`chainrule.io.onnx_export.export_onnx`."""
    from .onnx_export import export_onnx as _export

    return _export(obj, path, opset=opset)
