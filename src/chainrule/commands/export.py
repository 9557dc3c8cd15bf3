"""``chainrule export MODEL --onnx FILE``: the model as an ONNX graph for serving."""

from __future__ import annotations

import argparse

from chainrule.commands import _shared
from chainrule.commands._shared import UsageError
from chainrule.io import atomic_write_bytes
from chainrule.onnx_export import build_onnx
from chainrule.persist import load

NAME = "export"
HELP = "export a model file to ONNX (opset 13 or newer), for onnxruntime and other servers"
EXAMPLE = "chainrule export iris.safetensors --onnx iris.onnx"
REQUIRES: tuple[str, ...] = ("safetensors", "onnx")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule export``."""
    parser.add_argument(
        "model", metavar="MODEL", help="model file (from 'chainrule train' or save)"
    )
    parser.add_argument("--onnx", required=True, metavar="FILE", help="ONNX file to write")
    parser.add_argument(
        "--opset", type=_shared.positive_int, default=13, help="ONNX opset (default: 13)"
    )


def run(args: argparse.Namespace) -> int:
    """Build the graph, check it with the ONNX checker, write it atomically, describe it."""
    import json

    _shared.require("onnx", "io", "Exporting to ONNX")
    _shared.check_writable(args.onnx, "ONNX file", inputs=[args.model])
    model = load(args.model)
    try:
        proto = build_onnx(model, args.opset)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    atomic_write_bytes(args.onnx, proto.SerializeToString())
    props = {p.key: p.value for p in proto.metadata_props}
    inputs = [
        f"{v.name} (N, {v.type.tensor_type.shape.dim[1].dim_value}) float32"
        for v in proto.graph.input
    ]
    outputs = [o.name for o in proto.graph.output]
    print(
        f"Wrote {args.onnx} (opset {args.opset}): input {', '.join(inputs)}; "
        f"outputs {', '.join(outputs)}."
    )
    if "feature_names" in props:
        names = json.loads(props["feature_names"])
        print(
            "Input columns, in order (numbers raw; categories as 0/1 indicators): "
            + ", ".join(names)
        )
    return 0
