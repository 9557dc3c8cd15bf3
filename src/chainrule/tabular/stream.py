"""Training a :class:`TabularModel` on a Parquet file without loading it: read, encode, forget.

:func:`fit_parquet` makes the same model as :meth:`TabularModel.fit` on
``pandas.read_parquet(path)``, holding only a bounded number of rows at a time:

1. **One pass of statistics.** The file is read record batch by record batch and the
   preprocessor's means, scales and categories and the target's classes (or mean and scale)
   are merged chunk by chunk (:mod:`chainrule.tabular.streamfit`): equal to the in-memory fit
   to float64 rounding.
2. **Validation rows by a fixed rule.** Row :math:`i` (0-based, in file order) is held out
   when :math:`h(i, \\text{seed}) < f`, with :math:`h` the SplitMix64 hash of the row index
   mapped to :math:`[0, 1)` and :math:`f` the validation fraction: about :math:`fN` rows, the
   same ones every epoch and every run with that seed, wherever they sit in the file (not the
   in-memory path's exact ``round(fN)`` rows drawn by a permutation). They are read again,
   encoded and scored after every epoch (:class:`StreamedValidation`), never kept.
3. **Epochs through a bounded shuffle buffer.** Each epoch visits the row groups in a
   random order, encodes each record batch and adds its training rows to a buffer of at most
   ``buffer_rows`` rows; a full buffer is permuted and cut into ``batch_size`` batches (the
   remainder waits for the next fill). The order therefore differs from the in-memory
   shuffle, which permutes all :math:`N` rows at once: a row can only meet the rows of the
   row groups read near it. With ``shuffle=False`` the batches are the file's rows in order,
   cut every ``batch_size`` rows — the in-memory ``shuffle=False`` batches exactly.

The network, its initial weights, the optimizer, the callbacks and the model file are those of
:meth:`TabularModel.fit` with the same arguments.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from chainrule.tabular import recipe
from chainrule.tabular.data import DataError, require_columns
from chainrule.tabular.model import (
    HIDDEN_ACTIVATIONS,
    TabularModel,
)
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.tabular.streamfit import TargetEncoding, fit_chunks
from chainrule.tabular.targets import check_regression_target, class_indices
from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.trainer import Trainer

if TYPE_CHECKING:
    import pandas as pd

READ_ROWS = 4096
"""Rows per record batch read from the file."""

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def uncompressed_bytes(path: str | os.PathLike[str]) -> int:
    """The Parquet file's data size once decompressed, from its footer (no rows are read)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def held_out(rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Whether each 0-based row index is a validation row: SplitMix64(row, seed) < fraction.

    A pure function of the row index and the seed, so every pass over the file holds out the
    same rows without remembering them.
    """
    if fraction <= 0:
        return np.zeros(rows.shape, dtype=bool)
    offset = np.uint64((seed * _GOLDEN + _GOLDEN) & _MASK64)
    z = rows.astype(np.uint64) + offset  # uint64 arrays wrap around silently, as the hash needs
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53 < fraction


class ParquetTable:
    """A Parquet file read one record batch at a time, as ``(start_row, DataFrame)`` chunks.

    Opened with ``pre_buffer=False`` and a 1 MiB read buffer: pyarrow's default pre-buffering
    holds whole column chunks and many times the batch in memory.
    """

    def __init__(self, path: str | os.PathLike[str], na_values: Sequence[str] = ()) -> None:
        import pyarrow.parquet as pq

        self.path, self.na_values = str(path), list(na_values)
        self.file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        meta = self.file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.group_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.columns = [str(c) for c in self.file.schema_arrow.names]

    @property
    def n_groups(self) -> int:
        return len(self.group_start) - 1

    def chunks(self, groups: Sequence[int] | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        """``(first row's 0-based index, frame)`` for each record batch of ``groups`` in order."""
        import pyarrow as pa

        for g in range(self.n_groups) if groups is None else groups:
            start = int(self.group_start[g])
            for batch in self.file.iter_batches(READ_ROWS, row_groups=[int(g)]):
                frame = pa.Table.from_batches([batch]).to_pandas()
                if self.na_values:  # as chainrule.tabular.data.read_table does
                    frame = frame.replace(self.na_values, None)
                frame.columns = [str(c) for c in frame.columns]
                yield start, frame
                start += len(frame)


class StreamedValidation(Monitor):
    """Scores the held-out rows after each epoch, reading them from the file again.

    The trainer asks its monitor for the epoch's value before it records the epoch; this one
    adds ``val_loss`` and ``val_<metric>`` to the logs first — row-weighted means over the
    chunks (``rmse`` is combined as the root of the weighted mean square) — so early stopping,
    the best-weights snapshot and the history see them as with in-memory validation data.
    """

    def __init__(self, encoded: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]) -> None:
        super().__init__("val_loss", "min", 0.0)
        self.encoded = encoded

    def measure(self, trainer: Trainer, logs: dict[str, float]) -> float:
        totals: dict[str, float] = {}
        rows = 0
        for X, y in self.encoded():
            scores = trainer.evaluate(X, y)
            for k, v in scores.items():
                totals[k] = totals.get(k, 0.0) + len(y) * (v * v if k == "rmse" else v)
            rows += len(y)
        if rows:
            for k, v in totals.items():
                logs[f"val_{k}"] = float(np.sqrt(v / rows)) if k == "rmse" else v / rows
        return super().measure(trainer, logs)


def _encoder(
    pre: TablePreprocessor, target: str, encoding: TargetEncoding, source: str
) -> Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]:
    def encode(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        X = pre.transform(frame, source)
        column = frame[target]
        if encoding.task == "classification":
            return X, class_indices(column, encoding.classes, target, source)
        numbers = check_regression_target(column, target, source)
        return X, (numbers - encoding.mean) / encoding.scale

    return encode


def _rebatch(
    parts: Iterator[tuple[np.ndarray, np.ndarray]],
    batch_size: int,
    buffer_rows: int,
    rng: np.random.Generator | None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut ``parts`` into ``batch_size`` batches through a buffer of about ``buffer_rows`` rows.

    With ``rng``, each full buffer is permuted before it is cut; the rows left over (fewer
    than ``batch_size``) open the next buffer. The last batch of the epoch may be smaller.
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    held = 0
    capacity = max(buffer_rows, batch_size)
    for X, y in parts:
        xs.append(X)
        ys.append(y)
        held += len(y)
        if held < capacity:
            continue
        X, y = np.concatenate(xs), np.concatenate(ys)
        if rng is not None:
            order = rng.permutation(len(y))
            X, y = X[order], y[order]
        cut = len(y) - len(y) % batch_size
        for i in range(0, cut, batch_size):
            yield X[i : i + batch_size], y[i : i + batch_size]
        xs, ys, held = [X[cut:]], [y[cut:]], len(y) - cut
    if held:
        X, y = np.concatenate(xs), np.concatenate(ys)
        if rng is not None:
            order = rng.permutation(len(y))
            X, y = X[order], y[order]
        for i in range(0, len(y), batch_size):
            yield X[i : i + batch_size], y[i : i + batch_size]


def streamed_rows(
    table: ParquetTable,
    encode: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]],
    keep_validation: bool,
    fraction: float,
    seed: int,
    groups: Sequence[int] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The encoded training rows (or, with ``keep_validation``, the held-out rows) chunk by chunk."""
    for start, frame in table.chunks(groups):
        if fraction > 0:
            val = held_out(np.arange(start, start + len(frame)), fraction, seed)
            frame = frame[val if keep_validation else ~val]
        if len(frame):
            yield encode(frame)


def fit_parquet(
    path: str | os.PathLike[str],
    target: str,
    *,
    task: str | None = None,
    hidden: Sequence[int] = (64, 32),
    activation: str = "relu",
    optimizer: str = "adam",
    learning_rate: float | None = None,
    epochs: int = 100,
    batch_size: int = 32,
    validation_split: float = 0.2,
    early_stopping: bool = False,
    patience: int = 10,
    seed: int = 0,
    impute: str = "error",
    drop: Sequence[str] = (),
    embed: str | Sequence[str] | None = None,
    callbacks: Sequence[Callback] = (),
    device: str = "cpu",
    dropout: float = 0.0,
    l2: float = 0.0,
    l1: float = 0.0,
    na_values: Sequence[str] = (),
    buffer_bytes: int = 64_000_000,
    shuffle: bool = True,
    fitted: tuple[TablePreprocessor, TargetEncoding] | None = None,
) -> tuple[TabularModel, Trainer]:
    """:meth:`TabularModel.fit` on a Parquet file, streamed (see the module docstring).

    ``buffer_bytes`` bounds the encoded float64 rows held for shuffling (at least one batch); ``shuffle=False`` trains on
    the rows in file order. ``fitted`` skips the statistics pass with a preprocessor and target
    encoding already fitted (tests compare the training itself with the in-memory loop's).
    The other parameters are :meth:`TabularModel.fit`'s.

    Raises
    ------
    DataError
        As :meth:`TabularModel.fit`; also for ``impute="median"`` (no exact one-pass form)
        and a ``batch_size`` of None (full-batch training needs every row at once).
    """
    source = str(path)
    if batch_size is None:
        raise DataError(
            "Full-batch training needs every row at once; stream with a batch size (e.g. 256)."
        )
    if activation not in HIDDEN_ACTIVATIONS:
        raise DataError(
            f"Unknown activation {activation!r}; choose one of {', '.join(HIDDEN_ACTIVATIONS)}."
        )
    table = ParquetTable(path, na_values)
    frame_columns = _ColumnsOnly(table.columns)
    require_columns(frame_columns, [target], source, "given as target=")
    require_columns(frame_columns, list(drop), source, "given to drop=")
    features = [c for c in table.columns if c != target and c not in set(drop)]
    embed = embed if embed is None or isinstance(embed, str) else list(embed)
    if fitted is None:
        pre, encoding, rows = fit_chunks(
            table.chunks(), target, features, task=task, impute=impute, embed=embed, source=source
        )
    else:
        (pre, encoding), rows = fitted, int(table.group_start[-1])
    encode = _encoder(pre, target, encoding, source)
    buffer_rows = max(batch_size, buffer_bytes // (8 * (pre.n_features + 1)))

    init_rng, fit_rng = np.random.default_rng(seed).spawn(2)
    n_out, loss, metrics = recipe.task_objective(encoding.task, encoding.classes, encoding.scale)
    net, opt = recipe.network_and_optimizer(
        pre, pre.n_features, hidden, n_out, activation, dropout, optimizer, learning_rate, l2, l1,
        init_rng,
    )  # fmt: skip
    run_callbacks = recipe.run_callbacks(callbacks, early_stopping, patience)
    fraction = float(validation_split)
    monitor: Monitor | str = "val_loss"  # no held-out rows: the trainer's default
    if fraction > 0:
        monitor = StreamedValidation(lambda: streamed_rows(table, encode, True, fraction, seed))
    on = None if device == "cpu" else device
    trainer = Trainer(
        net, loss, opt, metrics=metrics, callbacks=run_callbacks, device=on, monitor=monitor
    )

    def epoch() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        groups = fit_rng.permutation(table.n_groups) if shuffle else None
        rows_in = streamed_rows(table, encode, False, fraction, seed, groups)
        return _rebatch(rows_in, batch_size, buffer_rows, fit_rng if shuffle else None)

    started = time.perf_counter()
    trainer.fit(epoch, epochs=epochs, rng=fit_rng, verbose=0)
    net.to_namespace(np.empty(0))
    training = recipe.run_record(
        trainer, started, source=source, rows=rows, hidden=hidden, activation=activation,
        optimizer=optimizer, epochs=epochs, batch_size=batch_size, validation_split=fraction,
        early_stopping=early_stopping, patience=patience, seed=seed, dropout=dropout, l2=l2,
        l1=l1,
        extra={"streamed": {"buffer_rows": int(buffer_rows), "validation": "splitmix64(row, seed)"}},
    )  # fmt: skip
    model = TabularModel(
        net,
        loss,
        encoding.task,
        pre,
        target,
        encoding.classes,
        encoding.mean,
        encoding.scale,
        trainer.history,
        training,
    )
    return model, trainer


class _ColumnsOnly:
    """Just enough of a DataFrame (its ``columns``) for :func:`require_columns` on a schema."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
