"""Every loss against PyTorch autograd and finite differences, plus numerical stability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.network.gradcheck import check_loss


def torch_value_and_grad(fn, y_pred: np.ndarray, *args) -> tuple[float, np.ndarray]:
    p = torch.tensor(y_pred, requires_grad=True)
    value = fn(p, *[torch.tensor(a) for a in args])
    value.backward()
    return float(value.detach()), p.grad.numpy()


def data(seed: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    n, k = int(gen.integers(1, 9)), int(gen.integers(1, 5))
    if kind == "regression":
        return gen.standard_normal((n, k)) * 2, gen.standard_normal((n, k)) * 2
    if kind == "probability":
        return gen.uniform(0.02, 0.98, (n, k)), gen.integers(0, 2, (n, k)).astype(float)
    if kind == "counts":
        return gen.standard_normal((n, k)), gen.poisson(2.0, (n, k)).astype(float)
    raise ValueError(kind)


CASES = {
    "mse-mean": (cr.MSE(), "regression", lambda p, t: F.mse_loss(p, t)),
    "mse-sum": (
        cr.MSE(reduction="sum"),
        "regression",
        lambda p, t: F.mse_loss(p, t, reduction="sum"),
    ),
    "half-sse": (
        cr.HalfSumSquaredError(),
        "regression",
        lambda p, t: 0.5 * F.mse_loss(p, t, reduction="sum"),
    ),
    "mae": (cr.MAE(), "regression", lambda p, t: F.l1_loss(p, t)),
    "huber": (cr.Huber(0.8), "regression", lambda p, t: F.huber_loss(p, t, delta=0.8)),
    "bce": (cr.BinaryCrossEntropy(), "probability", lambda p, t: F.binary_cross_entropy(p, t)),
    "bce-logits": (
        cr.BinaryCrossEntropy(from_logits=True),
        "regression-logits",
        lambda p, t: F.binary_cross_entropy_with_logits(p, t),
    ),
    "poisson": (
        cr.PoissonNLL(),
        "counts",
        lambda p, t: F.poisson_nll_loss(p, t, log_input=True, full=False),
    ),
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("case", list(CASES))
def test_loss_matches_torch_and_finite_differences(case: str, seed: int) -> None:
    loss, kind, reference = CASES[case]
    if kind == "regression-logits":
        y_pred, _ = data(seed, "regression")
        y_true = np.random.default_rng(seed).integers(0, 2, y_pred.shape).astype(float)
    else:
        y_pred, y_true = data(seed, kind)
    value, grad = loss(y_pred.copy(), y_true)
    ref_value, ref_grad = torch_value_and_grad(reference, y_pred, y_true)
    assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    assert check_loss(loss, y_pred, y_true).max_error < 1e-6


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("target", ["indices", "probabilities"])
def test_crossentropy_matches_torch(seed: int, target: str) -> None:
    gen = np.random.default_rng(seed)
    n, k = int(gen.integers(1, 9)), int(gen.integers(2, 6))
    logits = gen.standard_normal((n, k)) * 3
    if target == "indices":
        y = gen.integers(0, k, n)
    else:
        y = gen.dirichlet(np.ones(k), n)
    value, grad = cr.CrossEntropy()(logits.copy(), y)
    ref_value, ref_grad = torch_value_and_grad(lambda p, t: F.cross_entropy(p, t), logits, y)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    assert check_loss(cr.CrossEntropy(), logits, y).max_error < 1e-6


def test_sample_weights_are_a_weighted_mean() -> None:
    """Weighted mean = Σ wₙ ℓₙ / Σ wₙ, as PyTorch's class-weighted cross-entropy normalises."""
    gen = np.random.default_rng(0)
    logits, y = gen.standard_normal((7, 3)), gen.integers(0, 3, 7)
    class_weight = np.array([0.5, 2.0, 1.0])
    value, grad = cr.CrossEntropy()(logits.copy(), y, class_weight[y])
    ref_value, ref_grad = torch_value_and_grad(
        lambda p, t, w: F.cross_entropy(p, t, weight=w), logits, y, class_weight
    )
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10)
    w = gen.uniform(0.1, 3, 7)
    y_pred, y_true = gen.standard_normal((7, 2)), gen.standard_normal((7, 2))
    expected = np.sum(w[:, None] * (y_pred - y_true) ** 2) / (w.sum() * 2)
    assert cr.MSE()(y_pred.copy(), y_true, w)[0] == pytest.approx(expected, rel=1e-12)
    assert check_loss(cr.MSE(), y_pred, y_true, w).max_error < 1e-6
    assert check_loss(cr.Huber(), y_pred, y_true, w).max_error < 1e-6


def test_links_turn_logits_into_probabilities() -> None:
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(
        cr.CrossEntropy().link(z), torch.softmax(torch.tensor(z), -1).numpy()
    )
    np.testing.assert_allclose(
        cr.BinaryCrossEntropy(from_logits=True).link(z), torch.sigmoid(torch.tensor(z)).numpy()
    )
    np.testing.assert_array_equal(cr.MSE().link(z), z)


EXTREME = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]])


def test_sigmoid_is_finite_at_extreme_inputs() -> None:
    layer = cr.Sigmoid()
    y = layer.forward(EXTREME)
    g = layer.backward(np.ones_like(EXTREME))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(y, torch.sigmoid(torch.tensor(EXTREME)).numpy(), atol=1e-300)
    y32 = cr.Sigmoid().forward(EXTREME.astype(np.float32))
    assert y32.dtype == np.float32 and np.all(np.isfinite(y32))
    assert y32[0, 0] == pytest.approx(0.0, abs=1e-37) and y32[0, -1] == 1.0


def test_softmax_and_crossentropy_are_finite_at_extreme_logits() -> None:
    layer = cr.Softmax()
    y = layer.forward(EXTREME)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(layer.backward(np.ones_like(y))))
    for target in (np.array([0]), np.array([4])):
        value, grad = cr.CrossEntropy()(EXTREME.copy(), target)
        ref_value, ref_grad = torch_value_and_grad(
            lambda p, t: F.cross_entropy(p, t), EXTREME, target
        )
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert value == pytest.approx(ref_value, rel=1e-12)
        np.testing.assert_allclose(grad, ref_grad, atol=1e-12)


def test_binary_crossentropy_is_finite_at_extremes() -> None:
    targets = np.array([[1.0, 0.0, 1.0, 0.0, 1.0]])
    value, grad = cr.BinaryCrossEntropy(from_logits=True)(EXTREME.copy(), targets)
    ref_value, ref_grad = torch_value_and_grad(F.binary_cross_entropy_with_logits, EXTREME, targets)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-12)
    probs = cr.Sigmoid().forward(EXTREME)  # exactly 0 and 1 at ±1e4
    value, grad = cr.BinaryCrossEntropy()(probs, targets)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_bad_reduction_is_rejected() -> None:
    with pytest.raises(ValueError, match="reduction must be"):
        cr.MSE(reduction="avg")
