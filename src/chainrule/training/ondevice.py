"""What the mini-batch loop does differently when the data lives on a device.

Two things would otherwise make a GPU wait for the host every batch: drawing the shuffle in
NumPy and copying it over, and turning each batch's loss into a Python float (to test it for
NaN). :class:`RowOrder` draws the permutation on the device with its own generator, seeded once
per fit from the caller's NumPy generator; :func:`host_epoch` brings the epoch's summed loss and
metrics to the host in one transfer and tests the loss there, once per epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import devices
from chainrule.backend import Array, from_numpy, namespace

if TYPE_CHECKING:
    from chainrule.training.loop import Loop


class RowOrder:
    """Each epoch's row order for device data ``X``, drawn on the device.

    Parameters
    ----------
    X : array, shape (N, d)
        The training data, on its device.
    train_idx : ndarray or None
        The rows to train on (a validation split's rest), moved to the device once.
    rng : Generator or RandomState
        Seeds the device's generator (one draw, at the first shuffled epoch).
    """

    def __init__(self, X: Array, train_idx: np.ndarray | None, rng: Any) -> None:
        self.X, self.rng = X, rng
        self.subset = train_idx is not None
        rows = np.arange(X.shape[0]) if train_idx is None else train_idx
        self.rows = from_numpy(rows, namespace(X), like=X)
        self.generator: Any = None

    def next(self, shuffle: bool) -> Array:
        """The rows in order, or a fresh permutation of them when ``shuffle``."""
        if not shuffle:
            return self.rows
        if self.generator is None:
            self.generator = devices.generator(self.X, devices.seed_from(self.rng))
        perm = devices.permutation(self.generator, self.rows.shape[0], like=self.X)
        return namespace(self.X).take(self.rows, perm, axis=0) if self.subset else perm


def host_epoch(trainer: Loop, logs: dict[str, Any]) -> bool:
    """Bring an epoch's logs to the host (one transfer); ``False`` if its loss is not finite.

    NumPy logs are floats already and pass untouched. A device epoch whose loss is NaN or
    infinite sets ``stop_reason = "non_finite"`` and puts back the last finite weights
    (:meth:`Trainer.rewind`): on a device the bad batch is found at the epoch's end, not
    before its update, so the epoch's updates are undone instead.
    """
    if len(logs) == 1 and type(logs.get("loss")) is float:  # the common case, no generator
        return True
    if all(type(v) is float for v in logs.values()):
        return True
    logs.update(devices.to_floats(logs))
    if math.isfinite(logs["loss"]):
        return True
    trainer.stop_reason = "non_finite"
    trainer.rewind()
    return False
