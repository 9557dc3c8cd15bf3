"""One ``fit`` call as its solver sees it: the data, its batches and the run's callbacks.

The :class:`~chainrule.training.trainer.Trainer` prepares it; the solvers
(:mod:`chainrule.training.solvers`) run it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import devices
from chainrule.backend import Array, from_numpy, namespace
from chainrule.network.initializers import RandomSource
from chainrule.training.callbacks import Callback, overrides
from chainrule.training.ondevice import RowOrder


@dataclass
class FitJob:
    """One ``fit`` call, prepared by the Trainer for its solver.

    Attributes
    ----------
    X, y, w : arrays, shapes (N, d), (N, K) or (N,), (N,) or None
        The training set (validation rows already removed when it is full batch).
    train_idx : ndarray or None
        Rows of ``X`` to train on when mini-batches index a larger array (validation split).
    batch_size : int or None
        Rows per batch; ``None`` is full batch.
    shuffle : bool
        A new batch order every epoch.
    rng : Generator or RandomState
        Source of the shuffles.
    epochs : range
        Epoch numbers of this call (continuing the history).
    validation : (X_val, y_val, w_val) or None
        Scored by ``Trainer.end_epoch``.
    callbacks : list of Callback
        The Trainer's callbacks and this call's.
    interrupt : object with a ``raised`` flag
        Set by the first Ctrl-C; a solver stops at its next safe point.
    """

    X: Array
    y: Array
    w: Array | None
    train_idx: np.ndarray | None
    batch_size: int | None
    shuffle: bool
    rng: RandomSource
    epochs: range
    validation: tuple[Array, Array, Array | None] | None
    callbacks: list[Callback]
    interrupt: Any
    gradient_hooks: list[Callback] = field(init=False)
    epoch_end_hooks: list[Callback] = field(init=False)
    device_order: RowOrder | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.gradient_hooks = self.hooks("on_gradients")
        self.epoch_end_hooks = self.hooks("on_epoch_end")

    @property
    def n_train(self) -> int:
        """Rows trained on per epoch."""
        return self.X.shape[0] if self.train_idx is None else self.train_idx.shape[0]

    def hooks(self, name: str) -> list[Callback]:
        """The callbacks that implement hook ``name`` (so the loop calls only those)."""
        return [cb for cb in self.callbacks if overrides(cb, name)]

    def host_order(self) -> np.ndarray:
        """This epoch's row order drawn on the host with :attr:`rng` (in order without shuffle)."""
        order = np.arange(self.X.shape[0]) if self.train_idx is None else self.train_idx
        return self.rng.permutation(order) if self.shuffle else order

    def batches(self) -> Iterable[tuple[Array, Array, Array | None]]:
        """This epoch's batches, by index: only one batch of rows is ever copied."""
        X, y, w = self.X, self.y, self.w
        if self.batch_size is None:
            yield X, y, w
            return
        xp = namespace(X)
        if not devices.own_generator(X):
            order = from_numpy(self.host_order(), xp, like=X)
        else:  # drawn where the data lives (training/ondevice.py)
            self.device_order = self.device_order or RowOrder(X, self.train_idx, self.rng)
            order = self.device_order.next(self.shuffle)
        n = order.shape[0]
        for start in range(0, n, self.batch_size):
            idx = order[start : min(start + self.batch_size, n)]  # the array API: no overshoot
            yield (
                xp.take(X, idx, axis=0),
                xp.take(y, idx, axis=0),
                None if w is None else xp.take(w, idx, axis=0),
            )


def validation_rows(n: int, fraction: float, gen: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(held-out rows, sorted training rows)`` of ``n``, the held-out ``fraction`` drawn by ``gen``."""
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise ValueError("validation_split leaves no training rows; lower it.")
    order = gen.permutation(n)
    return order[:n_val], np.sort(order[n_val:])
