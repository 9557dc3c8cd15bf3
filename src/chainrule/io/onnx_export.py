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
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_bytes

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


def _emit_layers(g: _GraphBuilder, net: Any, x: str) -> str:
    """Append the nodes of a ``Sequential``; returns the name of its output."""
    from .. import activations as act
    from ..backend import to_numpy
    from ..layers import Dense, Dropout, Sequential

    for layer in net.layers:
        lname = layer.name or type(layer).__name__.lower()
        if hasattr(layer, "onnx"):  # layers that emit their own nodes (the per-layer protocol)
            x = layer.onnx(g, x)
        elif isinstance(layer, Sequential):
            x = _emit_layers(g, layer, x)
        elif isinstance(layer, Dense):
            W = np.asarray(to_numpy(layer.params["W"]), dtype=np.float32)
            x = g.op("MatMul", [x, g.const(f"{lname}.W", W)], f"{lname}_xW")  # z = x·W
            if layer.use_bias:
                b = np.asarray(to_numpy(layer.params["b"]), dtype=np.float32)
                x = g.op("Add", [x, g.const(f"{lname}.b", b)], f"{lname}_z")  # z = x·W + b
        elif isinstance(layer, act.Sigmoid):
            x = g.op("Sigmoid", [x], lname)
        elif isinstance(layer, act.Tanh):
            x = g.op("Tanh", [x], lname)
        elif isinstance(layer, act.ReLU):
            x = g.op("Relu", [x], lname)
        elif isinstance(layer, act.LeakyReLU):
            x = g.op("LeakyRelu", [x], lname, alpha=float(layer.negative_slope))
        elif isinstance(layer, act.ELU):
            x = g.op("Elu", [x], lname, alpha=float(layer.alpha))
        elif isinstance(layer, act.GELU):
            # y = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))
            cube = g.op("Mul", [g.op("Mul", [x, x], f"{lname}_z2"), x], f"{lname}_z3")
            inner = g.op("Add", [x, g.op("Mul", [cube, g.const("c", _scalar(0.044715))], "m")], "s")
            u = g.op("Mul", [inner, g.const("c", _scalar(math.sqrt(2.0 / math.pi)))], f"{lname}_u")
            t1 = g.op("Add", [g.op("Tanh", [u], f"{lname}_t"), g.const("one", _scalar(1.0))], "t1")
            half_z = g.op("Mul", [x, g.const("half", _scalar(0.5))], f"{lname}_halfz")
            x = g.op("Mul", [half_z, t1], lname)
        elif isinstance(layer, act.Softmax):
            x = g.op("Softmax", [x], lname, axis=-1)
        elif isinstance(layer, act.Identity | Dropout):
            continue  # y = z at inference
        else:
            raise ValueError(
                f"Layer {type(layer).__name__} has no ONNX translation; export supports Dense, "
                "Dropout and the built-in activations."
            )
    return x


def _label_tensor(classes: list[Any]) -> tuple[np.ndarray, int]:
    """Class labels as an ONNX constant: int64 when all are integers, else strings."""
    from onnx import TensorProto

    from ..preprocessing import value_key

    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64), TensorProto.INT64
    return np.array([value_key(c) for c in classes], dtype=object), TensorProto.STRING


def onnx_labels(classes: list[Any], labels: np.ndarray) -> np.ndarray:
    """chainrule's predicted labels as the exported graph returns them (int64 or str)."""
    from ..preprocessing import value_key

    values, _ = _label_tensor(list(classes))
    index = {value_key(c): i for i, c in enumerate(classes)}
    return values[[index[value_key(v)] for v in labels]]


def onnx_input(model: Any, frame: Any, source: str = "the data") -> np.ndarray:
    """The ``input`` matrix (float32) an exported :class:`TabularModel` takes for a raw table.

    Numeric columns are the table's raw numbers (NaN where missing, which the graph imputes
    if the model was trained with ``--impute``); categorical columns become their indicators.
    """
    encoded = model.transform(frame, source)  # validates columns, types and missing values
    raw = encoded.copy()
    j = 0
    for c in model.preprocessor.columns_:
        if c["kind"] == "numeric":
            raw[:, j] = model.preprocessor._numbers(frame[c["name"]], c["name"], source)
            j += 1
        else:
            j += len(c["categories"])
    return raw.astype(np.float32)


def build_onnx(obj: Any, opset: int = MIN_OPSET) -> Any:
    """The ``onnx.ModelProto`` for a ``Sequential`` or a :class:`~chainrule.model.TabularModel`.

    Parameters
    ----------
    obj : Sequential, TabularModel, MLPClassifier or MLPRegressor
        What to export.
    opset : int
        ONNX opset, 13 or newer.
    """
    import onnx
    from onnx import TensorProto, helper

    from .. import __version__
    from ..layers import Sequential
    from ..model import TabularModel

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= int(opset) <= newest:
        raise ValueError(f"The ONNX opset must be between {MIN_OPSET} and {newest}, got {opset}.")
    g = _GraphBuilder()
    metadata = {"producer": f"chainrule {__version__}"}
    link = "softmax"  # what turns the network's output into probabilities (classifiers)
    if isinstance(obj, TabularModel):
        net, n_in = obj.net, obj.n_features
        x = "input"
        fill, mean, scale = obj.preprocessor.affine()
        columns = obj.preprocessor.columns_
        if any(c["kind"] == "numeric" and c["fill"] is not None for c in columns):
            # NaN in an imputed column becomes its training fill; elsewhere NaN stays NaN.
            isnan = g.op("IsNaN", [x], "isnan")
            filled = np.where(np.isnan(fill), np.float32(np.nan), fill).astype(np.float32)
            x = g.op("Where", [isnan, g.const("fill", filled), x], "imputed")
        x = g.op("Sub", [x, g.const("mean", mean.astype(np.float32))], "centered")
        x = g.op("Div", [x, g.const("scale", scale.astype(np.float32))], "standardized")
        out = _emit_layers(g, net, x)
        metadata["feature_names"] = json.dumps(obj.preprocessor.feature_names)
        metadata["target"] = obj.target
        task, classes = obj.task, obj.classes
        mean_y, scale_y = obj.target_mean, obj.target_scale
    elif isinstance(obj, Sequential):
        net, n_in = obj, obj.in_features
        out = _emit_layers(g, net, "input")
        task, classes, mean_y, scale_y = "raw", None, 0.0, 1.0
    elif type(obj).__name__ in ("MLPClassifier", "MLPRegressor") and hasattr(obj, "network_"):
        net, n_in = obj.network_, int(obj.n_features_in_)
        out = _emit_layers(g, net, "input")
        task, classes, mean_y, scale_y = "raw", None, 0.0, 1.0
        if type(obj).__name__ == "MLPClassifier":
            kind = obj._label_binarizer.y_type_
            if kind not in ("binary", "multiclass"):
                raise ValueError(f"Cannot export a {kind} MLPClassifier; only single-label ones.")
            task, classes = (
                "classification",
                [c.item() if hasattr(c, "item") else c for c in obj.classes_],
            )
            if net.output_dim(n_in) == 1:  # binary: one logit z, probabilities [1 − σ(z), σ(z)]
                p1 = g.op("Sigmoid", [out], "p1")
                p0 = g.op("Sub", [g.const("one", _scalar(1.0)), p1], "p0")
                out = g.op("Concat", [p0, p1], "two_class", axis=1)
                link = "none"
        if getattr(obj, "feature_names_in_", None) is not None:
            metadata["feature_names"] = json.dumps([str(n) for n in obj.feature_names_in_])
    else:
        raise ValueError(
            f"Cannot export a {type(obj).__name__} to ONNX; export a Sequential network, a "
            "model trained by 'chainrule train' or a fitted MLPClassifier / MLPRegressor."
        )
    n_out = len(classes) if task == "classification" else net.output_dim(n_in)
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_in])]
    if task == "classification":
        if link == "softmax":
            probs = g.op("Softmax", [out], "probabilities", output="probabilities", axis=1)
        else:  # already probabilities
            probs = g.op("Identity", [out], "probabilities", output="probabilities")
        index = g.op("ArgMax", [probs], "index", axis=1, keepdims=0)
        values, label_type = _label_tensor(classes)
        g.op("Gather", [g.const("classes", values), index], "label", output="label", axis=0)
        outputs = [
            helper.make_tensor_value_info("label", label_type, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_out]),
        ]
        metadata["classes"] = json.dumps(classes)
    else:
        if task == "regression":
            scaled = g.op("Mul", [out, g.const("target_scale", _scalar(scale_y))], "scaled")
            out = g.op("Add", [scaled, g.const("target_mean", _scalar(mean_y))], "variable")
        g.op("Identity", [out], "variable", output="variable")
        outputs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", n_out])]
    graph = helper.make_graph(g.nodes, "chainrule", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", int(opset))]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule")
    model.producer_version = __version__
    model.ir_version = helper.find_min_ir_version_for(opsets)
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model, full_check=True)
    return model


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
    model = build_onnx(obj, opset)
    return atomic_write_bytes(path, model.SerializeToString())
