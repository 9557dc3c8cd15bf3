"""Every weights snapshot carries the network's buffers (BatchNorm's running statistics).

The oracle for a restored best epoch is an independent run stopped at that epoch: the same
seed, data and settings with ``max_iter`` / ``epochs`` cut to the best epoch. Its weights and
running statistics are what the restored network must hold.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import chainrule
from chainrule import MLPClassifier
from chainrule.network import layers as layers_module
from chainrule.network import normalization
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Layer
from chainrule.network.normalization import BatchNorm
from chainrule.network.optimizers import sgd
from chainrule.training.callbacks import EarlyStopping
from chainrule.training.checkpoint import ModelCheckpoint
from chainrule.training.trainer import Trainer

LAYERS_WITH_BUFFERS = {BatchNorm: lambda d: BatchNorm(d)}
"""Each layer class that keeps buffers, and how to build one of width ``d``."""


def _all_layer_classes() -> set[type]:
    found, todo = set(), [Layer]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("chainrule.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_layer_with_buffers_is_tested_here():
    assert layers_module and normalization  # imported: their classes are registered
    with_buffers = {
        cls
        for cls in _all_layer_classes()
        if "self.buffers" in inspect.getsource(cls)
        and "self.buffers: dict" in inspect.getsource(cls)
    }
    assert with_buffers == set(LAYERS_WITH_BUFFERS), with_buffers


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("layer", list(LAYERS_WITH_BUFFERS))
def test_early_stopping_restores_the_best_epochs_buffers(layer):
    """The issue's case: the restored best epoch predicts as a run stopped at that epoch."""
    assert layer is BatchNorm  # the estimator's normalization="batch"
    X, y = _digits()
    params = dict(
        hidden_layer_sizes=(64,),
        normalization="batch",
        early_stopping=True,
        n_iter_no_change=50,
        random_state=0,
    )
    restored = _fit_quietly(MLPClassifier(max_iter=30, **params), X, y)
    best = int(np.argmax(restored.validation_scores_)) + 1
    assert best < restored.n_iter_  # a later epoch was worse: the best one was restored
    stopped = _fit_quietly(MLPClassifier(max_iter=best, **params), X, y)
    np.testing.assert_allclose(restored.predict_proba(X), stopped.predict_proba(X), atol=1e-12)
    for name, value in stopped.network_.buffers.items():
        np.testing.assert_allclose(restored.network_.buffers[name], value, atol=1e-12)


def _network(layer_cls, seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        [
            Dense(64, 16, rng=rng),
            LAYERS_WITH_BUFFERS[layer_cls](16),
            chainrule.ReLU(),
            Dense(16, 10, rng=rng),
        ]
    )


def _train(layer_cls, epochs, callbacks=()):
    X, y = _digits()
    trainer = Trainer(_network(layer_cls), "cross_entropy", sgd(0.5))
    trainer.fit(
        X[:400],
        y[:400],
        epochs=epochs,
        batch_size=50,
        rng=0,
        validation_data=(X[1000:1100], y[1000:1100]),
        callbacks=list(callbacks),
        verbose=0,
    )
    return trainer


@pytest.mark.parametrize("layer", list(LAYERS_WITH_BUFFERS))
def test_restore_best_weights_and_checkpoints_carry_buffers(layer, tmp_path: Path):
    path = tmp_path / "best.safetensors"
    trainer = _train(
        layer,
        12,
        [
            EarlyStopping("val_loss", patience=100, restore_best_weights=True),
            ModelCheckpoint(path, save_best=True),
        ],
    )
    best = int(np.argmin(trainer.history.history["val_loss"])) + 1
    assert best < 12, "the run's last epoch is its best: pick settings that overshoot"
    stopped = _train(layer, best)
    X, _ = _digits()
    for name, value in stopped.network.buffers.items():
        np.testing.assert_allclose(trainer.network.buffers[name], value, atol=1e-12)
    np.testing.assert_allclose(trainer.network.predict(X), stopped.network.predict(X), atol=1e-10)
    saved = chainrule.load(path)
    for name, value in stopped.network.buffers.items():
        np.testing.assert_allclose(saved.network.buffers[name], value, atol=1e-12)


@pytest.mark.parametrize("layer", list(LAYERS_WITH_BUFFERS))
def test_the_finite_weights_guard_puts_back_the_buffers_too(layer):
    trainer = _train(layer, 2)
    snapshot = trainer.snapshot()
    assert set(trainer.network.buffers) <= set(snapshot)
    kept = {k: np.array(v) for k, v in trainer.network.buffers.items()}
    for value in trainer.network.buffers.values():
        value[...] = np.nan
    trainer.restore(snapshot)
    for name, value in kept.items():
        np.testing.assert_array_equal(trainer.network.buffers[name], value)
