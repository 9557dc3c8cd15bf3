"""Every activation and loss carries all of its facts, and each fact is true.

Adding an activation or a loss is one class in one file; this test walks the registries and
holds each entry to its own claims: its PyTorch oracle computes the same values (an independent
implementation), its ONNX translation computes the same values in onnxruntime, its formula texts
exist, and its scikit-learn name is one scikit-learn (or the estimators) accepts.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from chainrule.network.activations import ACTIVATIONS, Activation
from chainrule.network.losses import LOSSES, Loss
from chainrule.onnx_export import _GraphBuilder

ACTIVATION_CLASSES = sorted(set(ACTIVATIONS.values()), key=lambda c: c.__name__)
LOSS_CLASSES = sorted(set(LOSSES.values()), key=lambda c: c.__name__)
SKLEARN_ACTIVATIONS = {"identity", "logistic", "tanh", "relu"}  # scikit-learn's own four
SKLEARN_LOSSES = {"squared_error", "absolute_error", "huber", "log_loss", "poisson"}


def _run_onnx(build, x: np.ndarray) -> np.ndarray:
    g = _GraphBuilder()
    out = build(g, "input")
    g.op("Identity", [out], "output", output="output")
    graph = helper.make_graph(
        g.nodes,
        "t",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", x.shape[1]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", x.shape[1]])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


@pytest.mark.parametrize("cls", ACTIVATION_CLASSES, ids=lambda c: c.__name__)
def test_every_activation_carries_true_facts(cls: type[Activation]) -> None:
    layer = cls()
    assert layer.symbol and layer.formula, "symbol and formula text for explain"
    assert layer.derivative("z1", "h") and "′" not in layer.derivative("z1", "h")
    assert layer.torch_oracle, "a PyTorch expression the tests compare with"
    assert "sklearn_name" in vars(cls) or cls.sklearn_name is None
    if cls.sklearn_name is not None:
        assert ACTIVATIONS[cls.sklearn_name] is cls
    x = np.random.default_rng(0).standard_normal((6, 4)) * 3
    ours = layer.forward(x)
    theirs = eval(layer.torch_oracle, {"torch": torch, "z": torch.tensor(x), "layer": layer})
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_run_onnx(layer.onnx, x), ours, rtol=1e-5, atol=1e-5)


def test_scikit_learns_own_activations_keep_their_names() -> None:
    names = {cls.sklearn_name for cls in ACTIVATION_CLASSES}
    assert SKLEARN_ACTIVATIONS <= names


def _target(loss: Loss, shape: tuple[int, int], gen: np.random.Generator) -> np.ndarray:
    if type(loss).__name__ == "BinaryCrossEntropy":
        return gen.uniform(0.05, 0.95, shape)
    if type(loss).__name__ == "CrossEntropy":
        return np.eye(shape[1])[gen.integers(0, shape[1], shape[0])]
    if type(loss).__name__ == "PoissonNLL":
        return gen.poisson(2.0, shape).astype(np.float64)
    return gen.standard_normal(shape)


@pytest.mark.parametrize("cls", LOSS_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_every_loss_carries_true_facts(cls: type[Loss], reduction: str) -> None:
    loss = cls(reduction=reduction)
    value_text, gradient_text = loss.formula()
    assert value_text and gradient_text, "formula texts for explain"
    assert loss.sklearn_name is None or loss.sklearn_name in SKLEARN_LOSSES
    gen = np.random.default_rng(1)
    z = gen.standard_normal((5, 3))
    if type(loss).__name__ == "BinaryCrossEntropy" and not loss.from_logits:
        z = 1 / (1 + np.exp(-z))  # probabilities
    y = _target(loss, z.shape, gen)
    value, _ = loss(z, y)
    zt, yt = torch.tensor(z), torch.tensor(y)
    expected = eval(loss.torch_oracle, {"torch": torch, "z": zt, "y": yt, "loss": loss})
    np.testing.assert_allclose(value, float(expected), rtol=1e-10)
    # the ONNX link computes the Python link
    np.testing.assert_allclose(_run_onnx(loss.link_onnx, z), loss.link(z), rtol=1e-5, atol=1e-6)
