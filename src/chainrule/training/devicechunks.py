"""Training data larger than the device: it stays on the host and crosses in chunks of batches.

When ``X``, ``y`` and the sample weights would not fit in the room a device has
(:meth:`Device.room <chainrule.devices.Device.room>`: its free memory, or a ``memory_limit``),
:func:`job_maker` keeps them in host memory. Every epoch draws the row order on the host with
the run's NumPy generator — the same draw, the same batches as ``device="cpu"`` — and sends
the rows a chunk at a time: a chunk is as many whole batches as fit in half the room, gathered
on the host, moved in **one** transfer and cut into batches on the device. The epoch's losses
still cross back once, at its end. So a model trains on any amount of data a device can hold a
chunk of, at the price of one transfer per chunk instead of one per fit.

Full-batch training needs every row at once and is refused, in one sentence, when the rows do
not fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.backend import Array, dtype_name, to_numpy
from chainrule.training.checks import check_fit_inputs
from chainrule.training.fitjob import FitJob, validation_rows

if TYPE_CHECKING:
    from chainrule.devices import Device
    from chainrule.training.loop import Loop


def too_big(device: Device, X: Any, y: Any, w: Any) -> int | None:
    """The room on ``device`` when the training rows do not fit in it, else ``None``.

    The rows are counted from their shapes (nothing is copied), as the network will hold them:
    ``X`` at 4 bytes a value when it is float32 and 8 otherwise, ``y`` and ``w`` at 8.
    """
    room = device.room()
    if room is None:
        return None
    width = 4 if dtype_name(getattr(X, "dtype", np.float64)) == "float32" else 8
    needed = math.prod(np.shape(X)) * width + math.prod(np.shape(y)) * 8
    needed += 0 if w is None else math.prod(np.shape(w)) * 8
    return room if needed > room else None


@dataclass
class ChunkedJob(FitJob):
    """A :class:`FitJob` whose rows live on the host and reach the device a chunk at a time.

    Attributes
    ----------
    device : Device
        Where the batches train.
    prepare : callable
        ``(X, y) -> (X, y)`` on the device, as :meth:`Trainer.prepare` (dtype, target shape).
    chunk_rows : int
        Rows per transfer: a multiple of ``batch_size``.
    """

    device: Any = field(kw_only=True)
    prepare: Callable[[Array, Any], tuple[Array, Array]] = field(kw_only=True)
    chunk_rows: int = field(kw_only=True)

    def batches(self) -> Iterable[tuple[Array, Array, Array | None]]:
        """The epoch's batches, in the order ``device="cpu"`` would draw them."""
        order = self.host_order()  # the draw device="cpu" makes
        size = self.batch_size or order.shape[0]
        for start in range(0, order.shape[0], self.chunk_rows):
            idx = order[start : start + self.chunk_rows]
            Xc, yc = self.prepare(  # one transfer per chunk: X, y (and w) gathered on the host
                self.device.put(np.take(self.X, idx, axis=0)), np.take(self.y, idx, axis=0)
            )
            wc = (
                None
                if self.w is None
                else self.device.put(np.take(self.w, idx), dtype_name(Xc.dtype))
            )
            for s in range(0, idx.shape[0], size):
                yield Xc[s : s + size], yc[s : s + size], None if wc is None else wc[s : s + size]


def job_maker(
    trainer: Loop,
    X: Array,
    y: Array,
    w: Array | None,
    batch_size: int | None,
    shuffle: bool,
    gen: Any,
    validation: Any,
    validation_split: float,
    room: int,
    check_inputs: bool,
) -> Callable[..., FitJob]:
    """The job builder for rows that stay on the host (see the module docstring).

    Raises
    ------
    ValueError
        For full-batch training, which needs every row on the device at once.
    """
    device = trainer.device
    X, y = np.asarray(to_numpy(X)), np.asarray(to_numpy(y))
    w = None if w is None else np.asarray(to_numpy(w), dtype=np.float64)
    n = X.shape[0]
    if batch_size is None:
        raise ValueError(
            f"The training data does not fit in the {room / 2**30:.2f} GiB {device} has room "
            "for, and full-batch training needs all of it there at once; pass batch_size= to "
            "stream it in chunks of batches, or train on device='cpu'."
        )
    first, _ = trainer.prepare(device.put(X[:1]), y[:1])  # the model's dtype and namespace
    if check_inputs:
        check_fit_inputs(trainer, X, y, w)
    train_idx = None
    if validation_split and validation is None:
        val_idx, train_idx = validation_rows(n, validation_split, gen)  # device="cpu"'s split
        validation = (X[val_idx], y[val_idx], None if w is None else w[val_idx])
    val = None
    if validation is not None:
        Xv, yv = trainer.prepare(device.put(validation[0]), validation[1])
        wv = validation[2] if len(validation) == 3 else None
        wv = None if wv is None else device.put(np.asarray(to_numpy(wv)), dtype_name(Xv.dtype))
        val = (Xv, yv, wv)
    item = np.dtype(dtype_name(first.dtype)).itemsize
    row_bytes = max(1, (X[:1].size + np.size(y[:1]) + (w is not None)) * item)
    chunk_rows = max(1, room // 2 // row_bytes // batch_size) * batch_size
    n_train = n if train_idx is None else train_idx.shape[0]
    trainer.steps_per_epoch = math.ceil(n_train / batch_size)
    fields = (X, y, w, train_idx, batch_size, shuffle, gen)
    extra = {"device": device, "prepare": trainer.prepare, "chunk_rows": chunk_rows}
    return lambda *r: ChunkedJob(*fields, r[0], val, *r[1:], **extra)
