"""Mini-batch training of a ReLU MLP on MNIST-shaped float32 data: ``medium`` and ``wide``.

Contenders, all float32, all shuffling every epoch and training one epoch of plain SGD with
softmax cross-entropy:

* **matrix products only** — the floor: per batch, the forward products :math:`x W_l` and the
  backward products :math:`a_{l-1}^\\top \\delta_l` and :math:`\\delta_l W_l^\\top` (the
  first layer's input gradient is never needed), on contiguous batches into preallocated
  outputs; for one hidden layer that is two forward and three backward products;
* **NumPy loop** — the same training written by hand in NumPy, as one would in a notebook;
* **chainrule Trainer**, **scikit-learn MLPClassifier**, **PyTorch** (``torch.optim.SGD``).
"""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Any

import numpy as np

from .timing import Row, Setup, interleaved, ratio_rows

FLOOR_LIMIT = 1.15
"""chainrule's epoch at most 1.15× the matrix products alone."""
ESTIMATOR_FLOOR_LIMIT = 1.20
"""chainrule's MLPClassifier (issue 15) at most 1.2× the matrix products alone."""
PEER_LIMIT = 1.0
"""…and faster than scikit-learn and PyTorch."""
LEARNING_RATE = 0.01


def mnist_shaped(
    n: int, d: int = 784, classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 rows of ``d`` standard normals, labelled by a random linear teacher.

    Drawn in float32 directly, so no float64 copy of the data ever exists.
    """
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, d), dtype=np.float32)
    teacher = gen.standard_normal((d, classes), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    for start in range(0, n, 8192):  # argmax in chunks: no (n, classes) temporary for big n
        y[start : start + 8192] = np.argmax(X[start : start + 8192] @ teacher, axis=1)
    return X, y


def initial_weights(widths: list[int], seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-uniform float32 weights and zero biases, shared by the NumPy contenders."""
    gen = np.random.default_rng(seed)
    layers = []
    for d_in, d_out in itertools.pairwise(widths):
        limit = np.sqrt(6.0 / d_in)
        W = gen.uniform(-limit, limit, (d_in, d_out)).astype(np.float32)
        layers.append((W, np.zeros(d_out, dtype=np.float32)))
    return layers


def floor(X: np.ndarray, widths: list[int], batch: int) -> Setup:
    """The matrix products alone, into reused buffers, over contiguous batches."""

    def setup() -> Any:
        weights = [W for W, _ in initial_weights(widths)]
        gen = np.random.default_rng(2)
        acts = [np.empty((batch, w), np.float32) for w in widths]
        deltas = [gen.standard_normal((batch, w), dtype=np.float32) for w in widths]
        grads = [np.empty_like(W) for W in weights]
        n = X.shape[0] - X.shape[0] % batch

        def run() -> None:
            for start in range(0, n, batch):
                acts[0] = X[start : start + batch]
                for i, W in enumerate(weights):  # forward: a_{l} = a_{l-1} W_l
                    np.matmul(acts[i], W, out=acts[i + 1])
                for i in range(len(weights) - 1, -1, -1):  # backward
                    np.matmul(acts[i].T, deltas[i + 1], out=grads[i])  # a_{l-1}ᵀ δ_l
                    if i > 0:
                        np.matmul(deltas[i + 1], weights[i].T, out=deltas[i])  # δ_l W_lᵀ

        return run

    return setup


def numpy_loop(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """Mini-batch SGD written directly in NumPy: ReLU hidden layers, softmax cross-entropy."""

    def setup() -> Any:
        layers = initial_weights(widths)
        gen = np.random.default_rng(3)

        def run() -> None:
            order = gen.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch):
                idx = order[start : start + batch]
                xb, yb = X[idx], y[idx]
                acts = [xb]
                for i, (W, b) in enumerate(layers):
                    z = acts[-1] @ W + b
                    acts.append(np.maximum(z, 0) if i < len(layers) - 1 else z)
                logits = acts[-1]
                p = np.exp(logits - logits.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(len(yb)), yb] -= 1
                delta = p / len(yb)
                for i in range(len(layers) - 1, -1, -1):
                    W, b = layers[i]
                    gW, gb = acts[i].T @ delta, delta.sum(axis=0)
                    if i > 0:
                        delta = (delta @ W.T) * (acts[i] > 0)
                    W -= LEARNING_RATE * gW
                    b -= LEARNING_RATE * gb

        return run

    return setup


def chainrule_trainer(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """chainrule's Trainer with the same network, float32 throughout."""
    import chainrule as cr

    def setup() -> Any:
        layers: list[Any] = []
        for i, (W, b) in enumerate(initial_weights(widths)):
            dense = cr.Dense(W.shape[0], W.shape[1], weight_init="zeros", dtype="float32")
            dense.params["W"][...], dense.params["b"][...] = W, b
            layers += [dense] if i == len(widths) - 2 else [dense, cr.ReLU()]
        trainer = cr.Trainer(cr.Sequential(layers), cr.CrossEntropy(), cr.sgd(LEARNING_RATE))
        return lambda: trainer.fit(X, y, epochs=1, batch_size=batch, shuffle=True, rng=4)

    return setup


def _one_sgd_epoch(cls: type, X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """Fit ``cls`` (an MLPClassifier) for one epoch of plain shuffled SGD, float32 input kept."""

    def setup() -> Any:
        model = cls(
            hidden_layer_sizes=tuple(widths[1:-1]),
            solver="sgd",
            batch_size=batch,
            learning_rate_init=LEARNING_RATE,
            momentum=0.0,
            alpha=0.0,
            max_iter=1,
            shuffle=True,
            random_state=5,
        )

        def run() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning after max_iter=1
                model.fit(X, y)

        return run

    return setup


def chainrule_estimator(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """chainrule's MLPClassifier in scikit-learn's setting of :func:`sklearn_mlp` (float32 kept)."""
    from chainrule import MLPClassifier

    return _one_sgd_epoch(MLPClassifier, X, y, widths, batch)


def sklearn_mlp(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """scikit-learn's MLPClassifier, one epoch of plain SGD (it keeps float32 input float32)."""
    from sklearn.neural_network import MLPClassifier

    return _one_sgd_epoch(MLPClassifier, X, y, widths, batch)


def pytorch(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int) -> Setup:
    """A plain PyTorch loop over shuffled index batches (no DataLoader workers)."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def setup() -> Any:
        modules: list[Any] = []
        for i, (W, b) in enumerate(initial_weights(widths)):
            linear = torch.nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            modules += [linear] if i == len(widths) - 2 else [linear, torch.nn.ReLU()]
        model = torch.nn.Sequential(*modules)
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        loss_fn = torch.nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(6)

        def run() -> None:
            order = torch.randperm(Xt.shape[0], generator=gen)
            for start in range(0, Xt.shape[0], batch):
                idx = order[start : start + batch]
                optimizer.zero_grad()
                loss_fn(model(Xt[idx]), yt[idx]).backward()
                optimizer.step()

        return run

    return setup


def run_case(
    case: str, n: int, widths: list[int], batch: int, repeats: int, quick: bool = False
) -> list[Row]:
    """Time the five contenders on ``n`` rows of MNIST-shaped data, interleaved."""
    X, y = mnist_shaped(n, widths[0], widths[-1])
    contenders = {
        "chainrule Trainer": chainrule_trainer(X, y, widths, batch),
        "chainrule MLPClassifier": chainrule_estimator(X, y, widths, batch),
        "matrix products only (floor)": floor(X, widths, batch),
        "NumPy loop": numpy_loop(X, y, widths, batch),
        "scikit-learn MLPClassifier": sklearn_mlp(X, y, widths, batch),
        "PyTorch": pytorch(X, y, widths, batch),
    }
    if not quick:
        for setup in contenders.values():  # warm up BLAS threads, torch's kernels and caches
            setup()()
    medians = interleaved(contenders, 1 if quick else repeats)
    limits = {
        "matrix products only (floor)": FLOOR_LIMIT,
        "scikit-learn MLPClassifier": PEER_LIMIT,
        "PyTorch": PEER_LIMIT,
    }
    shape = "-".join(map(str, widths))
    notes = {"chainrule Trainer": f"{n}×{widths[0]} float32, {shape}, batch {batch}, 1 epoch"}
    est = medians.pop("chainrule MLPClassifier")
    rows = ratio_rows(case, medians, "chainrule Trainer", limits, notes)
    floor_time = medians["matrix products only (floor)"]
    rows.append(Row(case, "chainrule MLPClassifier", est, note="the estimator, same epoch"))
    rows.append(Row(case, "  estimator vs floor", None, est / floor_time, ESTIMATOR_FLOOR_LIMIT))
    rows.append(
        Row(
            case,
            "  estimator vs scikit-learn",
            None,
            est / medians["scikit-learn MLPClassifier"],
            PEER_LIMIT,
        )
    )
    return rows


def run_medium(quick: bool = False) -> list[Row]:
    """60,000×784, 784-256-10, batch 128 (quick: 1,024 rows, one round)."""
    return run_case("medium", 1024 if quick else 60_000, [784, 256, 10], 128, 5, quick)


def run_wide(quick: bool = False) -> list[Row]:
    """Three hidden layers of 1024, batch 512, on 15,360 rows (30 batches; quick: one batch)."""
    n = 512 if quick else 15_360
    return run_case("wide", n, [784, 1024, 1024, 1024, 10], 512, 3, quick)
