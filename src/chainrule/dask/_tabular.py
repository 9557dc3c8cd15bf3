"""A :class:`~chainrule.tabular.model.TabularModel` trained on a dask DataFrame.

What ``chainrule train DATA --dask`` runs: the same task inference, preprocessing, network,
losses and model file as :meth:`TabularModel.fit <chainrule.tabular.model.TabularModel.fit>`,
with every statistic (means, scales, categories, classes, the target's mean and scale)
from Dask reductions and the training run by :mod:`chainrule.dask._engine` on the workers.
Validation rows are held out inside each partition (a seeded draw per partition) and scored
there; ``val_loss`` is logged through the trainer's monitor, so early stopping works as on
one machine.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.dask import _data
from chainrule.dask._engine import (
    DataParallel,
    Shards,
    check_memory,
    distributed_objective,
    get_client,
)
from chainrule.dask._watch import compute
from chainrule.network import losses as losses_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.containers import Sequential
from chainrule.tabular.data import DataError
from chainrule.tabular.model import HIDDEN_ACTIVATIONS, TabularModel
from chainrule.tabular.recipe import build_network
from chainrule.tabular.targets import (
    MAX_CLASSES_INFERRED,
    check_classification_target,
    check_regression_target,
    class_indices,
)
from chainrule.training.callbacks import Callback, EarlyStopping, Monitor
from chainrule.training.solvers import ParamVector, lbfgs
from chainrule.training.trainer import Trainer


class RemoteValidation(Monitor):
    """Logs ``val_loss`` of the held-out partitions (scored on the workers) and watches it."""

    def __init__(self, shards: Shards, loss: losses_module.Loss) -> None:
        super().__init__("val_loss", "min", 0.0)
        self.shards, self.loss = shards, loss
        self._objective: Any = None

    def measure(self, trainer: Trainer, logs: dict[str, float]) -> float:
        network = trainer.network
        if self._objective is None:  # built once: each worker keeps the network it made
            self._objective = distributed_objective(self.shards, network, self.loss, 0.0)
        value, _ = self._objective(ParamVector(network).get())
        logs["val_loss"] = value
        return value


def _regression_block(name: str, source: str, mean: float, scale: float, part: Any) -> np.ndarray:
    return ((check_regression_target(part, name, source) - mean) / scale).reshape(-1, 1)


def _infer_task(y: Any) -> tuple[str, list[Any]]:
    from pandas.api import types

    if types.is_bool_dtype(y.dtype) or not types.is_numeric_dtype(y.dtype):
        return "classification", _data.distinct(y)
    whole = y.dropna().map_partitions(lambda s: bool((s == s.round()).all()), meta=(None, bool))
    (all_whole,) = compute(whole.all())
    few = _data.distinct(y.dropna().round(0)) if bool(all_whole) else []
    if 0 < len(few) <= MAX_CLASSES_INFERRED:
        return "classification", few
    return "regression", []


def _targets(y: Any, task: str | None, target: str, source: str) -> tuple[Any, ...]:
    import pandas as pd

    (missing,) = compute(y.isna().sum())
    if missing:
        raise DataError(f"Target column {target!r} in '{source}' has {missing} missing values.")
    inferred, distinct = _infer_task(y)
    task = task or inferred
    if task == "classification":
        distinct = distinct or _data.distinct(y)
        classes = check_classification_target(pd.Series(distinct), target, source)
        encode = functools.partial(_class_block, classes, target, source)
        return task, classes, 0.0, 1.0, encode, losses_module.CrossEntropy(), len(classes)
    numbers = y.astype("float64")
    count, total, squares = compute(numbers.count(), numbers.sum(), (numbers**2).sum())
    mean = total / count
    scale = math.sqrt(max(squares / count - mean * mean, 0.0)) or 1.0
    encode = functools.partial(_regression_block, target, source, mean, scale)
    return task, None, mean, scale, encode, losses_module.MSE(), 1


def _class_block(classes: list[Any], name: str, source: str, part: Any) -> np.ndarray:
    return class_indices(part, classes, name, source)


def fit_table(
    frame: Any,
    target: str,
    *,
    client: Any = None,
    task: str | None = None,
    hidden: Sequence[int] = (64, 32),
    activation: str = "relu",
    optimizer: str = "adam",
    learning_rate: float | None = None,
    epochs: int = 100,
    batch_size: int | None = 32,
    validation_split: float = 0.2,
    early_stopping: bool = False,
    patience: int = 10,
    seed: int | None = 0,
    impute: str = "error",
    drop: Sequence[str] = (),
    callbacks: Sequence[Callback] = (),
    source: str = "the data",
    sync_every: int | None = None,
) -> tuple[TabularModel, Trainer]:
    """:meth:`TabularModel.fit <chainrule.tabular.model.TabularModel.fit>` on a dask DataFrame.

    The options mean what they mean there; ``optimizer="lbfgs"`` is the full-batch
    distributed L-BFGS (``batch_size`` ignored), any other optimizer runs data-parallel
    (:class:`~chainrule.dask._engine.DataParallel`, averaging every ``sync_every`` local
    steps; default once per epoch). Raises :class:`~chainrule.tabular.data.DataError` as the
    local ``fit`` does.
    """
    client = get_client(client)
    missing = [c for c in [target, *drop] if c not in frame.columns]
    if missing:
        raise DataError(f"'{source}' has no column {missing[0]!r}.")
    if activation not in HIDDEN_ACTIVATIONS:
        raise DataError(f"Unknown activation {activation!r}.")
    features = [str(c) for c in frame.columns if c != target and c not in set(drop)]
    # Before any pass that reads whole partitions: refuse at once rows that cannot fit even
    # one partition at a time (every column is at least one float64 feature).
    rows = _data.row_count(frame[target])
    per_partition = rows / max(frame.npartitions, 1)
    check_memory(client, rows, 8.0 * len(features) + 8.0, partition_rows=per_partition)
    task, classes, mean, scale, encode_y, loss, n_out = _targets(
        frame[target], task, target, source
    )
    pre = _data.fit_preprocessor(frame, features, impute)
    encode_x = functools.partial(_encode, pre)
    pieces = _data.pieces(frame[features], frame[target], None, encode_x, encode_y)
    gen = np.random.default_rng(seed)
    init_rng, fit_rng = gen.spawn(2)
    seeds = [int(s) for s in fit_rng.integers(2**31, size=len(pieces) + 1)]
    train = [
        _data.dask_apply(_data.holdout, s, validation_split, False, p)
        for s, p in zip(seeds, pieces, strict=False)
    ]
    # Before any row is held: rows beyond the workers' memory are streamed from the source, or
    # refused in one sentence when even one partition does not fit (never a restart loop).
    row_bytes = 8.0 * pre.n_features + 8.0  # float64 features, an int64 code or float target
    stream = check_memory(client, rows, row_bytes, partition_rows=per_partition)
    shards = Shards.compute(client, train, stream=stream)
    net = build_network(pre.n_features, hidden, n_out, activation, init_rng)
    trainer = _trainer(
        net, loss, optimizer, learning_rate, shards, batch_size, sync_every, seeds[-1]
    )
    if validation_split:
        held = [
            _data.dask_apply(_data.holdout, s, validation_split, True, p)
            for s, p in zip(seeds, pieces, strict=False)
        ]
        trainer.monitor = RemoteValidation(Shards.compute(client, held, stream=stream), loss)
    run: list[Callback] = [EarlyStopping("val_loss", patience=patience)] if early_stopping else []
    started = time.perf_counter()
    trainer.fit_remote(epochs=epochs, callbacks=[*run, *callbacks])
    training = {
        "data": str(source), "rows": shards.n_rows, "hidden": [int(h) for h in hidden],
        "activation": activation, "optimizer": optimizer, "epochs": int(epochs),
        "batch_size": batch_size, "validation_split": float(validation_split),
        "early_stopping": bool(early_stopping), "patience": int(patience), "seed": seed,
        "seconds": round(time.perf_counter() - started, 3), "dask_partitions": shards.partitions,
        "dask_workers": len(client.scheduler_info().get("workers", {})),
        "dask_streamed": shards.streamed,
    }  # fmt: skip
    model = TabularModel(
        net, loss, task, pre, target, classes, mean, scale, trainer.history, training
    )
    return model, trainer


def _encode(pre: Any, part: Any) -> np.ndarray:
    return pre.transform(part)


def _trainer(
    net: Sequential,
    loss: losses_module.Loss,
    optimizer: str,
    learning_rate: float | None,
    shards: Shards,
    batch_size: int | None,
    sync_every: int | None,
    seed: int,
) -> Trainer:
    if optimizer == "lbfgs":
        return Trainer(net, loss, lbfgs(objective=distributed_objective(shards, net, loss, 0.0)))
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    try:
        rule = optimizers_module.get(optimizer, **kwargs)
    except (ValueError, TypeError) as exc:
        raise DataError(str(exc)) from None
    batch = batch_size or max(shards.rows)
    solver = DataParallel(rule, shards, loss, None, batch, sync_every, seed)
    return Trainer(net, loss, solver)
