"""Gradient checking can fail, deep sigmoid stacks vanish, initializers have the right scale."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.network import initializers
from chainrule.network.gradcheck import check_layer, check_network


class WrongSigmoid(cr.Sigmoid):
    """A sigmoid whose hand-derived derivative forgot a factor: y instead of y(1 − y)."""

    def backward(self, grad, need_input_grad=True):
        return grad * self._y


def test_gradcheck_catches_a_wrong_derivative() -> None:
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert check_layer(cr.Sigmoid(), x).max_error < 1e-6
    report = check_layer(WrongSigmoid(), x)
    assert report.max_error > 0.1 and not report.passed()
    assert "NO" in report.table()


def test_network_gradcheck_reports_every_parameter_and_the_input() -> None:
    gen = np.random.default_rng(1)
    net = cr.Sequential([cr.Dense(3, 4, rng=gen), cr.GELU(), cr.Dense(4, 3, rng=gen)])
    X, y = gen.standard_normal((5, 3)), gen.integers(0, 3, 5)
    report = check_network(net, cr.CrossEntropy(), X, y, check_input=True)
    assert set(report.errors) == {"dense1.W", "dense1.b", "dense2.W", "dense2.b", "input"}
    assert report.passed(1e-6), report.table()
    broken = cr.Sequential([cr.Dense(3, 4, rng=gen), WrongSigmoid(), cr.Dense(4, 1, rng=gen)])
    bad = check_network(broken, cr.MSE(), X, gen.standard_normal(5))
    assert bad.errors["dense1.W"] > 1e-3 and bad.errors["dense2.W"] < 1e-6


def first_layer_gradient_ratio(activation, depth: int = 8) -> float:
    """‖∂L/∂W₁‖ / ‖∂L/∂W_last‖ for a deep stack at initialisation."""
    gen = np.random.default_rng(0)
    layers: list[cr.Layer] = []
    for _ in range(depth):
        layers += [cr.Dense(16, 16, weight_init="glorot_normal", rng=gen), activation()]
    net = cr.Sequential([*layers, cr.Dense(16, 1, weight_init="glorot_normal", rng=gen)])
    X, y = gen.standard_normal((64, 16)), gen.standard_normal((64, 1))
    _, grad = cr.MSE()(net.forward(X, True), y)
    net.backward(grad)
    grads = net.grads
    return float(np.linalg.norm(grads["dense1.W"]) / np.linalg.norm(grads[f"dense{depth}.W"]))


def test_deep_sigmoid_gradient_vanishes_where_relu_does_not() -> None:
    """σ'(z) ≤ 1/4, so each sigmoid layer shrinks the gradient; ReLU passes it through."""
    sigmoid = first_layer_gradient_ratio(cr.Sigmoid)
    relu = first_layer_gradient_ratio(cr.ReLU)
    assert sigmoid < 1e-3  # seven layers of at most 1/4 each: below (1/4)^5
    assert 0.1 < relu < 10
    assert relu / sigmoid > 1e3


@pytest.mark.parametrize(
    "name, variance",
    [
        ("normal", lambda fi, fo: 1.0),
        ("glorot_uniform", lambda fi, fo: 2.0 / (fi + fo)),
        ("glorot_normal", lambda fi, fo: 2.0 / (fi + fo)),
        ("he_uniform", lambda fi, fo: 2.0 / fi),
        ("he_normal", lambda fi, fo: 2.0 / fi),
        ("lecun_uniform", lambda fi, fo: 1.0 / fi),
        ("lecun_normal", lambda fi, fo: 1.0 / fi),
    ],
)
def test_initializer_variance_matches_its_formula(name: str, variance) -> None:
    fan_in, fan_out = 300, 200
    W = initializers.get(name)((fan_in, fan_out), np.random.default_rng(0))
    assert W.shape == (fan_in, fan_out)
    assert abs(W.mean()) < 0.01 * np.sqrt(variance(fan_in, fan_out)) * 10
    assert W.var() == pytest.approx(variance(fan_in, fan_out), rel=0.02)


def test_initializers_take_explicit_generators_and_the_lectures_stream() -> None:
    a = initializers.he_normal((3, 4), np.random.default_rng(5))
    b = initializers.he_normal((3, 4), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    legacy = np.random.RandomState(42)
    legacy.randn(500, 2)
    expected = np.random.RandomState(42)
    expected.standard_normal((500, 2))
    np.testing.assert_array_equal(initializers.normal((2, 4), legacy), expected.randn(2, 4))
    np.testing.assert_array_equal(initializers.zeros((3,)), np.zeros(3))
    with pytest.raises(ValueError, match="Unknown initializer 'uniformish'"):
        initializers.get("uniformish")
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        cr.Dense(2, 2, rng="seed")
