"""Each optimizer against ``torch.optim`` over 100 steps fed identical gradients (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.network import optimizers

CASES = {
    "sgd": (lambda: cr.sgd(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (
        lambda: cr.sgd(0.05, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    ),
    "sgd-nesterov": (
        lambda: cr.sgd(0.05, momentum=0.8, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
    ),
    "sgd-l2": (
        lambda: cr.sgd(0.05, momentum=0.5, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.01),
    ),
    "adam": (lambda: cr.adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam-l2": (
        lambda: cr.adam(0.01, b1=0.8, b2=0.99, eps=1e-7, weight_decay=0.05),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05),
    ),
    "adamw": (
        lambda: cr.adamw(0.01, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    ),
    "rmsprop": (lambda: cr.rmsprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
    "rmsprop-momentum-centered": (
        lambda: cr.rmsprop(0.005, alpha=0.9, momentum=0.7, centered=True, weight_decay=0.01),
        lambda p: torch.optim.RMSprop(
            p, lr=0.005, alpha=0.9, momentum=0.7, centered=True, weight_decay=0.01
        ),
    ),
}


def run_both(make_ours, make_torch, lr_scheduler=None, steps: int = 100):
    gen = np.random.default_rng(0)
    start = {"W": gen.standard_normal((3, 4)), "b": gen.standard_normal(4)}
    ours = {k: v.copy() for k, v in start.items()}
    theirs = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    opt = make_ours()
    state = opt.init(ours)
    topt = make_torch(list(theirs.values()))
    sched = lr_scheduler(topt) if lr_scheduler else None
    for _ in range(steps):
        grads = {k: gen.standard_normal(v.shape) for k, v in start.items()}
        for k, p in theirs.items():
            p.grad = torch.tensor(grads[k].copy())
        topt.step()
        if sched:
            sched.step()
        updates, state = opt.update({k: g.copy() for k, g in grads.items()}, state, ours)
        optimizers.apply_updates(ours, updates)
    return ours, {k: v.detach().numpy() for k, v in theirs.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_optimizer_matches_torch_over_100_steps(case: str) -> None:
    ours, theirs = run_both(*CASES[case])
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6, atol=1e-9)


SCHEDULES = {
    "step": (
        lambda: optimizers.step_decay(0.1, step_size=7, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    "exponential": (
        lambda: optimizers.exponential_decay(0.1, gamma=0.97),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.97),
    ),
    "cosine": (
        lambda: optimizers.cosine_decay(0.1, decay_steps=100, min_learning_rate=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.01),
    ),
}


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_schedule_matches_torch_lr_scheduler(case: str) -> None:
    make_schedule, make_scheduler = SCHEDULES[case]
    ours, theirs = run_both(
        lambda: cr.sgd(make_schedule(), momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
        lr_scheduler=make_scheduler,
    )
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6, atol=1e-9)


def test_inverse_scaling_and_constant_schedules() -> None:
    inv = optimizers.inverse_scaling(0.5, power_t=0.25)
    assert [inv(t) for t in range(3)] == [0.5, 0.5 / 2**0.25, 0.5 / 3**0.25]
    assert optimizers.constant(0.3)(10**6) == 0.3
    cos = optimizers.cosine_decay(1.0, 10)
    assert cos(0) == 1.0 and cos(5) == pytest.approx(0.5) and cos(10) == cos(50) == 0.0
    assert optimizers.per_epoch(optimizers.step_decay(1.0, 1, 0.5), 4)(9) == 0.25


def test_state_lives_outside_and_learning_rate_can_be_scaled() -> None:
    opt = cr.adam(0.1)
    params = {"w": np.zeros(2)}
    state = opt.init(params)
    assert optimizers.current_learning_rate(state) == 0.1
    state = optimizers.scale_learning_rate(state, 0.5)
    updates, state = opt.update({"w": np.ones(2)}, state, params)
    # Adam's first step is lr · sign(g) (m̂/√v̂ = 1 up to eps).
    np.testing.assert_allclose(updates["w"], -0.05, rtol=1e-6)
    assert optimizers.current_learning_rate(state) == 0.05
    fresh = opt.init(params)  # a new state: the optimizer kept nothing
    assert fresh[0].count == 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: cr.sgd(-1.0), "learning_rate must be a positive number"),
        (lambda: cr.sgd(0.1, momentum=-0.5), "momentum must be non-negative"),
        (lambda: cr.sgd(0.1, nesterov=True), "Nesterov momentum needs momentum > 0"),
        (lambda: optimizers.get("adagrad"), "Unknown optimizer 'adagrad'"),
    ],
)
def test_bad_hyperparameters_are_rejected(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_lecture_step_is_plain_gradient_descent() -> None:
    """sgd without momentum is the lecture's ``W -= learning_rate * grad``, exactly."""
    gen = np.random.default_rng(1)
    W = gen.standard_normal((2, 4))
    g = gen.standard_normal((2, 4))
    expected = W - 0.1 * g
    opt = cr.sgd(0.1)
    params = {"W": W}
    updates, _ = opt.update({"W": g.copy()}, opt.init(params), params)
    optimizers.apply_updates(params, updates)
    np.testing.assert_array_equal(params["W"], expected)
    assert math.isclose(optimizers.current_learning_rate(opt.init(params)), 0.1)
