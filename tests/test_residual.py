"""Residual blocks against torch autograd (float64), onnxruntime, and the reason they exist:
a 12-layer sigmoid stack that does not train without skip connections trains with them."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from sklearn.datasets import make_moons

import chainrule as cr
from chainrule.onnx_export import build_onnx

TOL = 1e-10


def _net(gen: np.random.Generator) -> cr.Sequential:
    """3 → 5 → Residual(tanh, 5 → 5) → Residual(sigmoid, 5 → 4, projected) → 2."""
    return cr.Sequential(
        [
            cr.Dense(3, 5, rng=gen),
            cr.Residual(cr.Sequential([cr.Tanh(), cr.Dense(5, 5, rng=gen)])),
            cr.Residual(cr.Sequential([cr.Dense(5, 4, rng=gen), cr.Sigmoid()]), rng=gen),
            cr.Dense(4, 2, rng=gen),
        ]
    )


def _t(a: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(np.array(a), dtype=torch.float64, requires_grad=grad)


def test_residual_forward_and_backward_match_torch_autograd() -> None:
    """y = x + f(x) and y = xP + f(x), written directly in torch: output, ∂L/∂x and every
    parameter gradient agree to 1e-10 in float64."""
    gen = np.random.default_rng(5)
    net = _net(gen)
    x = gen.standard_normal((8, 3))
    target = gen.standard_normal((8, 2))
    out = net.forward(x, training=True)
    _, grad = cr.MSE()(out, target)
    grad_x = net.backward(grad)

    p = {name: _t(v) for name, v in net.params.items()}
    xt = _t(x)
    h = xt @ p["dense1.W"] + p["dense1.b"]
    h = h + (torch.tanh(h) @ p["residual1.block.dense1.W"] + p["residual1.block.dense1.b"])
    fh = torch.sigmoid(h @ p["residual2.block.dense1.W"] + p["residual2.block.dense1.b"])
    h = h @ p["residual2.projection.W"] + fh
    tout = h @ p["dense2.W"] + p["dense2.b"]
    torch.nn.functional.mse_loss(tout, torch.tensor(target)).backward()

    assert set(p) == set(net.grads)  # the projection is bias-free: W only
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=0, atol=TOL)
    for name, g in net.grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=0, atol=TOL, err_msg=name)


def test_residual_onnx_round_trip_matches_onnxruntime() -> None:
    X, y = make_moons(200, noise=0.2, random_state=3)
    gen = np.random.default_rng(2)
    net = cr.Sequential(
        [
            cr.Dense(2, 6, rng=gen),
            cr.Residual(cr.Sequential([cr.ReLU(), cr.Dense(6, 6, rng=gen)])),
            cr.Residual(cr.Sequential([cr.Tanh(), cr.Dense(6, 3, rng=gen)]), rng=gen),
            cr.Dense(3, 2, rng=gen),
        ]
    )
    cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01)).fit(X, y, epochs=3, batch_size=32, rng=0)
    session = ort.InferenceSession(build_onnx(net).SerializeToString())
    (got,) = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(got, net.predict(X).astype(np.float32), atol=1e-5, rtol=1e-5)


def _deep_moons(residual: bool) -> tuple[float, float]:
    """First- and last-epoch loss of 12 Dense layers with sigmoids between, on make_moons;
    with ``residual`` the 11 inner ``sigmoid → Dense`` blocks are wrapped in ``Residual``."""
    X, y = make_moons(512, noise=0.2, random_state=0)
    gen = np.random.default_rng(0)
    layers: list[cr.Layer] = [cr.Dense(2, 16, rng=gen)]
    for _ in range(11):
        block = cr.Sequential([cr.Sigmoid(), cr.Dense(16, 16, rng=gen)])
        layers.append(cr.Residual(block) if residual else block)
    layers += [cr.Sigmoid(), cr.Dense(16, 2, rng=gen)]
    trainer = cr.Trainer(cr.Sequential(layers), cr.CrossEntropy(), cr.sgd(0.1, momentum=0.9))
    history = trainer.fit(X, y, epochs=15, batch_size=64, rng=1)
    return history["loss"][0], history["loss"][-1]


def test_residual_links_train_a_deep_sigmoid_network_that_does_not_train_without_them() -> None:
    first, last = _deep_moons(residual=False)
    assert last > 0.65 and last > first - 0.05  # stuck at chance: log 2 ≈ 0.693
    first, last = _deep_moons(residual=True)
    assert last < 0.35 and last < first / 2
