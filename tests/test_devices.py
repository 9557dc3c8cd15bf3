"""``device=``: the torch path (on the CPU, so no GPU is needed) against the NumPy path.

Oracles: the NumPy engine's own numbers, which the rest of the suite checks against finite
differences, PyTorch autograd and scikit-learn (float64 to 1e-10, float32 to 1e-5); torch's
own conversion methods, wrapped to count every time a tensor's value reaches Python (host
synchronisations); the Bernoulli definition of a dropout mask; exit codes and files of real
``chainrule`` processes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule import devices
from chainrule.estimators import MLPClassifier, MLPRegressor
from chainrule.network import losses as losses_module
from chainrule.network.activations import ACTIVATIONS
from chainrule.network.losses import LOSSES
from chainrule.network.optimizers import OPTIMIZERS

torch = pytest.importorskip("torch")

TOL = {"float64": 1e-10, "float32": 1e-5}


def _data(n: int = 96, d: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, d))
    return X, (X[:, 0] - X[:, 1] + 0.3 * gen.standard_normal(n) > 0).astype(int)


def _targets(loss: cr.Loss, labels: np.ndarray) -> np.ndarray:
    if isinstance(loss, cr.CrossEntropy):
        return labels
    if isinstance(loss, cr.BinaryCrossEntropy):
        return np.stack([labels, 1 - labels], axis=1).astype(float)
    if isinstance(loss, cr.PoissonNLL):
        return np.stack([labels + 1.0, 2.0 - labels], axis=1)
    return np.stack([labels * 2.0 - 1.0, labels + 0.5], axis=1)


def _both(make_net, loss, optimizer, dtype: str = "float64", **fit) -> tuple:
    """Train the same network on NumPy and on ``torch:cpu``; return both trainers."""
    X, labels = _data()
    y = _targets(losses_module.get(loss), labels)
    out = []
    for device in (None, "torch:cpu"):
        metric = "accuracy" if isinstance(loss, cr.CrossEntropy) else "mse"
        trainer = cr.Trainer(make_net(), loss, optimizer, metrics=[metric], device=device)
        trainer.fit(
            X.astype(dtype), y, epochs=3, batch_size=16, shuffle=False, validation_split=0.25,
            rng=0, **fit,
        )  # fmt: skip
        out.append(trainer)
    return out


def _assert_agree(np_trainer: cr.Trainer, torch_trainer: cr.Trainer, tol: float) -> None:
    for key, values in np_trainer.history.history.items():
        np.testing.assert_allclose(torch_trainer.history.history[key], values, rtol=tol, atol=tol)
    for name, value in np_trainer.network.params.items():
        on_device = torch_trainer.network.params[name]
        assert isinstance(on_device, torch.Tensor)  # trained there, not on NumPy
        np.testing.assert_allclose(devices.to_host(on_device), value, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_trains_alike_on_torch(name: str, dtype: str) -> None:
    def net() -> cr.Sequential:
        gen = np.random.default_rng(1)
        return cr.Sequential(
            [cr.Dense(5, 6, rng=gen), ACTIVATIONS[name](), cr.Dense(6, 2, rng=gen)]
        )

    _assert_agree(*_both(net, "mse", cr.sgd(0.05), dtype), TOL[dtype])


@pytest.mark.parametrize(
    "extra",
    [
        cr.BatchNorm,
        cr.LayerNorm,
        lambda n: cr.Residual(cr.Sequential([cr.Dense(n, n, rng=3), cr.Tanh()])),
    ],
)
def test_normalization_and_residual_layers_train_alike_on_torch(extra) -> None:
    def net() -> cr.Sequential:
        gen = np.random.default_rng(1)
        return cr.Sequential(
            [cr.Dense(5, 6, rng=gen), cr.ReLU(), extra(6), cr.Dense(6, 2, rng=gen)]
        )

    _assert_agree(*_both(net, "mse", cr.adam(0.01)), TOL["float64"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "loss", sorted({cls.__name__: cls for cls in LOSSES.values()}.values(), key=str)
)
def test_every_loss_trains_alike_on_torch(loss: type, dtype: str) -> None:
    def net() -> cr.Sequential:
        gen = np.random.default_rng(1)
        return cr.Sequential([cr.Dense(5, 6, rng=gen), cr.Tanh(), cr.Dense(6, 2, rng=gen)])

    kwargs = {"from_logits": True} if loss is cr.BinaryCrossEntropy else {}
    if loss is cr.PoissonNLL:
        kwargs = {"log_input": True} if "log_input" in loss.__init__.__code__.co_varnames else {}
    _assert_agree(*_both(net, loss(**kwargs), cr.sgd(0.02), dtype), TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_trains_alike_on_torch(name: str, dtype: str) -> None:
    def net() -> cr.Sequential:
        gen = np.random.default_rng(1)
        return cr.Sequential([cr.Dense(5, 6, rng=gen), cr.Sigmoid(), cr.Dense(6, 2, rng=gen)])

    weights = np.random.default_rng(4).uniform(0.5, 2.0, 96)
    trainers = _both(net, "mse", OPTIMIZERS[name](), dtype, sample_weight=weights)
    _assert_agree(*trainers, TOL[dtype])


def test_lbfgs_runs_on_torch_weights() -> None:
    def net() -> cr.Sequential:
        gen = np.random.default_rng(1)
        return cr.Sequential([cr.Dense(5, 4, rng=gen), cr.Tanh(), cr.Dense(4, 2, rng=gen)])

    X, labels = _data()
    runs = []
    for device in (None, "torch:cpu"):
        trainer = cr.Trainer(net(), "cross_entropy", "lbfgs", device=device)
        runs.append(trainer.fit(X, labels, epochs=15).history["loss"])
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-8)


def test_dropout_masks_are_drawn_on_the_device_and_reproduce() -> None:
    x = torch.ones((400, 50), dtype=torch.float64)
    layer = cr.Dropout(0.3, rng=7)
    y = layer.forward(x, training=True)
    values = set(np.unique(devices.to_host(y)).round(12))
    assert values <= {0.0, round(1 / 0.7, 12)}  # m / (1 - p), m ∈ {0, 1}
    assert abs(float((y > 0).double().mean()) - 0.7) < 0.02  # Bernoulli(1 - p)
    g = torch.full_like(x, 2.0)
    np.testing.assert_array_equal(devices.to_host(layer.backward(g)), devices.to_host(2.0 * y))
    again = cr.Dropout(0.3, rng=7).forward(x, training=True)
    np.testing.assert_array_equal(devices.to_host(again), devices.to_host(y))  # same seed
    other = cr.Dropout(0.3, rng=8).forward(x, training=True)
    assert not torch.equal(other, y)


def test_a_dropout_network_trains_on_torch_reproducibly() -> None:
    X, labels = _data()
    losses = []
    for _ in range(2):
        net = cr.Sequential(
            [cr.Dense(5, 8, rng=1), cr.ReLU(), cr.Dropout(0.2, rng=2), cr.Dense(8, 2, rng=3)]
        )
        trainer = cr.Trainer(net, "cross_entropy", cr.adam(0.01), device="torch:cpu")
        losses.append(trainer.fit(X, labels, epochs=4, batch_size=16, rng=5).history["loss"])
    assert losses[0] == losses[1]


# -- host synchronisations ------------------------------------------------------------------------
SYNC_METHODS = (
    "item",
    "tolist",
    "numpy",
    "__float__",
    "__int__",
    "__bool__",
    "__index__",
    "__array__",
)


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call that brings a tensor's value into Python, by method name."""
    calls: list[str] = []
    for name in SYNC_METHODS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return calls


def _fit_counting(syncs: list[str], batch_size: int, epochs: int = 3) -> int:
    X, labels = _data(n=256)
    net = cr.Sequential(
        [cr.Dense(5, 8, rng=1), cr.ReLU(), cr.Dropout(0.1, rng=2), cr.Dense(8, 2, rng=3)]
    )
    trainer = cr.Trainer(
        net, "cross_entropy", cr.adam(0.01), metrics=["accuracy"], device="torch:cpu"
    )
    syncs.clear()
    trainer.fit(X, labels, epochs=epochs, batch_size=batch_size, validation_split=0.25, rng=0)
    return len(syncs)


def test_host_synchronisations_do_not_grow_with_the_number_of_batches(syncs: list[str]) -> None:
    few = _fit_counting(syncs, batch_size=96)  # 2 batches per epoch
    many = _fit_counting(syncs, batch_size=8)  # 24 batches per epoch
    assert 0 < few == many
    per_epoch = _fit_counting(syncs, batch_size=8, epochs=6) - many
    assert per_epoch <= 3 * 12  # a few per epoch (loss, metrics, validation, finite weights)


def test_estimator_synchronisations_do_not_grow_with_the_number_of_batches(syncs) -> None:
    X, labels = _data(n=256)
    counts = []
    for batch in (128, 8):
        clf = MLPClassifier((8,), batch_size=batch, max_iter=3, alpha=1e-3, random_state=0,
                            device="torch:cpu", early_stopping=True, n_iter_no_change=50)  # fmt: skip
        syncs.clear()
        with pytest.warns(Warning):
            clf.fit(X, labels)
        counts.append(len(syncs))
    assert counts[0] == counts[1]


# -- the estimators and the command line ----------------------------------------------------------
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_estimators_on_torch_match_numpy(solver: str) -> None:
    X, labels = _data()
    kwargs = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=8, shuffle=False, alpha=1e-3,
                  random_state=0, batch_size=16, n_iter_no_change=50)  # fmt: skip
    with pytest.warns(Warning):
        ref = MLPClassifier(**kwargs).fit(X, labels)
    with pytest.warns(Warning):
        dev = MLPClassifier(**kwargs, device="torch:cpu").fit(X, labels)
    for a, b in zip(ref.coefs_ + ref.intercepts_, dev.coefs_ + dev.intercepts_, strict=True):
        assert type(b) is np.ndarray  # weights come home for coefs_, files and ONNX
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dev.loss_curve_, ref.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(dev.predict_proba(X), ref.predict_proba(X), rtol=1e-10)


def test_regressor_with_early_stopping_and_partial_fit_on_torch_matches_numpy() -> None:
    X, labels = _data()
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0]) + labels
    kwargs = dict(hidden_layer_sizes=(6,), max_iter=6, shuffle=False, random_state=0,
                  early_stopping=True, n_iter_no_change=50)  # fmt: skip
    with pytest.warns(Warning):
        ref = MLPRegressor(**kwargs).fit(X.astype(np.float32), y)
    with pytest.warns(Warning):
        dev = MLPRegressor(**kwargs, device="torch:cpu").fit(X.astype(np.float32), y)
    np.testing.assert_allclose(dev.validation_scores_, ref.validation_scores_, rtol=1e-5, atol=1e-5)
    ref2 = MLPRegressor(hidden_layer_sizes=(6,), shuffle=False, random_state=0)
    dev2 = MLPRegressor(hidden_layer_sizes=(6,), shuffle=False, random_state=0, device="torch:cpu")
    for _ in range(3):
        ref2.partial_fit(X, y)
        dev2.partial_fit(X, y)
    np.testing.assert_allclose(dev2.predict(X), ref2.predict(X), rtol=1e-10)


class _Blowup(cr.Callback):
    """Scales the last layer by 1e200 as epoch 3 begins, so its first batch's loss is infinite."""

    def on_epoch_begin(self, trainer: cr.Trainer, epoch: int) -> None:
        if epoch == 3:
            trainer.network.params["dense2.W"] *= 1e200


def test_a_diverging_device_run_keeps_the_last_finite_epoch() -> None:
    X, labels = _data()
    y = np.stack([labels, 1.0 - labels], axis=1)

    def net() -> cr.Sequential:
        return cr.Sequential([cr.Dense(5, 6, rng=1), cr.ReLU(), cr.Dense(6, 2, rng=2)])

    dev = cr.Trainer(net(), "mse", cr.sgd(0.1), device="torch:cpu", callbacks=[_Blowup()])
    dev.fit(X, y, epochs=10, batch_size=16, shuffle=False)
    ref = cr.Trainer(net(), "mse", cr.sgd(0.1), callbacks=[_Blowup()])
    ref.fit(X, y, epochs=10, batch_size=16, shuffle=False)
    assert dev.stop_reason == ref.stop_reason == "non_finite"
    assert len(dev.history) == len(ref.history) == 3
    assert dev.history.history["loss"] == pytest.approx(ref.history.history["loss"], rel=1e-10)
    # On the device the bad batch is found at its epoch's end: the weights go back to those of
    # the last recorded epoch, which a NumPy run of exactly that many epochs reproduces.
    last = cr.Trainer(net(), "mse", cr.sgd(0.1))
    last.fit(X, y, epochs=3, batch_size=16, shuffle=False)
    for k, v in last.network.params.items():
        np.testing.assert_allclose(devices.to_host(dev.network.params[k]), v, rtol=1e-10)


def test_device_names_are_checked() -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        devices.get("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            devices.get("torch:cuda")
        assert devices.get("torch").name == "torch:cpu"
    with pytest.raises(ValueError, match="device"):
        MLPClassifier(device="gpu").fit(*_data())


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_cli_train_and_predict_on_torch_match_numpy(tmp_path: Path) -> None:
    X, labels = _data(n=120)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["label"] = np.where(labels == 1, "yes", "no")
    frame.to_csv(tmp_path / "t.csv", index=False)
    common = ["train", "t.csv", "--target", "label", "--hidden", "6", "--epochs", "5",
              "--batch-size", "full", "--quiet"]  # fmt: skip
    for device in ("cpu", "torch:cpu"):
        done = _cli(*common, "--device", device, "--out", f"{device}.safetensors", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        done = _cli("predict", f"{device}.safetensors", "t.csv", "--proba", "--device", device,
                    "--out", f"{device}.csv", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
    ref, dev = pd.read_csv(tmp_path / "cpu.csv"), pd.read_csv(tmp_path / "torch:cpu.csv")
    assert (ref["prediction"] == dev["prediction"]).all()
    # table models compute in float32: NumPy's and torch's sums differ in order, to its eps
    np.testing.assert_allclose(dev["proba_yes"], ref["proba_yes"], rtol=1e-5)
    if not torch.cuda.is_available():
        done = _cli(*common, "--device", "torch:cuda", "--out", "x.safetensors", cwd=tmp_path)
        assert done.returncode != 0 and "--device torch:cuda" in done.stderr
        assert not (tmp_path / "x.safetensors").exists()
