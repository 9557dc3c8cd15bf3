"""Forward, backward and an update on ``array_api_strict`` arrays: no NumPy-only call in the engine."""

from __future__ import annotations

import array_api_strict as xps
import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import namespace, to_numpy

LAYERS = [cr.Sigmoid, cr.Tanh, cr.ReLU, cr.LeakyReLU, cr.ELU, cr.GELU, cr.Softmax, cr.Identity]
LOSSES = [
    (cr.MSE(), "float"),
    (cr.MAE(), "float"),
    (cr.Huber(), "float"),
    (cr.BinaryCrossEntropy(from_logits=True), "binary"),
    (cr.BinaryCrossEntropy(), "binary-prob"),
    (cr.PoissonNLL(), "count"),
    (cr.CrossEntropy(), "index"),
]


def test_namespace_of_strict_arrays_is_strict() -> None:
    assert namespace(xps.asarray([1.0])) is xps
    assert namespace(np.ones(2)) is np


@pytest.mark.parametrize("activation", LAYERS, ids=lambda c: c.__name__)
def test_network_forward_backward_update_on_strict_arrays(activation) -> None:
    gen = np.random.default_rng(0)
    X_np = gen.standard_normal((12, 3))
    y_np = gen.standard_normal((12, 2))
    net_np = cr.Sequential(
        [cr.Dense(3, 5, rng=1), activation(), cr.Dropout(0.0), cr.Dense(5, 2, rng=2)]
    )
    net_xp = cr.Sequential.from_config(net_np.config())
    net_xp.set_params(net_np.params)

    X, y = xps.asarray(X_np), xps.asarray(y_np)
    trainer = cr.Trainer(net_xp, cr.MSE(), cr.adam(0.01))
    trainer.fit(X, y, epochs=3, batch_size=5, rng=0)
    cr.Trainer(net_np, cr.MSE(), cr.adam(0.01)).fit(X_np, y_np, epochs=3, batch_size=5, rng=0)
    for k, v in net_xp.params.items():
        assert namespace(v) is xps  # parameters moved into the input's namespace
        np.testing.assert_allclose(to_numpy(v), net_np.params[k], rtol=1e-12, atol=1e-14)
    assert namespace(trainer.predict(X)) is xps


@pytest.mark.parametrize(
    "loss, kind", LOSSES, ids=lambda v: type(v).__name__ if not isinstance(v, str) else v
)
def test_losses_on_strict_arrays(loss, kind: str) -> None:
    gen = np.random.default_rng(0)
    pred = gen.standard_normal((6, 3))
    if kind == "binary-prob":
        pred = 1 / (1 + np.exp(-pred))
    true = {
        "float": gen.standard_normal((6, 3)),
        "binary": gen.integers(0, 2, (6, 3)).astype(float),
        "binary-prob": gen.integers(0, 2, (6, 3)).astype(float),
        "count": gen.poisson(2.0, (6, 3)).astype(float),
        "index": gen.integers(0, 3, 6),
    }[kind]
    w = gen.uniform(0.5, 2.0, 6)
    value_np, grad_np = loss(pred.copy(), true, w)
    value, grad = loss(xps.asarray(pred), xps.asarray(true), xps.asarray(w))
    assert float(value) == pytest.approx(value_np, rel=1e-12)  # a 0-d array off NumPy
    np.testing.assert_allclose(to_numpy(grad), grad_np, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cr.sgd(0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda: cr.adamw(0.1),
        lambda: cr.rmsprop(0.1, momentum=0.5, centered=True),
    ],
)
def test_optimizers_on_strict_arrays(make) -> None:
    gen = np.random.default_rng(0)
    p_np = {"w": gen.standard_normal((2, 3))}
    p_xp = {"w": xps.asarray(p_np["w"].copy())}
    opt_np, opt_xp = make(), make()
    s_np, s_xp = opt_np.init(p_np), opt_xp.init(p_xp)
    for _ in range(5):
        g = gen.standard_normal((2, 3))
        u, s_np = opt_np.update({"w": g.copy()}, s_np, p_np)
        cr.apply_updates(p_np, u)
        u, s_xp = opt_xp.update({"w": xps.asarray(g)}, s_xp, p_xp)
        cr.apply_updates(p_xp, u)
    np.testing.assert_allclose(to_numpy(p_xp["w"]), p_np["w"], rtol=1e-12)
