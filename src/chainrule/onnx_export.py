"""Export to ONNX (opset 13 or newer), built node by node with ``onnx.helper``.

The graph computes, in float32, exactly what chainrule computes:

``input (N, d)``
    The encoded feature matrix, columns in the order of the model's ``feature_names``
    metadata. Numeric columns are *raw* values — standardization (and mean/median imputation
    of NaN) is inside the graph — while each categorical column arrives as its one-hot
    indicator columns (``color=red``…), because ONNX graphs that take text need the
    ``ai.onnx.ml`` string operators that many runtimes lack. ``chainrule.model.TabularModel
    .transform`` followed by the standardization undone is what goes in; in practice
    :func:`onnx_input` builds it from a table.
preprocessing
    ``Where(IsNaN(x), fill, x)`` when imputation was fitted, then :math:`(x - \\mu) / s`.
layers
    ``Dense`` is ``MatMul`` + ``Add``; ``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu``, ``Elu``
    and ``Softmax`` are single ONNX operators; GELU (tanh form) is composed from ``Mul``,
    ``Add`` and ``Tanh``; ``Identity`` and ``Dropout`` (inference) vanish.
outputs
    Classifiers: ``probabilities (N, K)`` = ``Softmax(logits)`` and ``label (N,)`` =
    the class of the arg-max (``int64`` when every class is an integer, else ``string``) — the
    names scikit-learn-onnx uses with ``zipmap=False``. Regressors: ``variable (N, 1)``, the
    target in its own units (:math:`\\mu_y + s_y \\hat t`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._version import __version__
from chainrule.extras import require
from chainrule.io import atomic_write_bytes
from chainrule.tabular.preprocessing import value_key
from chainrule.training.protocol import TrainedModel, trained_model

MIN_OPSET = 13


class _GraphBuilder:
    """Collects nodes and constant tensors, naming intermediate values uniquely."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(
        self, op_type: str, inputs: list[str], hint: str, output: str | None = None, **attrs: Any
    ) -> str:
        from onnx import helper

        out = output or self.name(hint)
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=self.name(op_type), **attrs)
        )
        return out


def _scalar(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)


def _label_tensor(classes: list[Any]) -> tuple[np.ndarray, int]:
    """Class labels as an ONNX constant: int64 when all are integers, else strings."""
    from onnx import TensorProto

    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64), TensorProto.INT64
    return np.array([value_key(c) for c in classes], dtype=object), TensorProto.STRING


def onnx_labels(classes: list[Any], labels: np.ndarray) -> np.ndarray:
    """chainrule's predicted labels as the exported graph returns them (int64 or str)."""
    values, _ = _label_tensor(list(classes))
    index = {value_key(c): i for i, c in enumerate(classes)}
    return values[[index[value_key(v)] for v in labels]]


def onnx_input(model: Any, frame: Any, source: str = "the data") -> np.ndarray:
    """The ``input`` matrix (float32) an exported table model takes for a raw table."""
    pre = trained_model(model).preprocessing
    if pre is None:
        raise ValueError("This model takes a feature matrix, not a table; pass the matrix itself.")
    return pre.raw_input(frame, source)


def _class_outputs(g: _GraphBuilder, model: TrainedModel, out: str, n_out: int) -> list[Any]:
    """``probabilities (N, K)`` and ``label (N,)`` from the network's raw output."""
    from onnx import TensorProto, helper

    classes = list(model.classes)
    probs = model.loss.link_onnx(g, out)
    if n_out == 1 and len(classes) == 2:  # one logit z: probabilities [1 − σ(z), σ(z)]
        p0 = g.op("Sub", [g.const("one", _scalar(1.0)), probs], "p0")
        probs = g.op("Concat", [p0, probs], "two_class", axis=1)
    elif n_out != len(classes):
        raise ValueError(
            f"Cannot export a model with {n_out} outputs for {len(classes)} classes as a "
            "single-label classifier (multilabel models are not exported)."
        )
    g.op("Identity", [probs], "probabilities", output="probabilities")
    index = g.op("ArgMax", ["probabilities"], "index", axis=1, keepdims=0)
    values, label_type = _label_tensor(classes)
    g.op("Gather", [g.const("classes", values), index], "label", output="label", axis=0)
    return [
        helper.make_tensor_value_info("label", label_type, ["N"]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(classes)]),
    ]


def build_onnx(obj: Any, opset: int = MIN_OPSET) -> Any:
    """The ``onnx.ModelProto`` of a network or of anything that wraps a trained one.

    Parameters
    ----------
    obj : Sequential or TrainedModel
        A network, a :class:`~chainrule.training.Trainer`, a
        :class:`~chainrule.tabular.TabularModel` or a fitted estimator: anything with the
        ``network`` / ``loss`` / ``preprocessing`` / ``classes`` protocol.
    opset : int
        ONNX opset, 13 or newer.
    """
    require("onnx", purpose="ONNX export")
    import onnx
    from onnx import TensorProto, helper

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"The ONNX opset must be between {MIN_OPSET} and {newest}, got {opset}.")
    model = trained_model(obj)
    net, pre = model.network, model.preprocessing
    n_in = len(pre.feature_names) if pre is not None else net.in_features
    g = _GraphBuilder()
    metadata = {"producer": f"chainrule {__version__}"}
    x = "input" if pre is None else pre.onnx_input(g, "input")
    out = net.onnx(g, x)
    n_out = net.output_dim(n_in)
    if pre is not None:
        metadata["feature_names"] = json.dumps(list(pre.feature_names))
    if model.classes is not None:
        outputs = _class_outputs(g, model, out, n_out)
        metadata["classes"] = json.dumps(list(model.classes))
    else:
        if pre is not None:
            out = pre.onnx_output(g, model.loss.link_onnx(g, out))
        g.op("Identity", [out], "variable", output="variable")
        outputs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", n_out])]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_in])]
    graph = helper.make_graph(g.nodes, "chainrule", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule")
    proto.producer_version = __version__
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(obj: Any, path: str | os.PathLike[str], *, opset: int = MIN_OPSET) -> Path:
    """Write ``obj`` as an ONNX file, atomically; returns the path.

    Parameters
    ----------
    obj : Sequential, TabularModel, MLPClassifier or MLPRegressor
        What to export (see the module docstring for the graph's inputs and outputs).
    path : str or path
        Destination, conventionally ``*.onnx``.
    opset : int
        ONNX opset, 13 or newer.
    """
    require("onnx", purpose="ONNX export")
    model = build_onnx(obj, opset)
    return atomic_write_bytes(path, model.SerializeToString())
