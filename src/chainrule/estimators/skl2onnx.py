"""chainrule's estimators for skl2onnx: whole scikit-learn pipelines to ONNX.

Importing this module registers :class:`~chainrule.MLPClassifier` and
:class:`~chainrule.MLPRegressor` with `skl2onnx <https://onnx.ai/sklearn-onnx/>`_ (a shape
calculator and a converter each), so a pipeline with a chainrule network in it converts as a
whole — the scaler, the encoder and the network in one graph::

    import skl2onnx
    import chainrule.estimators.skl2onnx  # noqa: F401  (registers the converters)

    pipe = make_pipeline(StandardScaler(), MLPClassifier()).fit(X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})

The converter writes no operator of its own: each layer's ``onnx(graph, x)`` translation
(the one :func:`chainrule.export_onnx` uses) and the loss's ``link_onnx`` are run against a
small adapter over skl2onnx's scope and container. Outputs are skl2onnx's: a classifier's
``label`` and ``probabilities`` (ZipMap'd unless ``zipmap=False``), a regressor's
``variable``. The graph computes in float32; a double input is cast to float first.

Needs the ``skl2onnx`` extra: ``pip install 'chainrule[skl2onnx]'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.estimators._classifier import MLPClassifier
from chainrule.estimators._regressor import MLPRegressor
from chainrule.extras import require

require("skl2onnx", "onnx", purpose="chainrule.estimators.skl2onnx")

from onnx import TensorProto  # noqa: E402
from skl2onnx import update_registered_converter  # noqa: E402
from skl2onnx.common.data_types import (  # noqa: E402
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)

MIN_OPSET = 13
"""The operators of chainrule's layer translations (``Softmax`` on one axis) need opset 13."""

_ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


class _SklGraph:
    """chainrule's graph protocol (``op``, ``const``) over skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint.replace(".", "_"))

    def const(self, hint: str, value: np.ndarray) -> str:
        array = np.asarray(value)
        name = self.name(hint)
        if array.dtype.kind in "US":  # class labels as text
            values = [str(v).encode("utf-8") for v in array.ravel()]
            self.container.add_initializer(name, TensorProto.STRING, array.shape, values)
        else:
            kind = _ONNX_TYPES[array.dtype]
            self.container.add_initializer(name, kind, array.shape, array.ravel().tolist())
        return name

    def op(
        self, op_type: str, inputs: list[str], hint: str, output: str | None = None, **attrs: Any
    ) -> str:
        out = output or self.name(hint)
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, [out], name=name, **attrs)
        return out


def _float_input(g: _SklGraph, operator: Any) -> str:
    if g.container.target_opset < MIN_OPSET:
        raise RuntimeError(
            f"chainrule's networks export at ONNX opset {MIN_OPSET} or newer; "
            f"pass target_opset={MIN_OPSET} (or newer) to skl2onnx."
        )
    x = operator.inputs[0].full_name
    if isinstance(operator.inputs[0].type, FloatTensorType):
        return x
    return g.op("Cast", [x], "x_float", to=TensorProto.FLOAT)


def _label_values(classes: list[Any]) -> np.ndarray:
    if all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64)
    return np.array([str(c) for c in classes])


def _classifier_shapes(operator: Any) -> None:
    """``label (N,)`` (int64 or string, as the classes) and ``probabilities (N, K)`` float."""
    model = operator.raw_operator
    classes = model._classes()
    if classes is None:
        raise NotImplementedError("A multilabel MLPClassifier does not convert with skl2onnx.")
    n = operator.inputs[0].get_first_dimension()
    label = Int64TensorType if _label_values(classes).dtype == np.int64 else StringTensorType
    operator.outputs[0].type = label(shape=[n])
    operator.outputs[1].type = FloatTensorType(shape=[n, len(classes)])


def _classifier_converter(scope: Any, operator: Any, container: Any) -> None:
    """The network, its link (softmax or sigmoid), ``[1 − p, p]`` for one logit, the arg-max."""
    model = operator.raw_operator.trained_model()
    g = _SklGraph(scope, container)
    probs = model.loss.link_onnx(g, model.network.onnx(g, _float_input(g, operator)))
    classes = list(model.classes)
    if model.network.output_dim(model.network.in_features) == 1:  # one logit, two classes
        p0 = g.op("Sub", [g.const("one", np.array(1.0, dtype=np.float32)), probs], "p0")
        probs = g.op("Concat", [p0, probs], "two_class", axis=1)
    g.op("Identity", [probs], "probabilities", output=operator.outputs[1].full_name)
    index = g.op("ArgMax", [probs], "index", axis=1, keepdims=0)
    labels = g.const("classes", _label_values(classes))
    g.op("Gather", [labels, index], "label", output=operator.outputs[0].full_name, axis=0)


def _regressor_shapes(operator: Any) -> None:
    """``variable (N, n_outputs)`` float."""
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType(shape=[n, operator.raw_operator.n_outputs_])


def _regressor_converter(scope: Any, operator: Any, container: Any) -> None:
    """The network and its loss's link (identity, or ``exp`` for Poisson): ``predict``."""
    model = operator.raw_operator.trained_model()
    g = _SklGraph(scope, container)
    out = model.loss.link_onnx(g, model.network.onnx(g, _float_input(g, operator)))
    g.op("Identity", [out], "variable", output=operator.outputs[0].full_name)


def register() -> None:
    """Register both estimators with skl2onnx (done on import; calling again is harmless)."""
    update_registered_converter(
        MLPClassifier,
        "ChainruleMLPClassifier",
        _classifier_shapes,
        _classifier_converter,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        MLPRegressor, "ChainruleMLPRegressor", _regressor_shapes, _regressor_converter
    )


register()

__all__ = ["register"]
