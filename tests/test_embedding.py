"""Embedding and ColumnEmbedding against torch.nn.Embedding (float64), finite differences,
training and onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

import chainrule as cr
from chainrule.backend import to_numpy
from chainrule.network.gradcheck import check_layer, check_network
from chainrule.onnx_export import _GraphBuilder


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_matches_torch(padding_idx: int | None) -> None:
    gen = np.random.default_rng(0)
    layer = cr.Embedding(7, 3, padding_idx=padding_idx, rng=gen)
    codes = gen.integers(0, 7, size=(20, 4))  # 80 lookups of 7 rows: many repeats
    g = gen.standard_normal((20, 12))
    y = layer.forward(codes.astype(np.float64), training=True)
    assert layer.backward(g) is None  # codes are indices: no gradient

    ref = torch.nn.Embedding(7, 3, padding_idx=padding_idx).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["W"]))
    out = ref(torch.tensor(codes))  # (N, L, k)
    out.backward(torch.tensor(g).reshape(20, 4, 3))
    np.testing.assert_array_equal(y, out.detach().numpy().reshape(20, 12))
    np.testing.assert_allclose(layer.grads["W"], ref.weight.grad.numpy(), rtol=1e-13, atol=1e-13)
    if padding_idx is not None:
        assert not layer.params["W"][padding_idx].any()


def test_embedding_refuses_codes_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.4"):
        cr.Embedding(5, 2).forward(np.array([[0.0], [5.0]]))
    with pytest.raises(ValueError, match=r"0\.\.4"):
        cr.Embedding(5, 2).forward(np.array([[-1.0]]))


def _table(gen: np.random.Generator, n: int = 30) -> np.ndarray:
    """Columns: numeric, codes of 6 levels, numeric, codes of 4 levels."""
    X = gen.standard_normal((n, 4))
    X[:, 1] = gen.integers(0, 6, n)
    X[:, 3] = gen.integers(0, 4, n)
    return X


def test_column_embedding_matches_torch_and_finite_differences() -> None:
    gen = np.random.default_rng(1)
    layer = cr.ColumnEmbedding(
        4, columns=[3, 1], num_embeddings=[4, 6], embedding_dims=[2, 3], rng=gen
    )
    X = _table(gen)
    assert layer.output_dim(4) == 2 + 2 + 3
    g = gen.standard_normal((30, 7))
    y = layer.forward(X, training=True)
    dx = layer.backward(g)

    xt = torch.tensor(X, requires_grad=True)
    E3 = torch.tensor(layer.params["E3"], requires_grad=True)
    E1 = torch.tensor(layer.params["E1"], requires_grad=True)
    emb = torch.nn.functional.embedding
    codes = xt.detach().long()
    yt = torch.cat([xt[:, [0, 2]], emb(codes[:, 3], E3), emb(codes[:, 1], E1)], dim=1)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=0)  # zeros on code columns
    np.testing.assert_allclose(layer.grads["E3"], E3.grad.numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(layer.grads["E1"], E1.grad.numpy(), rtol=1e-13, atol=1e-13)
    report = check_layer(layer, X, rng=3)
    assert set(report.errors) == {"input", "E3", "E1"}
    assert report.passed(1e-6), report.table()


def _net(gen: np.random.Generator, dtype: str = "float64") -> cr.Sequential:
    return cr.Sequential(
        [
            cr.ColumnEmbedding(4, [1, 3], [6, 4], 3, rng=gen, dtype=dtype),
            cr.Dense(8, 8, rng=gen, dtype=dtype),
            cr.Tanh(),
            cr.Dense(8, 1, rng=gen, dtype=dtype),
        ]
    )


def test_column_embedding_network_gradients_and_training() -> None:
    gen = np.random.default_rng(2)
    X = _table(gen, 200)
    effect = gen.standard_normal(6)
    y = effect[X[:, 1].astype(int)] + 0.5 * X[:, 0]  # the level of column 1 matters
    net = _net(gen)
    report = check_network(net, cr.MSE(), X[:10], y[:10], check_input=True)
    assert report.passed(1e-6), report.table()
    history = cr.Trainer(net, cr.MSE(), cr.adam(0.02)).fit(X, y, epochs=60, batch_size=32, rng=0)
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    # the same run in float32 keeps float32 and lands close by
    net32 = _net(np.random.default_rng(2), "float32")
    cr.Trainer(net32, cr.MSE(), cr.sgd(0.01)).fit(X.astype(np.float32), y, epochs=2, rng=0)
    assert {v.dtype for v in [*net32.params.values(), *net32.grads.values()]} == {
        np.dtype(np.float32)
    }


def _onnx_session(net: cr.Sequential, width: int, n_out: int) -> ort.InferenceSession:
    """The network's nodes as onnx_export emits them, with the input width given explicitly."""
    g = _GraphBuilder()
    out = net.onnx(g, "input")
    g.op("Identity", [out], "output", output="output")
    graph = helper.make_graph(
        g.nodes,
        "t",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", n_out])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_onnx_export_matches_onnxruntime() -> None:
    gen = np.random.default_rng(5)
    X = _table(gen, 50)
    net = _net(gen)
    (got,) = _onnx_session(net, 4, 1).run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-5, atol=1e-5)

    emb = cr.Sequential([cr.Embedding(9, 2, rng=gen), cr.Dense(6, 2, rng=gen)])
    codes = gen.integers(0, 9, (40, 3)).astype(np.float64)
    (got,) = _onnx_session(emb, 3, 2).run(None, {"input": codes.astype(np.float32)})
    np.testing.assert_allclose(got, emb.predict(codes), rtol=1e-5, atol=1e-5)
    for layer in (net[0], emb[0]):
        assert "E" in layer.formula and "∂L/∂E" in layer.derivative


def test_embeddings_on_strict_arrays_agree_with_numpy() -> None:
    xps = pytest.importorskip("array_api_strict")
    gen = np.random.default_rng(6)
    X = _table(gen, 12)
    g = gen.standard_normal((12, 8))
    for layer_np, x_np in (
        (cr.ColumnEmbedding(4, [1, 3], [6, 4], 3, rng=0), X),
        (cr.Embedding(6, 4, padding_idx=0, rng=0), X[:, [1]]),
    ):
        layer_xp = type(layer_np).from_config(layer_np.config())
        layer_xp.params = {k: xps.asarray(v) for k, v in layer_np.params.items()}
        y = layer_np.forward(x_np, True)
        dx = layer_np.backward(g[:, : y.shape[1]])
        y_xp = layer_xp.forward(xps.asarray(x_np), True)
        dx_xp = layer_xp.backward(xps.asarray(g[:, : y.shape[1]]))
        np.testing.assert_array_equal(np.asarray(to_numpy(y_xp)), y)
        assert (dx is None) == (dx_xp is None)
        if dx is not None:
            np.testing.assert_array_equal(np.asarray(to_numpy(dx_xp)), dx)
        for k, v in layer_np.grads.items():
            np.testing.assert_allclose(np.asarray(to_numpy(layer_xp.grads[k])), v, rtol=1e-13)
