"""Checks at the Trainer's boundary: inputs it refuses, and weights it never leaves non-finite.

:func:`check_fit_inputs` runs once per ``fit`` on the prepared arrays and raises a one-sentence
``ValueError`` for non-finite features or targets, class indices outside ``[0, K)`` for a
cross-entropy loss with ``K`` outputs (``-1`` would otherwise index the last class), and
sample weights of the wrong length, non-finite, negative or all zero. Each check is one pass
over the data, the cost of one forward pass of a single linear unit.

:class:`FiniteGuard` keeps the last finite weights: the network's parameters at the start of
``fit`` until an epoch ends with finite parameters, then those. Whatever ends the run — a
divergence, Ctrl-C, an exception in a callback — the guard puts them back if the weights are
not all finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.backend import Array, is_floating, namespace, to_numpy
from chainrule.network.losses import CrossEntropy


def all_finite(values: Array) -> bool:
    """One pass, no temporary of the array's size: a finite sum means no NaN and no infinity.

    A NaN or an infinity makes the sum non-finite; a non-finite sum of finite values (an
    overflow) is rare and settled by the exact element-wise test.
    """
    xp = namespace(values)
    if math.prod(values.shape) == 0 or math.isfinite(float(xp.sum(values))):
        return True
    return bool(xp.all(xp.isfinite(values)))


def params_finite(values: Iterable[Array]) -> bool:
    """Whether every array in ``values`` is finite (:func:`all_finite` of each)."""
    return all(all_finite(v) for v in values)


def check_fit_inputs(trainer: Any, X: Array, y: Array, w: Array | None) -> None:
    """Raise ``ValueError`` when prepared ``X``, ``y`` or weights ``w`` cannot be trained on.

    Parameters
    ----------
    trainer : Trainer
        Gives the loss and the network (for the number of classes ``K``).
    X : array, shape (N, d)
    y : array, shape (N,) class indices, or (N, K)
    w : array, shape (N,), or None
    """
    if not all_finite(X):
        rows = int(np.sum(~np.isfinite(np.asarray(to_numpy(X))).all(axis=1)))
        raise ValueError(f"X has {rows} rows with NaN or infinite values; remove or fill them.")
    if is_floating(y) and not all_finite(y):
        rows = int(np.sum(~np.isfinite(np.asarray(to_numpy(y))).reshape(len(y), -1).all(axis=1)))
        raise ValueError(f"y has {rows} rows with NaN or infinite values; remove or fill them.")
    if isinstance(trainer.loss, CrossEntropy) and y.ndim == 1 and not is_floating(y):
        k = trainer.network.output_dim(X.shape[1])
        labels = np.asarray(to_numpy(y))
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(
                f"y holds class indices from {int(labels.min())} to {int(labels.max())}, but the "
                f"network has {k} outputs; class indices must lie in [0, {k - 1}]."
            )
    if w is not None:
        check_sample_weight(np.asarray(to_numpy(w)), X.shape[0])


def check_in_place(X: Array) -> None:
    """Raise ``TypeError`` when ``X``'s array type cannot update the weights in place.

    The solvers move the weights with ``params[k] += update``. For NumPy, PyTorch and CuPy
    that writes into the layer's own array; for an immutable or lazy array (a dask array, a
    JAX array) ``+=`` only rebinds a temporary, so training would run without error and
    never change the model. A two-element probe in ``X``'s namespace tells them apart.
    """
    xp = namespace(X)
    probe = xp.zeros((2,))
    alias = probe
    alias += 1
    if alias is probe:
        return
    kind = f"{type(X).__module__.split('.')[0]}.{type(X).__name__}"
    hint = (
        "train on the cluster with chainrule.dask.DaskMLPClassifier / DaskMLPRegressor, or "
        "pass NumPy arrays"
        if "dask" in kind
        else "pass NumPy (or PyTorch / CuPy) arrays"
    )
    raise TypeError(
        f"X is a {kind}, whose arrays cannot be updated in place, so training would never "
        f"change the weights; {hint}."
    )


def check_sample_weight(w: np.ndarray, n: int, name: str = "sample_weight") -> None:
    """Raise ``ValueError`` unless ``w`` is ``n`` finite, non-negative weights, not all zero."""
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(
            f"{name} has shape {w.shape}, but there are {n} samples; give one weight each."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} holds NaN or infinite values; weights must be finite.")
    if np.any(w < 0):
        raise ValueError(
            f"{name} holds negative values such as {float(w.min())}; weights must be >= 0."
        )
    if n and not np.any(w > 0):
        raise ValueError(
            f"{name} is all zero, so no sample would count; give some positive weights."
        )


class FiniteGuard:
    """Keeps the last finite parameters and restores them when the run ends with non-finite ones.

    Used as ``with FiniteGuard(trainer) as guard: ...`` around the solver, with
    :meth:`epoch_end` after each recorded epoch. When that epoch was also the best so far, the
    trainer's best-weights snapshot *is* the last finite state, so no second copy is made:
    one snapshot per epoch at most.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.saved: dict[str, Array] | None = None
        self.use_best = False

    def __enter__(self) -> FiniteGuard:
        if self._params_finite():
            self.saved = self.trainer.snapshot()
        return self

    def _params_finite(self) -> bool:
        return params_finite(self.trainer.network.params.values())

    def epoch_end(self, finite: bool, snapshotted: bool) -> None:
        """Remember the parameters if ``finite`` (reusing the best snapshot when just taken)."""
        if not finite:
            return
        self.use_best = snapshotted
        if not snapshotted:
            self.saved = self.trainer.snapshot(self.saved)

    def __exit__(self, *exc: Any) -> None:
        if not self._params_finite():
            self.rewind()

    def rewind(self) -> None:
        """Put back the last finite parameters (the best snapshot when that is the latest)."""
        if self.use_best and self.trainer.best_params is not None:
            self.trainer.restore(self.trainer.best_params)
        elif self.saved is not None:
            self.trainer.restore(self.saved)
