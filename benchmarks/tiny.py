"""The lecture's setting: 500×2 inputs, a 2-4-1 sigmoid network, full batch, 1000 epochs.

The cost here is almost all Python overhead per epoch (the arrays are tiny), which is what the
lecture's hand-written loop keeps to a minimum and what a library adds. Every contender trains
the same network shape from the same data in float64, as the lecture does.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from .timing import Row, Setup, interleaved, ratio_rows

LECTURE_LIMIT = 1.30
"""chainrule at most 1.3× the lecture's loop…"""
SKLEARN_LIMIT = 1 / 2
"""…at least 2× faster than scikit-learn's MLP…"""
TORCH_LIMIT = 1 / 3
"""…and at least 3× faster than PyTorch."""
ESTIMATOR_LIMIT = 1.20
"""chainrule's MLPClassifier in the same setting at most 1.2× the lecture's loop."""


def lecture_data() -> tuple[np.ndarray, np.ndarray, np.random.RandomState]:
    """The lecture's data from its seed, and the generator positioned for its weights."""
    rng = np.random.RandomState(42)
    X = rng.randn(500, 2)
    y = (X[:, 0] + X[:, 1]) > 0
    return X, y, rng


def lecture_loop(epochs: int) -> Setup:
    """The lecture's training cell, verbatim apart from its prints."""

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
        return z * (1 - z)

    def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return np.mean((y_true - y_pred) ** 2)

    def mse_derivative(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return y_pred - y_true

    def setup() -> Any:
        data, labels, rng = lecture_data()
        W1, b1 = rng.randn(2, 4), np.zeros(4)
        W2, b2 = rng.randn(4, 1), np.zeros(1)
        learning_rate = 0.1

        def run() -> None:
            nonlocal W1, b1, W2, b2
            for _epoch in range(epochs):
                hidden = sigmoid(np.dot(data, W1) + b1)
                output = sigmoid(np.dot(hidden, W2) + b2)
                loss = mse(labels.reshape(-1, 1), output)  # noqa: F841 (the lecture prints it)
                d_output = mse_derivative(labels.reshape(-1, 1), output) * sigmoid_derivative(
                    output
                )
                d_hidden = np.dot(d_output, W2.T) * sigmoid_derivative(hidden)
                W2 -= learning_rate * np.dot(hidden.T, d_output)
                b2 -= learning_rate * np.sum(d_output, axis=0)
                W1 -= learning_rate * np.dot(data.T, d_hidden)
                b1 -= learning_rate * np.sum(d_hidden, axis=0)

        return run

    return setup


def chainrule_network(epochs: int) -> Setup:
    """The lecture in chainrule's network API (as ``chainrule demo`` runs it, without prints)."""
    import chainrule as cr

    def setup() -> Any:
        X, y, rng = lecture_data()
        net = cr.Sequential(
            [
                cr.Dense(2, 4, weight_init="normal", rng=rng),
                cr.Sigmoid(),
                cr.Dense(4, 1, weight_init="normal", rng=rng),
                cr.Sigmoid(),
            ]
        )
        trainer = cr.Trainer(net, cr.MSE(reduction="sum"), cr.sgd(0.05))
        return lambda: trainer.fit(X, y, epochs=epochs)

    return setup


def mlp_classifier_kwargs(epochs: int) -> dict[str, Any]:
    """scikit-learn's MLP in the lecture's setting: full-batch plain SGD for every epoch."""
    return {
        "hidden_layer_sizes": (4,),
        "activation": "logistic",
        "solver": "sgd",
        "learning_rate_init": 0.1,
        "batch_size": 500,
        "max_iter": epochs,
        "tol": 0.0,
        "n_iter_no_change": epochs + 1,
        "momentum": 0.0,
        "alpha": 0.0,
        "shuffle": False,
        "random_state": 0,
    }


def estimator(cls: type, epochs: int) -> Setup:
    """Fit an MLPClassifier-like estimator in the lecture's setting, silencing max_iter warnings."""

    def setup() -> Any:
        X, y, _ = lecture_data()
        model = cls(**mlp_classifier_kwargs(epochs))

        def run() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point
                model.fit(X, y)

        return run

    return setup


def pytorch(epochs: int) -> Setup:
    """A plain PyTorch loop: autograd, ``torch.optim.SGD`` and the summed squared error."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)

    def setup() -> Any:
        X, y, rng = lecture_data()
        Xt = torch.from_numpy(X)
        yt = torch.from_numpy(y.astype(np.float64).reshape(-1, 1))
        model = torch.nn.Sequential(
            torch.nn.Linear(2, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1), torch.nn.Sigmoid()
        ).double()
        with torch.no_grad():  # the lecture's initial weights
            model[0].weight.copy_(torch.from_numpy(rng.randn(2, 4).T))
            model[0].bias.zero_()
            model[2].weight.copy_(torch.from_numpy(rng.randn(4, 1).T))
            model[2].bias.zero_()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

        def run() -> None:
            for _epoch in range(epochs):
                optimizer.zero_grad()
                loss = ((model(Xt) - yt) ** 2).sum()
                loss.backward()
                optimizer.step()

        return run

    return setup


def run(quick: bool = False) -> list[Row]:
    """Time every contender interleaved and return the table rows."""
    from sklearn.neural_network import MLPClassifier

    epochs, repeats = (50, 1) if quick else (1000, 7)
    contenders: dict[str, Setup] = {"chainrule Trainer": chainrule_network(epochs)}
    notes = {}
    try:
        from chainrule import MLPClassifier as ChainruleMLP

        contenders["chainrule MLPClassifier"] = estimator(ChainruleMLP, epochs)
    except ImportError:
        notes["chainrule MLPClassifier"] = "not importable; skipped"
    contenders["lecture loop (NumPy)"] = lecture_loop(epochs)
    contenders["scikit-learn MLPClassifier"] = estimator(MLPClassifier, epochs)
    contenders["PyTorch"] = pytorch(epochs)
    medians = interleaved(contenders, repeats)
    limits = {
        "lecture loop (NumPy)": LECTURE_LIMIT,
        "scikit-learn MLPClassifier": SKLEARN_LIMIT,
        "PyTorch": TORCH_LIMIT,
    }
    rows = ratio_rows("tiny", medians, "chainrule Trainer", limits)
    if "chainrule MLPClassifier" in medians:
        # The estimator against the same baselines, as a second set of ratios.
        # Issue 15: the estimator at most 1.2× the lecture's loop, at least 2× faster than
        # scikit-learn's.
        est = medians["chainrule MLPClassifier"]
        for name, limit in {**limits, "lecture loop (NumPy)": ESTIMATOR_LIMIT}.items():
            rows.append(Row("tiny", f"  estimator vs {name}", None, est / medians[name], limit))
    for name, note in notes.items():
        rows.append(Row("tiny", name, None, note=note))
    return rows
