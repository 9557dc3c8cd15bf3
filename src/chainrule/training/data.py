"""One ``fit`` call's data as its solver sees it: a :class:`FitJob` and its batches.

:meth:`Trainer.fit <chainrule.training.trainer.Trainer.fit>` hands its inputs here and gets
back a function that builds the job the solver (:mod:`chainrule.training.solvers`) runs:

* **arrays** (:func:`array_job`): ``X, y`` are brought into the network's namespace and
  dtype (:func:`prepare`), checked, and the validation rows held out once; each epoch's
  batches are gathered by index, so only one batch of rows is ever copied. On a device the
  row order is drawn there (:class:`RowOrder`) and an epoch's losses cross to the host once
  (:func:`host_epoch`).
* **data larger than the device** (:func:`chunked_job`): when ``X``, ``y`` and the weights
  would not fit in the room a device has (:meth:`Device.room
  <chainrule.devices.Device.room>`), they stay on the host; every epoch draws the row order
  with the run's NumPy generator — the same batches as ``device="cpu"`` — and sends the rows a
  chunk of whole batches at a time, one transfer per chunk. Full-batch training needs every
  row at once and is refused, in one sentence, when the rows do not fit.
* **a stream of batches** (:func:`stream_job`), in place of ``X, y``: a **callable**
  returning one epoch's iterable of batches — called once per epoch, so a Parquet file read
  batch by batch (``pyarrow.parquet.ParquetFile.iter_batches``), a memory map sliced in order,
  or a generator function all give a fresh pass — or a **re-iterable** of batches (a list, a
  tuple, any object whose ``iter()`` starts over); a one-shot iterator (a generator object) is
  accepted for ``epochs=1`` only. Each batch is ``(X_b, y_b)`` or ``(X_b, y_b, w_b)`` with
  the shapes ``fit`` takes for arrays. The source decides the order and size of the batches
  (``batch_size`` and ``shuffle`` do not apply); every batch is prepared and checked like an
  in-memory ``X`` and run exactly as an in-memory batch, so a stream that yields the same
  batches in the same order trains the same weights bit for bit. The epoch's ``loss`` is the
  row-weighted mean over the batches seen. L-BFGS needs the whole set at once and refuses a
  stream.

The checks at the trainer's boundary live here too: :func:`check_fit_inputs` runs once per
``fit`` on the prepared arrays and raises a one-sentence ``ValueError`` for non-finite
features or targets, class indices outside ``[0, K)`` for a cross-entropy loss with ``K``
outputs (``-1`` would otherwise index the last class), and sample weights of the wrong
length, non-finite, negative or all zero; :func:`check_in_place` refuses arrays whose ``+=``
would not update the weights. Each check is one pass over the data.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import devices
from chainrule.backend import (
    Array,
    array_sum,
    dtype_name,
    from_numpy,
    is_floating,
    namespace,
    to_numpy,
)
from chainrule.network.initializers import RandomSource
from chainrule.network.losses import CrossEntropy
from chainrule.training.callbacks import Callback, overrides

if TYPE_CHECKING:
    from chainrule.devices import Device
    from chainrule.network.containers import Sequential
    from chainrule.network.losses import Loss
    from chainrule.training.callbacks import Loop


def all_finite(values: Array) -> bool:
    """One pass, no temporary of the array's size: a finite sum means no NaN and no infinity.

    A NaN or an infinity makes the sum non-finite; a non-finite sum of finite values (an
    overflow) is rare and settled by the exact element-wise test.
    """
    if math.prod(values.shape) == 0 or math.isfinite(float(array_sum(values))):
        return True
    xp = namespace(values)
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
    host_order_last: np.ndarray | None = field(init=False, default=None)

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
        """This epoch's row order drawn on the host with :attr:`rng` (in order without shuffle).

        A ``Generator`` permutes the rows afresh every epoch. A ``RandomState`` — scikit-learn's
        source — permutes the previous epoch's order (from the rows in order at the start of
        the ``fit`` call), as ``sklearn.utils.shuffle`` does in scikit-learn's MLP, so the same
        seed gives scikit-learn's batches.
        """
        order = np.arange(self.X.shape[0]) if self.train_idx is None else self.train_idx
        if not self.shuffle:
            return order
        if not isinstance(self.rng, np.random.RandomState):
            return self.rng.permutation(order)
        previous = self.host_order_last
        self.host_order_last = self.rng.permutation(order if previous is None else previous)
        return self.host_order_last

    def batches(self) -> Iterable[tuple[Array, Array, Array | None]]:
        """This epoch's batches, by index: only one batch of rows is ever copied."""
        X, y, w = self.X, self.y, self.w
        if self.batch_size is None:
            yield X, y, w
            return
        xp = namespace(X)
        if not devices.own_generator(X):
            order = from_numpy(self.host_order(), xp, like=X)
        else:  # drawn where the data lives (RowOrder, below)
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


def chunked_job(
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
    return functools.partial(ChunkedJob, *fields, validation=val, **extra)


def array_job(
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
) -> Callable[..., FitJob]:
    """Prepare ``X, y`` (and the validation rows) once; return the job builder for the run.

    Rows held out by ``validation_split`` are drawn with ``gen``; with full batches the
    training rows are gathered once here, never per epoch. Sets ``trainer.steps_per_epoch``.
    ``check_inputs=False`` skips the pass over ``X`` for non-finite values (and the class and
    weight checks) for callers that validated already (the estimators).
    """
    if not isinstance(X, np.ndarray):  # dask or JAX arrays would leave the weights untouched
        check_in_place(X)
    room = None if trainer.device is None else too_big(trainer.device, X, y, sample_weight)
    if room is not None:  # more rows than the device holds: they cross in chunks of batches
        args = (batch_size, shuffle, gen, validation_data, validation_split, room, check_inputs)
        return chunked_job(trainer, X, y, sample_weight, *args)
    if trainer.device is not None:  # once per fit: an epoch never copies the data
        X, y, sample_weight, validation_data = trainer.device.put_all(
            X, y, sample_weight, validation_data
        )
    X, y = prepare(trainer.network, trainer.loss, X, y)
    xp = namespace(X)
    w = None
    if sample_weight is not None:
        w = xp.astype(from_numpy(np.asarray(to_numpy(sample_weight)), xp, like=X), X.dtype)
    n = X.shape[0]
    if n == 0:
        raise ValueError("Cannot train on an empty data set (0 rows).")
    if check_inputs:  # non-finite data, class range, weights: check_fit_inputs
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
    val = None if validation_data is None else prepare_validation(trainer, validation_data)

    n_train = n if train_idx is None else train_idx.shape[0]
    full_batch = batch_size is None or batch_size >= n_train
    if full_batch and train_idx is not None:  # materialise the split once, not per epoch
        idx = from_numpy(train_idx, xp, like=X)
        X, y = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
        w = None if w is None else xp.take(w, idx, axis=0)
        train_idx = None

    trainer.steps_per_epoch = 1 if full_batch else math.ceil(n_train / batch_size)
    fields = (X, y, w, train_idx, None if full_batch else batch_size, shuffle, gen)
    return functools.partial(FitJob, *fields, validation=val)


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
    x_dtype = dtype_name(X.dtype)
    if x_dtype in ("float32", "float64"):
        if x_dtype != network.dtype:
            network.astype(x_dtype)
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


Batch = tuple[Any, ...]
"""``(X_b, y_b)`` or ``(X_b, y_b, w_b)``."""


def is_stream(X: Any, y: Any) -> bool:
    """True for a callable, or for a non-array iterable given without ``y``."""
    if callable(X) and not hasattr(X, "shape"):
        return True
    return y is None and isinstance(X, Iterable) and not hasattr(X, "shape")


def epoch_source(source: Any, epochs: int) -> Callable[[], Iterable[Batch]]:
    """A function that returns one epoch's batches, whatever ``source`` is."""
    if callable(source):
        return source
    if iter(source) is source and epochs > 1:
        raise ValueError(
            "An iterator of batches can be read once, but epochs > 1 were asked for; pass a "
            "callable that returns one epoch's batches (e.g. lambda: read_batches(path))."
        )
    return lambda: source


@dataclass
class StreamJob(FitJob):
    """A :class:`~chainrule.training.solvers.FitJob` whose batches come from a source.

    ``X``, ``y``, ``w`` and ``train_idx`` are unused (None); :meth:`batches` calls
    :attr:`source` for each epoch and prepares every batch with :attr:`trainer`.
    """

    source: Callable[[], Iterable[Batch]] | None = None
    trainer: Any = None
    rows_seen: int = 0

    @property
    def n_train(self) -> int:  # type: ignore[override]
        # Unknown until the epoch ends; an epoch cut short (Ctrl-C, NaN) must not count as
        # complete, so the solver's "seen < n_train" test is made to hold until it does.
        return self.rows_seen if self.rows_seen else math.inf  # type: ignore[return-value]

    def batches(self) -> Iterator[tuple[Array, Array, Array | None]]:
        """The source's batches for one epoch, each prepared and checked like array input."""
        assert self.source is not None and self.trainer is not None
        self.rows_seen = 0
        count = 0
        for batch in self.source():
            xb, yb, wb = prepare_batch(self.trainer, batch)
            count += xb.shape[0]
            yield xb, yb, wb
        if count == 0:
            raise ValueError("The data source gave an epoch with no batches (0 rows).")
        self.rows_seen = count


def prepare_batch(trainer: Loop, batch: Batch) -> tuple[Array, Array, Array | None]:
    """One ``(X_b, y_b[, w_b])`` in the network's namespace and dtype, checked."""
    if not isinstance(batch, tuple | list) or len(batch) not in (2, 3):
        raise ValueError(
            f"Each batch must be (X, y) or (X, y, sample_weight), got {type(batch).__name__}."
        )
    X, y = trainer.prepare(batch[0], batch[1])
    w = None
    if len(batch) == 3 and batch[2] is not None:
        xp = namespace(X)
        w = xp.astype(from_numpy(np.asarray(to_numpy(batch[2])), xp, like=X), X.dtype)
    check_fit_inputs(trainer, X, y, w)
    return X, y, w


def stream_job(
    trainer: Loop,
    source: Any,
    epochs: int,
    rng: Any,
    validation_data: Any,
    validation_split: float,
) -> Callable[[range, list[Any], Any], StreamJob]:
    """What :meth:`Trainer.fit` runs for a stream: ``(epoch range, callbacks, interrupt) → job``."""
    if validation_split:
        raise ValueError("validation_split needs arrays; pass validation_data instead.")
    if trainer.solver.name != "minibatch":
        raise ValueError(
            f"The {trainer.solver.name} solver needs the whole data set at once; stream only "
            "with a mini-batch optimizer (sgd, adam…)."
        )
    val = prepare_validation(trainer, validation_data)
    epoch = epoch_source(source, epochs)

    def make(epochs: range, callbacks: list[Any], interrupt: Any) -> StreamJob:
        job = StreamJob(None, None, None, None, 0, False, rng, epochs, val, callbacks, interrupt)
        job.source, job.trainer = epoch, trainer
        return job

    return make
