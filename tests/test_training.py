"""The training loop: batches, determinism, validation, callbacks, stopping and interrupts."""

from __future__ import annotations

import io
import itertools
import math
import signal

import numpy as np
import pytest
from sklearn.datasets import make_moons

import chainrule as cr


def moons(n: int = 300, seed: int = 0):
    X, y = make_moons(n, noise=0.2, random_state=seed)
    return X, y


def small_net(seed: int, dropout: float = 0.0) -> cr.Sequential:
    gen = np.random.default_rng(seed)
    layers = [cr.Dense(2, 16, rng=gen), cr.Tanh()]
    if dropout:
        layers.append(cr.Dropout(dropout, rng=gen))
    return cr.Sequential([*layers, cr.Dense(16, 2, rng=gen)])


def train(seed: int, **kwargs) -> tuple[cr.Sequential, cr.History]:
    X, y = moons()
    net = small_net(seed, dropout=0.2)
    history = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01), metrics=["accuracy"]).fit(
        X, y, epochs=15, batch_size=32, rng=seed, validation_split=0.2, **kwargs
    )
    return net, history


def test_same_seed_gives_bit_identical_weights() -> None:
    a, ha = train(3)
    b, hb = train(3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert ha.history == hb.history
    c, _ = train(4)
    assert not np.array_equal(a.params["dense1.W"], c.params["dense1.W"])


def test_minibatch_training_learns_and_records_history() -> None:
    _net, history = train(0)
    assert len(history) == 15 and history.epoch == list(range(15))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(history.history)
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.8
    assert history.best_epoch is not None


def test_full_batch_sum_is_one_gradient_step_per_epoch() -> None:
    """batch_size=None is one update per epoch: count the optimizer's steps."""
    X, y = moons(50)
    trainer = cr.Trainer(small_net(0), cr.CrossEntropy(), cr.sgd(0.1))
    trainer.fit(X, y, epochs=7)
    assert trainer.opt_state[-1].count == 7
    trainer.fit(X, y, epochs=3, batch_size=20)  # 3 batches of 20, 20, 10 per epoch
    assert trainer.opt_state[-1].count == 7 + 9
    assert trainer.history.epoch == list(range(10))  # epochs continue across fit calls


def test_shuffled_batches_cover_every_row_once_per_epoch() -> None:
    X = np.arange(23, dtype=float).reshape(-1, 1)
    seen: list[float] = []

    class Spy(cr.Callback):
        def on_gradients(self, trainer, grads):
            seen.extend(trainer.network.layers[0]._x[:, 0].tolist())

    net = cr.Sequential([cr.Dense(1, 1, rng=0)])
    cr.Trainer(net, "mse", cr.sgd(1e-6), callbacks=[Spy()]).fit(X, X, epochs=2, batch_size=5, rng=0)
    assert sorted(seen[:23]) == sorted(seen[23:]) == list(range(23))
    assert seen[:23] != list(range(23)) and seen[:23] != seen[23:]  # shuffled, differently


def test_early_stopping_restores_the_best_weights() -> None:
    X, y = moons(200)
    Xv, yv = moons(200, seed=1)
    snapshots: dict[int, dict[str, np.ndarray]] = {}

    class Keep(cr.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            snapshots[epoch] = {k: v.copy() for k, v in trainer.network.params.items()}

    net = small_net(0)
    stop = cr.EarlyStopping(patience=3)
    history = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.3), callbacks=[Keep(), stop]).fit(
        X, y, epochs=200, batch_size=16, rng=0, validation_data=(Xv, yv)
    )
    assert history.stop_reason == "early_stopping" and len(history) < 200
    best = int(np.argmin(history["val_loss"]))
    assert stop.best_epoch == best and len(history) == best + 1 + 3
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, snapshots[best][k])


def test_non_finite_loss_stops_and_keeps_the_last_finite_weights() -> None:
    X = np.random.default_rng(0).standard_normal((64, 2))
    y = X @ np.array([[3.0], [-2.0]])
    net = cr.Sequential([cr.Dense(2, 8, rng=0), cr.ReLU(), cr.Dense(8, 1, rng=1)])
    kept: list[dict[str, np.ndarray]] = [{k: v.copy() for k, v in net.params.items()}]

    class Keep(cr.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            kept.append({k: v.copy() for k, v in trainer.network.params.items()})

    history = cr.Trainer(net, cr.MSE(), cr.sgd(5.0), callbacks=[Keep()]).fit(
        X, y, epochs=500, batch_size=16, rng=0
    )
    assert history.stop_reason == "non_finite"
    assert all(np.all(np.isfinite(v)) for v in net.params.values())
    assert all(math.isfinite(v) for v in history.history.get("loss", []))
    # the diverging epoch is dropped whole, as on a device: the weights at the end of the last
    # recorded epoch (the start's when none was), never an update from the diverging one
    last_good = kept[len(history)]
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, last_good[k])


def test_ctrl_c_stops_at_the_end_of_the_batch_and_keeps_the_best_weights() -> None:
    X, y = moons(200)
    best_weights: dict[str, np.ndarray] = {}

    class PressCtrlC(cr.Callback):
        def __init__(self) -> None:
            self.batches = 0

        def on_epoch_end(self, trainer, epoch, logs):
            if trainer.history.best_epoch == epoch:
                best_weights.update({k: v.copy() for k, v in trainer.network.params.items()})

        def on_batch_end(self, trainer, batch, logs):
            self.batches += 1
            if self.batches == 23:  # in the middle of the third epoch
                signal.raise_signal(signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    press = PressCtrlC()
    net = small_net(0)
    history = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.05), callbacks=[press]).fit(
        X, y, epochs=50, batch_size=20, rng=0
    )
    assert history.stop_reason == "interrupted"
    assert press.batches == 23  # stopped right after the batch that saw the signal
    assert len(history) == 2  # the unfinished third epoch is not recorded
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, best_weights[k])
    assert signal.getsignal(signal.SIGINT) is previous  # the user's handler is back


def test_reduce_on_plateau_lowers_the_rate() -> None:
    X, y = moons(100)
    plateau = cr.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    history = cr.Trainer(small_net(0), cr.CrossEntropy(), cr.sgd(0.1), callbacks=[plateau]).fit(
        X, y, epochs=6
    )
    lrs = history["lr"]
    assert lrs[0] == 0.1 and lrs[-1] < 0.1
    assert all(b <= a for a, b in itertools.pairwise(lrs))


def test_print_every_formats_the_logs() -> None:
    X, y = moons(60)
    out = io.StringIO()
    cr.Trainer(small_net(0), cr.CrossEntropy(), cr.sgd(0.1), metrics=["accuracy"]).fit(
        X, y, epochs=5, callbacks=[cr.PrintEvery(2, "{epoch}: {loss:.3f} {accuracy:.2f}", out)]
    )
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == ["0", "2", "4"]


def test_predict_and_evaluate_use_the_link() -> None:
    X, y = moons(100)
    trainer = cr.Trainer(small_net(0), cr.CrossEntropy(), cr.adam(0.05), metrics=["accuracy"])
    trainer.fit(X, y, epochs=30)
    proba = trainer.predict(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    result = trainer.evaluate(X, y)
    assert result["accuracy"] == pytest.approx(np.mean(proba.argmax(1) == y))


def test_bad_arguments_are_clear_errors() -> None:
    X, y = moons(20)
    trainer = cr.Trainer(small_net(0), cr.CrossEntropy(), cr.sgd(0.1))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        trainer.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19"):
        trainer.fit(X, y[:-1])
    with pytest.raises(ValueError, match="validation_split must be in"):
        trainer.fit(X, y, validation_split=1.5)
