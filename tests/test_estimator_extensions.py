"""The estimators' parameters beyond scikit-learn's, against a PyTorch training loop.

Oracle: the same network (the estimator's own initial weights, caught before the first step)
trained in torch with ``nn.BatchNorm1d`` / ``nn.LayerNorm``, an L1 term on the weights in the
loss, ``clip_grad_norm_``, ``LinearLR`` warm-up and ``CrossEntropyLoss(label_smoothing=...)``:
every weight agrees after several epochs of mini-batches. That the defaults leave every
trajectory unchanged is held by the existing tests against scikit-learn's own MLP.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.onnx_export import build_onnx


class _Initial(cr.Callback):
    """Copies the network's weights before the first update."""

    def on_train_begin(self, trainer: cr.Trainer) -> None:
        self.params = {k: np.array(v) for k, v in trainer.network.params.items()}


def _torch_run(init, normalization, X, y, *, lr, epochs, batch, l1, clip, warm, smooth):
    """The estimator's recipe written as a PyTorch loop."""
    names = sorted(k for k in init if k.endswith(".W"))  # dense1.W, dense2.W, dense3.W
    layers: list[torch.nn.Module] = []
    for i, name in enumerate(names):
        w = init[name]
        lin = torch.nn.Linear(*w.shape).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w.T))
            lin.bias.copy_(torch.tensor(init[name[:-1] + "b"]))
        layers.append(lin)
        if i < len(names) - 1:
            norm = torch.nn.BatchNorm1d if normalization == "batch" else torch.nn.LayerNorm
            layers += [norm(w.shape[1]).double(), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    steps = int(np.ceil(len(X) / batch))
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 3, total_iters=warm * steps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=smooth)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            xb = torch.tensor(X[start : start + batch])
            yb = torch.tensor(y[start : start + batch])
            loss = loss_fn(model(xb), yb) + l1 * sum(w.abs().sum() for w in weights)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
    return [w.detach().numpy().T for w in weights]


@pytest.mark.parametrize("normalization", ["batch", "layer"])
def test_extensions_train_as_the_pytorch_loop(normalization: str) -> None:
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    settings = {"lr": 0.05, "epochs": 6, "batch": 32, "l1": 1e-3, "clip": 0.5, "warm": 2}
    initial = _Initial()
    clf = MLPClassifier(
        (8, 6),
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=settings["lr"],
        batch_size=settings["batch"],
        max_iter=settings["epochs"],
        shuffle=False,
        random_state=0,
        normalization=normalization,
        l1=settings["l1"],
        clip_grad_norm=settings["clip"],
        warmup_epochs=settings["warm"],
        label_smoothing=0.2,
        callbacks=[initial],
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    norm_type = cr.BatchNorm if normalization == "batch" else cr.LayerNorm
    assert sum(isinstance(layer, norm_type) for layer in clf.network_) == 2
    expected = _torch_run(initial.params, normalization, X, y, smooth=0.2, **settings)
    assert len(clf.coefs_) == len(expected) == 3
    for ours, theirs in zip(clf.coefs_, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    # the warm-up ramp, read from the history's per-epoch rate: η₀(1/3 + 2/3·t/T) at t = 0, 5
    assert clf.history_["lr"][-1] == pytest.approx(settings["lr"])


def test_binary_label_smoothing_matches_torch_bce() -> None:
    X, y = make_moons(40, noise=0.2, random_state=0)
    clf = MLPClassifier((5,), solver="sgd", max_iter=1, label_smoothing=0.3, random_state=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    raw = clf.network_.predict(X)[:, 0]
    ours = clf._data_loss(1)(raw[:, None], y[:, None].astype(float))[0]
    target = torch.tensor(y * 0.7 + 0.15)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(raw), target)
    assert ours == pytest.approx(float(theirs), abs=1e-12)


def test_lbfgs_refuses_step_only_extensions() -> None:
    X, y = make_moons(30, random_state=0)
    with pytest.raises(ValueError, match="l1, warmup_epochs act on the steps"):
        MLPClassifier(solver="lbfgs", l1=0.1, warmup_epochs=2).fit(X, y)


def test_batchnorm_refuses_a_one_row_last_batch() -> None:
    X, y = make_moons(33, random_state=0)
    with pytest.raises(ValueError, match="last batch of 1"):
        MLPRegressor(normalization="batch", batch_size=16).fit(X, y)


def test_extended_estimator_saves_loads_and_exports(tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    X, y = make_moons(200, noise=0.2, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        normalization="batch",
        l1=1e-4,
        clip_grad_norm=1.0,
        warmup_epochs=3,
        max_iter=20,
    )
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    cr.save(reg, tmp_path / "reg.safetensors")
    back = cr.load(tmp_path / "reg.safetensors")
    assert back.get_params()["normalization"] == "batch"
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    session = ort.InferenceSession(build_onnx(reg).SerializeToString())
    (got,) = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(got.ravel(), reg.predict(X), atol=1e-5)
