"""Files: the checksummed safetensors container and atomic writes. No chainrule classes here.

Saving objects is :func:`chainrule.save` / :func:`chainrule.load` (:mod:`chainrule.persist`);
ONNX is :func:`chainrule.export_onnx` (:mod:`chainrule.onnx_export`).
"""

from chainrule.io.atomic import atomic_write_bytes, atomic_write_text
from chainrule.io.container import FORMAT_VERSION, ModelFileError, read_state, write_state

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_state",
    "write_state",
]
