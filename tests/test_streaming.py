"""Training on a stream of batches (a Parquet file read batch by batch, a memory map).

Oracle: the in-memory path. The same rows in the same batches (``shuffle=False``,
``batch_size`` equal to the file's record-batch size) must give the same weights bit for bit,
the same history, validation scores and callback calls.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import make_classification

import chainrule as cr


def _data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    return X, y


def _net() -> cr.Sequential:
    gen = np.random.default_rng(0)
    return cr.Sequential(
        [cr.Dense(6, 8, rng=gen), cr.BatchNorm(8), cr.ReLU(), cr.Dense(8, 3, rng=gen)]
    )


class _Calls(cr.Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_train_begin(self, trainer) -> None:
        self.calls.append("begin")

    def on_epoch_begin(self, trainer, epoch) -> None:
        self.calls.append(f"epoch{epoch}")

    def on_batch_end(self, trainer, batch, logs) -> None:
        self.calls.append(f"batch{batch}:{logs['size']}")

    def on_train_end(self, trainer) -> None:
        self.calls.append("end")


def _write_parquet(path, X, y, rows_per_group: int) -> None:
    table = pa.table({**{f"x{j}": X[:, j] for j in range(X.shape[1])}, "y": y})
    pq.write_table(table, path, row_group_size=rows_per_group)


def _parquet_epoch(path, batch_size: int):
    """One epoch of the file, read batch by batch (never the whole table)."""

    def epoch():
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
            cols = batch.to_pydict()
            y = np.asarray(cols.pop("y"))
            yield np.column_stack([np.asarray(v) for v in cols.values()]), y

    return epoch


def test_parquet_stream_trains_as_the_in_memory_path(tmp_path) -> None:
    X, y = _data()
    Xtr, ytr, Xv, yv = X[:256], y[:256], X[256:], y[256:]
    path = tmp_path / "train.parquet"
    _write_parquet(path, Xtr, ytr, rows_per_group=100)
    runs = {}
    for kind in ("memory", "stream"):
        trainer = cr.Trainer(_net(), cr.CrossEntropy(), cr.adam(0.01), metrics=["accuracy"])
        calls = _Calls()
        common = {"epochs": 4, "validation_data": (Xv, yv), "callbacks": [calls]}
        if kind == "memory":
            history = trainer.fit(Xtr, ytr, batch_size=32, shuffle=False, **common)
        else:
            history = trainer.fit(_parquet_epoch(path, 32), **common)
        runs[kind] = (trainer.network, history, calls.calls)
    (net_m, hist_m, calls_m), (net_s, hist_s, calls_s) = runs["memory"], runs["stream"]
    for name, value in net_m.params.items():
        np.testing.assert_array_equal(net_s.params[name], value, err_msg=name)
    for name, value in net_m.buffers.items():  # BatchNorm's running statistics too
        np.testing.assert_array_equal(net_s.buffers[name], value, err_msg=name)
    assert hist_s.history == hist_m.history
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(hist_s.history)
    assert calls_s == calls_m and calls_s.count("batch7:32") == 4  # 256 rows = 8 batches of 32


def test_memory_map_stream_with_weights_and_early_stopping(tmp_path) -> None:
    X, y = _data()
    w = np.linspace(0.5, 1.5, len(X))
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=X.shape)
    mm[:] = X
    mm.flush()
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")

    def epoch():
        for s in range(0, 240, 60):
            yield X_map[s : s + 60], y[s : s + 60], w[s : s + 60]

    stop = cr.EarlyStopping(monitor="val_loss", patience=1)
    out = {}
    for kind in ("memory", "stream"):
        trainer = cr.Trainer(_net(), cr.CrossEntropy(), cr.sgd(0.5))
        data = (X[:240], y[:240]) if kind == "memory" else (epoch,)
        kwargs = {"batch_size": 60, "shuffle": False, "sample_weight": w[:240]}
        out[kind] = trainer.fit(
            *data,
            epochs=30,
            validation_data=(X[240:], y[240:]),
            callbacks=[stop],
            **(kwargs if kind == "memory" else {}),
        )
        out[kind + "_params"] = trainer.network.params
    assert out["stream"].history == out["memory"].history
    assert len(out["stream"].epoch) < 30  # early stopping ended it
    for name, value in out["memory_params"].items():
        np.testing.assert_array_equal(out["stream_params"][name], value)


def test_one_shot_iterator_and_lbfgs_are_refused() -> None:
    X, y = _data()
    trainer = cr.Trainer(_net(), cr.CrossEntropy(), cr.adam())
    gen = ((X[i : i + 50], y[i : i + 50]) for i in range(0, 300, 50))
    with pytest.raises(ValueError, match="read once"):
        trainer.fit(gen, epochs=2)
    history = trainer.fit([(X[:150], y[:150]), (X[150:], y[150:])], epochs=2)  # a list re-reads
    assert len(history.epoch) == 2
    lbfgs = cr.Trainer(_net(), cr.CrossEntropy(), "lbfgs")
    with pytest.raises(ValueError, match="whole data set"):
        lbfgs.fit(lambda: [(X, y)])
    with pytest.raises(ValueError, match="no batches"):
        trainer.fit(lambda: [])
