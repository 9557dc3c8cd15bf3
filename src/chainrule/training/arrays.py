"""In-memory arrays as a training job: device placement, checks, the validation split.

:meth:`Trainer.fit <chainrule.training.trainer.Trainer.fit>` hands arrays here and a stream of
batches to :mod:`chainrule.training.streaming`; both return a function that builds the
:class:`~chainrule.training.solvers.FitJob` the solver runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.backend import Array, dtype_name, from_numpy, is_floating, namespace, to_numpy
from chainrule.network.losses import CrossEntropy
from chainrule.training import devicechunks, solvers
from chainrule.training.checks import check_fit_inputs, check_in_place
from chainrule.training.fitjob import validation_rows

if TYPE_CHECKING:
    from chainrule.network.containers import Sequential
    from chainrule.network.losses import Loss
    from chainrule.training.loop import Loop


def job_maker(
    trainer: Loop,
    X: Array,
    y: Array,
    sample_weight: Array | None,
    batch_size: int | None,
    shuffle: bool,
    gen: Any,
    validation_data: Any,
    validation_split: float,
    *,
    check_inputs: bool = True,
) -> Callable[..., solvers.FitJob]:
    """Prepare ``X, y`` (and the validation rows) once; return the job builder for the run.

    Rows held out by ``validation_split`` are drawn with ``gen``; with full batches the
    training rows are gathered once here, never per epoch. Sets ``trainer.steps_per_epoch``.
    ``check_inputs=False`` skips the pass over ``X`` for non-finite values (and the class and
    weight checks) for callers that validated already (the estimators).
    """
    check_in_place(X)  # dask or JAX arrays would leave the weights untouched: checks.py
    room = (
        None
        if trainer.device is None
        else devicechunks.too_big(trainer.device, X, y, sample_weight)
    )
    if room is not None:  # more rows than the device holds: they cross in chunks of batches
        args = (batch_size, shuffle, gen, validation_data, validation_split, room, check_inputs)
        return devicechunks.job_maker(trainer, X, y, sample_weight, *args)
    if trainer.device is not None:  # once per fit: an epoch never copies the data
        X, y, sample_weight, validation_data = trainer.device.put_all(
            X, y, sample_weight, validation_data
        )
    X, y = trainer.prepare(X, y)
    xp = namespace(X)
    w = None
    if sample_weight is not None:
        w = xp.astype(from_numpy(np.asarray(to_numpy(sample_weight)), xp, like=X), X.dtype)
    n = X.shape[0]
    if n == 0:
        raise ValueError("Cannot train on an empty data set (0 rows).")
    if check_inputs:  # non-finite data, class range, weights: training/checks.py
        check_fit_inputs(trainer, X, y, w)

    train_idx = None
    if validation_split and validation_data is None:
        val_rows, train_idx = validation_rows(n, validation_split, gen)
        val_idx = from_numpy(val_rows, xp, like=X)
        validation_data = (
            xp.take(X, val_idx, axis=0),
            xp.take(y, val_idx, axis=0),
            None if w is None else xp.take(w, val_idx, axis=0),
        )
    val = prepare_validation(trainer, validation_data)

    n_train = n if train_idx is None else train_idx.shape[0]
    full_batch = batch_size is None or batch_size >= n_train
    if full_batch and train_idx is not None:  # materialise the split once, not per epoch
        idx = from_numpy(train_idx, xp, like=X)
        X, y = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
        w = None if w is None else xp.take(w, idx, axis=0)
        train_idx = None

    trainer.steps_per_epoch = 1 if full_batch else math.ceil(n_train / batch_size)
    fields = (X, y, w, train_idx, None if full_batch else batch_size, shuffle, gen)
    return lambda *r: solvers.FitJob(*fields, r[0], val, *r[1:])


def prepare_validation(trainer: Loop, data: Any) -> tuple[Array, Array, Array | None] | None:
    """``(X_val, y_val[, w_val])`` in the network's namespace and dtype, or ``None``."""
    if data is None:
        return None
    if len(data) not in (2, 3):
        raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, w_val).")
    Xv, yv = trainer.prepare(data[0], data[1])
    wv = data[2] if len(data) == 3 else None
    if wv is not None:
        xp = namespace(Xv)
        wv = xp.astype(from_numpy(np.asarray(to_numpy(wv)), xp, like=Xv), Xv.dtype)
    return Xv, yv, wv


def prepare(
    network: Sequential, loss: Loss, X: Array, y: Array | None = None
) -> tuple[Array, Array | None]:
    """Bring ``X`` (and ``y``) into the model's namespace and dtype without needless copies.

    Float32 input makes the model float32 (float32 end to end); other inputs are cast to
    the model's dtype. ``y`` becomes ``(N, K)`` floats, or class indices for
    :class:`~chainrule.losses.CrossEntropy`.
    """
    xp = namespace(X)
    params = network.params
    if params and namespace(next(iter(params.values()))) is not xp:
        network.to_namespace(X)
    if is_floating(X) and dtype_name(X.dtype) in ("float32", "float64"):
        if dtype_name(X.dtype) != network.dtype:
            network.astype(dtype_name(X.dtype))
    else:
        X = xp.astype(X, getattr(xp, network.dtype))
    if y is None:
        return X, None
    dtype = getattr(xp, network.dtype)
    if namespace(y) is not xp:
        y = from_numpy(np.asarray(to_numpy(y)), xp, like=X)
    if isinstance(loss, CrossEntropy) and y.ndim == 1:
        if is_floating(y):
            y = xp.astype(y, xp.int64)
    else:
        if y.ndim == 1:
            y = xp.reshape(y, (-1, 1))
        if dtype_name(y.dtype) != network.dtype:
            y = xp.astype(y, dtype)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match.")
    return X, y
