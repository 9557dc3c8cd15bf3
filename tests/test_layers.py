"""Every layer against finite differences and PyTorch autograd, on random shapes (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.network.gradcheck import check_layer

ELEMENTWISE = {
    "Sigmoid": (cr.Sigmoid, torch.sigmoid),
    "Tanh": (cr.Tanh, torch.tanh),
    "ReLU": (cr.ReLU, torch.relu),
    "LeakyReLU": (lambda: cr.LeakyReLU(0.2), lambda z: F.leaky_relu(z, 0.2)),
    "ELU": (lambda: cr.ELU(0.7), lambda z: F.elu(z, 0.7)),
    "GELU": (cr.GELU, lambda z: F.gelu(z, approximate="tanh")),
    "Softmax": (cr.Softmax, lambda z: torch.softmax(z, dim=-1)),
    "Identity": (cr.Identity, lambda z: z),
}


def random_shape(seed: int) -> tuple[int, int]:
    gen = np.random.default_rng(seed)
    return int(gen.integers(1, 8)), int(gen.integers(1, 7))


def torch_reference(fn, x: np.ndarray, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output and ∂(Σ y⊙upstream)/∂x by autograd."""
    xt = torch.tensor(x, requires_grad=True)
    y = fn(xt)
    y.backward(torch.tensor(upstream))
    return y.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_activation_matches_torch_and_finite_differences(name: str, seed: int) -> None:
    make, reference = ELEMENTWISE[name]
    gen = np.random.default_rng(seed)
    x = gen.standard_normal(random_shape(seed)) * 2
    if name in ("ReLU", "LeakyReLU", "ELU"):  # keep away from the kink, where FD is undefined
        x[np.abs(x) < 1e-3] = 0.5
    g = gen.standard_normal(x.shape)
    layer = make()
    y = layer.forward(x, training=True)
    grad_x = layer.backward(g)
    y_ref, grad_ref = torch_reference(reference, x, g)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_x, grad_ref, rtol=1e-10, atol=1e-13)
    assert check_layer(make(), x, rng=seed).max_error < 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_dense_matches_torch_and_finite_differences(seed: int) -> None:
    n, d_in = random_shape(seed)
    d_out = int(np.random.default_rng(seed + 100).integers(1, 6))
    gen = np.random.default_rng(seed)
    layer = cr.Dense(d_in, d_out, weight_init="glorot_normal", rng=gen)
    layer.params["b"][:] = gen.standard_normal(d_out)
    x = gen.standard_normal((n, d_in))
    g = gen.standard_normal((n, d_out))
    z = layer.forward(x)
    grad_x = layer.backward(g)

    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(layer.params["W"], requires_grad=True)
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    zt = xt @ Wt + bt
    zt.backward(torch.tensor(g))
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["W"], Wt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), rtol=1e-12, atol=1e-14)
    report = check_layer(layer, x, rng=seed)
    assert set(report.errors) == {"input", "W", "b"}
    assert report.passed(1e-6), report.table()


def test_dropout_is_inverted_and_off_at_inference() -> None:
    x = np.ones((2000, 50))
    layer = cr.Dropout(0.3, rng=np.random.default_rng(0))
    y = layer.forward(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01  # Bernoulli(0.7) masks
    np.testing.assert_allclose(y[kept], 1 / 0.7)  # survivors scaled by 1/(1-p)
    assert abs(y.mean() - 1.0) < 0.02  # expectation preserved
    g = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), g * y)  # same mask, same scale
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_dropout_gradient_with_a_fixed_mask() -> None:
    """Finite differences through a dropout layer whose mask is redrawn identically each call."""

    class FixedMaskDropout(cr.Dropout):
        def forward(self, x, training=False):
            self.rng = np.random.default_rng(7)
            return super().forward(x, training)

    x = np.random.default_rng(3).standard_normal((5, 4))
    assert check_layer(FixedMaskDropout(0.5), x, training=True).max_error < 1e-6


def test_sequential_gradients_and_names() -> None:
    gen = np.random.default_rng(0)
    net = cr.Sequential(
        [
            cr.Dense(3, 5, rng=gen),
            cr.Tanh(),
            cr.Dense(5, 4, rng=gen),
            cr.ELU(),
            cr.Dense(4, 2, rng=gen),
        ]
    )
    assert list(net.params) == [
        "dense1.W",
        "dense1.b",
        "dense2.W",
        "dense2.b",
        "dense3.W",
        "dense3.b",
    ]
    assert [layer.name for layer in net] == ["dense1", "tanh1", "dense2", "elu1", "dense3"]
    assert net.n_params == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    report = check_layer(net, gen.standard_normal((6, 3)))
    assert report.passed(1e-6), report.table()


def test_backward_before_forward_is_a_clear_error() -> None:
    for layer in [
        cr.Dense(2, 3),
        cr.Sigmoid(),
        cr.Softmax(),
        cr.Dropout(0.1),
        cr.Sequential([cr.ReLU()]),
    ]:
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones((1, 3)))


def test_frozen_parameters_get_no_gradient_and_no_update() -> None:
    gen = np.random.default_rng(0)
    net = cr.Sequential([cr.Dense(2, 3, rng=gen), cr.Sigmoid(), cr.Dense(3, 1, rng=gen)])
    net.freeze("dense1.W", "dense2")
    assert net.frozen == {"dense1.W", "dense2.W", "dense2.b"}
    before = {k: v.copy() for k, v in net.params.items()}
    X, y = gen.standard_normal((20, 2)), gen.standard_normal(20)
    cr.Trainer(net, cr.MSE(), cr.sgd(0.1)).fit(X, y, epochs=3)
    assert set(net.grads) == {"dense1.b"}
    for name in ("dense1.W", "dense2.W", "dense2.b"):
        np.testing.assert_array_equal(net.params[name], before[name])
    assert not np.array_equal(net.params["dense1.b"], before["dense1.b"])
    net.unfreeze()
    assert net.frozen == set()
    with pytest.raises(KeyError, match="no layer or parameter"):
        net.freeze("dense9.W")


def test_config_round_trip_rebuilds_the_architecture() -> None:
    gen = np.random.default_rng(0)
    net = cr.Sequential(
        [cr.Dense(2, 3, rng=gen), cr.LeakyReLU(0.1), cr.Dropout(0.2), cr.Dense(3, 1)]
    )
    clone = cr.Sequential.from_config(net.config())
    clone.set_params(net.params)
    x = gen.standard_normal((4, 2))
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    assert clone.config() == net.config()
