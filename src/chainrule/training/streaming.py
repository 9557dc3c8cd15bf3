"""Data that streams: training on batches produced one at a time, never all in memory.

:meth:`Trainer.fit <chainrule.training.trainer.Trainer.fit>` accepts, in place of ``X, y``,

* a **callable** returning one epoch's iterable of batches — called once per epoch, so a
  Parquet file read batch by batch (``pyarrow.parquet.ParquetFile.iter_batches``), a memory
  map sliced in order, or a generator function all give a fresh pass; or
* a **re-iterable** of batches (a list, a tuple, any object whose ``iter()`` starts over).
  A one-shot iterator (a generator object) is accepted for ``epochs=1`` only.

Each batch is ``(X_b, y_b)`` or ``(X_b, y_b, w_b)`` with the shapes ``fit`` takes for arrays.
The source decides the order and size of the batches (``batch_size`` and ``shuffle`` do not
apply); every batch is prepared (dtype, class indices) and checked like an in-memory ``X``, and
the :class:`~chainrule.training.solvers.MiniBatch` solver runs it exactly as it runs an
in-memory batch, so a stream that yields the same batches in the same order trains the same
weights bit for bit. ``validation_data``, callbacks and the history work as usual; the epoch's
``loss`` is the row-weighted mean over the batches seen. L-BFGS needs the whole set at once
and refuses a stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.backend import Array, from_numpy, namespace, to_numpy
from chainrule.training import arrays
from chainrule.training.checks import check_fit_inputs
from chainrule.training.solvers import FitJob

if TYPE_CHECKING:
    from chainrule.training.loop import Loop

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


def job_maker(
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
    val = arrays.prepare_validation(trainer, validation_data)
    epoch = epoch_source(source, epochs)

    def make(run: range, callbacks: list[Any], interrupt: Any) -> StreamJob:
        job = StreamJob(None, None, None, None, 0, False, rng, run, val, callbacks, interrupt)
        job.source, job.trainer = epoch, trainer
        return job

    return make
