"""Label smoothing, L1, gradient clipping, max-norm and warm-up against torch (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.network import optimizers
from chainrule.network.gradcheck import check_loss
from chainrule.network.regularization import regularize

# -- label smoothing ---------------------------------------------------------------------------


@pytest.mark.parametrize("targets", ["indices", "probabilities", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_crossentropy_label_smoothing_matches_torch(targets: str, reduction: str) -> None:
    gen = np.random.default_rng(0)
    z = gen.standard_normal((11, 5)) * 3
    classes = gen.integers(0, 5, 11)
    w = gen.uniform(0.2, 2.0, 11) if targets == "weighted" else None
    t = np.eye(5)[classes] if targets == "probabilities" else classes
    if targets == "probabilities":
        t = 0.7 * t + 0.3 * gen.dirichlet(np.ones(5), 11)  # soft targets
    loss = cr.CrossEntropy(reduction=reduction, label_smoothing=0.15)
    value, grad = loss(z.copy(), t, w)

    zt = torch.tensor(z, requires_grad=True)
    per = torch.nn.functional.cross_entropy(
        zt, torch.tensor(t), reduction="none", label_smoothing=0.15
    )
    wt = torch.ones(11, dtype=torch.float64) if w is None else torch.tensor(w)
    ref = (per * wt).sum() / (wt.sum() if reduction == "mean" else 1)
    ref.backward()
    assert abs(value - ref.item()) < 1e-12 * max(1.0, abs(ref.item()))
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert check_loss(loss, z, t, w).passed(1e-7)


@pytest.mark.parametrize("from_logits", [True, False])
def test_bce_label_smoothing_is_bce_on_smoothed_targets(from_logits: bool) -> None:
    gen = np.random.default_rng(1)
    z = gen.standard_normal((9, 3)) * 2
    pred = z if from_logits else 1 / (1 + np.exp(-z))
    y = gen.integers(0, 2, (9, 3)).astype(float)
    eps = 0.2
    loss = cr.BinaryCrossEntropy(from_logits=from_logits, label_smoothing=eps)
    value, grad = loss(pred.copy(), y)

    pt = torch.tensor(pred, requires_grad=True)
    smoothed = torch.tensor(y * (1 - eps) + eps / 2)  # Keras' BinaryCrossentropy(label_smoothing)
    f = torch.nn.functional
    fn = f.binary_cross_entropy_with_logits if from_logits else f.binary_cross_entropy
    ref = fn(pt, smoothed)
    ref.backward()
    assert abs(value - ref.item()) < 1e-12
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert check_loss(loss, pred, y).passed(1e-7)


def test_label_smoothing_survives_the_config_round_trip() -> None:
    from chainrule.network.losses import from_config

    for loss in (cr.CrossEntropy(label_smoothing=0.1), cr.BinaryCrossEntropy(label_smoothing=0.1)):
        assert from_config(type(loss).__name__, loss.config()).label_smoothing == 0.1


# -- transforms against torch's training loop ----------------------------------------------------

SETTINGS = {
    "l1": {"l1": 0.05},
    "clip-norm": {"clip_grad_norm": 2.5},
    "clip-value": {"clip_value": 0.7},
    "max-norm": {"max_weight_norm": 1.2},
    "all": {"l1": 0.02, "clip_grad_norm": 3.0, "max_weight_norm": 1.5},
}


def _torch_step(
    theirs, topt, grads, l1=0.0, clip_grad_norm=None, clip_value=None, max_weight_norm=None
):
    """PyTorch's loop: L1 in the loss, backward, clip, step, renorm."""
    topt.zero_grad()
    loss = sum((p * torch.tensor(grads[k])).sum() for k, p in theirs.items())  # ∂/∂p = grads[k]
    if l1:
        loss = loss + l1 * sum(p.abs().sum() for p in theirs.values())
    loss.backward()
    if clip_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(list(theirs.values()), clip_grad_norm)
    if clip_value is not None:
        torch.nn.utils.clip_grad_value_(list(theirs.values()), clip_value)
    topt.step()
    if max_weight_norm is not None:
        with torch.no_grad():
            theirs["W"].copy_(torch.renorm(theirs["W"], 2, 1, max_weight_norm))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_transforms_match_torch_over_steps(setting: str, optimizer: str) -> None:
    kw = SETTINGS[setting]
    gen = np.random.default_rng(2)
    start = {"W": gen.standard_normal((3, 4)), "b": gen.standard_normal(4)}
    ours = {k: v.copy() for k, v in start.items()}
    theirs = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    if optimizer == "sgd":
        opt = regularize(cr.sgd(0.1, momentum=0.9, weight_decay=0.01), **kw)
        topt = torch.optim.SGD(theirs.values(), lr=0.1, momentum=0.9, weight_decay=0.01)
    else:
        opt = regularize(cr.adam(0.05), **kw)
        topt = torch.optim.Adam(theirs.values(), lr=0.05)
    state = opt.init(ours)
    clipped = 0
    for _ in range(60):
        scale = gen.choice([0.1, 1.0, 5.0])  # some steps clip, some do not
        grads = {k: gen.standard_normal(v.shape) * scale for k, v in start.items()}
        clipped += np.sqrt(sum((g**2).sum() for g in grads.values())) > kw.get(
            "clip_grad_norm", 1e9
        )
        updates, state = opt.update({k: g.copy() for k, g in grads.items()}, state, ours)
        cr.apply_updates(ours, updates)
        _torch_step(theirs, topt, grads, **kw)
        for k, v in ours.items():
            np.testing.assert_allclose(v, theirs[k].detach().numpy(), rtol=1e-10, atol=1e-12)
    if "clip_grad_norm" in kw:
        assert 5 < clipped < 55
    if "max_weight_norm" in kw:
        assert np.linalg.norm(ours["W"], axis=0).max() <= kw["max_weight_norm"] * (1 + 1e-12)


def test_transforms_keep_float32_and_train() -> None:
    from sklearn.datasets import make_moons

    X, y = make_moons(200, noise=0.2, random_state=0)
    gen = np.random.default_rng(0)
    net = cr.Sequential([cr.Dense(2, 16, rng=gen), cr.ReLU(), cr.Dense(16, 2, rng=gen)])
    opt = regularize(
        cr.adam(0.02), l1=1e-4, clip_grad_norm=1.0, clip_value=0.5, max_weight_norm=3.0
    )
    trainer = cr.Trainer(net, cr.CrossEntropy(label_smoothing=0.1), opt, metrics=["accuracy"])
    history = trainer.fit(X.astype(np.float32), y, epochs=30, batch_size=32, rng=0)
    assert {v.dtype for v in net.params.values()} == {np.dtype(np.float32)}
    assert history["accuracy"][-1] > 0.85
    assert np.linalg.norm(net.params["dense1.W"], axis=0).max() <= 3.0 * (1 + 1e-6)


# -- warm-up ------------------------------------------------------------------------------------

MAIN = {
    "cosine": (
        lambda: optimizers.cosine_decay(0.1, 100, 0.001),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.001),
    ),
    "step": (
        lambda: optimizers.step_decay(0.1, 30, 0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.5),
    ),
    "constant": (lambda: 0.1, lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0)),
}


@pytest.mark.parametrize("start_factor", [1 / 3, 0.01])
@pytest.mark.parametrize("main", list(MAIN))
def test_linear_warmup_matches_linearlr_and_sequentiallr(main: str, start_factor: float) -> None:
    ours_main, torch_main = MAIN[main]
    warm = optimizers.linear_warmup(ours_main(), 25, start_factor=start_factor)
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.1)
    ramp = torch.optim.lr_scheduler.LinearLR(topt, start_factor=start_factor, total_iters=25)
    sched = torch.optim.lr_scheduler.SequentialLR(topt, [ramp, torch_main(topt)], milestones=[25])
    ours_opt = cr.sgd(warm)
    state = ours_opt.init({"p": np.zeros(2)})
    w = {"p": np.zeros(2)}
    for t in range(120):  # cosine's 100 steps after warm-up; torch's then restarts
        expected = topt.param_groups[0]["lr"]
        assert abs(warm(t) - expected) < 1e-12 * expected, t
        g = np.array([1.0, -2.0]) * (t + 1)
        updates, state = ours_opt.update({"p": g.copy()}, state, w)
        cr.apply_updates(w, updates)
        p.grad = torch.tensor(g)
        topt.step()
        sched.step()
    np.testing.assert_allclose(w["p"], p.detach().numpy(), rtol=1e-12)
