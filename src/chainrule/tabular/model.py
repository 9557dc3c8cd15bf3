"""The model the command line trains and saves: a network plus everything needed to use it on a table.

A :class:`TabularModel` bundles

* the :class:`~chainrule.layers.Sequential` network and its loss,
* the task (``"classification"`` or ``"regression"``) and the target column's name,
* the fitted :class:`~chainrule.preprocessing.TablePreprocessor` (standardize / one-hot),
* the classes (classification) or the target's mean and scale (regression),
* the training :class:`~chainrule.training.History` and the options it was trained with,

and saves all of it in one model file (:mod:`chainrule.io`).

Classification uses :class:`~chainrule.losses.CrossEntropy` on ``K`` logits for every ``K``,
binary included, so probabilities are always ``(N, K)`` rows like scikit-learn's
``predict_proba`` and one code path (and one ONNX graph) serves every classifier.

Regression standardizes the target, :math:`t = (y - \\mu_y) / s_y`, trains on :math:`t` and
maps predictions back, :math:`\\hat y = \\mu_y + s_y \\hat t`: a target in the hundreds of
thousands then trains with the same learning rate as one near 1. The training loss is in
these standardized units; the ``rmse`` metric is in the target's own units.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import devices
from chainrule.network import activations as activations_module
from chainrule.network import losses as losses_module
from chainrule.network.containers import Sequential, StateError
from chainrule.tabular import recipe
from chainrule.tabular.codec import TableCodec
from chainrule.tabular.columns import check_column, identifier_columns
from chainrule.tabular.data import DataError, problems_of, raise_problems, require_columns
from chainrule.tabular.ensemble import merge_members
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.tabular.runs import describe_history, saved_epoch  # noqa: F401  (re-exported)
from chainrule.tabular.targets import (
    TASKS,
    check_classification_target,
    check_regression_target,
    class_indices,
    infer_task,
)
from chainrule.training.callbacks import Callback
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel
from chainrule.training.trainer import Trainer

if TYPE_CHECKING:
    import pandas as pd


HIDDEN_ACTIVATIONS = tuple(
    name for name in activations_module.ACTIVATIONS if name not in ("softmax", "identity", "linear")
)
"""Every registered activation name that makes sense between layers (each class names itself)."""

DEFAULTS: dict[str, Any] = {
    "hidden": (128, 128),
    "ensemble": 4,
    "epochs": 100,
    "batch_size": 256,
    "early_stopping": True,
    "patience": 10,
    "impute": "median",
    "missing_indicator": True,
    "scale": "robust",
    "embed": "auto",
    "label_smoothing": 0.0,
    "lr_schedule": "constant",
    "l2": 1e-3,
}
"""The defaults of :meth:`TabularModel.fit`, ``chainrule train`` and ``TabularClassifier`` /
``TabularRegressor`` (docs/tables.md explains each and the benchmark that chose it)."""


def _labelled_rows(
    frame: pd.DataFrame, target: str, task: str | None, source: str, problems: list[str]
) -> tuple[pd.DataFrame, pd.Series, str, int]:
    """The rows with a target, the target column, the task, and how many rows had none.

    The target's problems (a type that does not fit the task, no values at all) are appended
    to ``problems``; rows whose target is missing teach nothing and are left out.
    """
    y_column = frame[target]
    try:
        check_column(y_column, target, source, "Target column")  # tabular/columns.py
    except DataError as exc:
        problems.extend(problems_of(exc))
    unlabelled = int(y_column.isna().sum())
    if unlabelled == len(frame):
        problems.append(
            f"Target column {target!r} in '{source}' has no values at all; name another "
            "column as the target."
        )
    elif unlabelled:
        frame = frame[y_column.notna().to_numpy()]
        y_column = frame[target]
    task = task or infer_task(y_column)
    present = y_column.dropna()
    if len(present) and not problems:  # the type check needs a column that reads as one
        try:
            if task == "classification":
                check_classification_target(present, target, source)
            else:
                check_regression_target(present, target, source)
        except DataError as exc:
            problems.extend(problems_of(exc))
    return frame, y_column, task, unlabelled


def _left_out(frame: pd.DataFrame, features: list[str], keep_ids: bool) -> dict[str, str]:
    """``{column: reason}``: identifiers (unless ``keep_ids``) and columns with no values."""
    left_out = {} if keep_ids else identifier_columns(frame, features)
    empty = [c for c in features if c not in left_out and frame[c].isna().all()]
    if len(empty) < len(features):  # an empty column carries nothing: leave it out, say so
        left_out.update(dict.fromkeys(empty, "it has no values"))
    return left_out


class TabularModel:
    """A trained network with its preprocessing, ready for tables.

    Parameters
    ----------
    network : Sequential
        Maps the encoded features ``(N, d)`` to logits ``(N, K)`` or a standardized target
        ``(N, 1)``.
    loss : Loss
        The training loss (its ``link`` maps logits to probabilities).
    task : {"classification", "regression"}
        What the model predicts.
    preprocessor : TablePreprocessor
        Fitted on the training table.
    target : str
        The target column's name.
    classes : list, optional
        Class labels in output order (classification).
    target_mean, target_scale : float
        :math:`\\mu_y, s_y` of a regression target.
    history : History, optional
        How training went.
    training : dict, optional
        The options it was trained with (JSON-able), shown by ``chainrule info``.
    """

    def __init__(
        self,
        network: Sequential,
        loss: losses_module.Loss,
        task: str,
        preprocessor: TablePreprocessor,
        target: str,
        classes: Sequence[Any] | None = None,
        target_mean: float = 0.0,
        target_scale: float = 1.0,
        history: History | None = None,
        training: dict[str, Any] | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}.")
        self.network, self.loss, self.task = network, loss, task
        self.preprocessor, self.target = preprocessor, target
        self.classes = list(classes) if classes is not None else None
        self.target_mean, self.target_scale = float(target_mean), float(target_scale)
        self.history = history if history is not None else History()
        self.training = dict(training or {})

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        target: str,
        *,
        task: str | None = None,
        hidden: Sequence[int] = DEFAULTS["hidden"],
        activation: str = "relu",
        optimizer: str = "adam",
        learning_rate: float | None = None,
        epochs: int = DEFAULTS["epochs"],
        batch_size: int | None = DEFAULTS["batch_size"],
        validation_split: float = 0.2,
        early_stopping: bool = DEFAULTS["early_stopping"],
        patience: int = DEFAULTS["patience"],
        seed: int | None = 0,
        impute: str = DEFAULTS["impute"],
        drop: Sequence[str] = (),
        embed: str | Sequence[str] | None = DEFAULTS["embed"],
        scale: str = DEFAULTS["scale"],
        missing_indicator: bool = DEFAULTS["missing_indicator"],
        keep_ids: bool = False,
        label_smoothing: float = DEFAULTS["label_smoothing"],
        lr_schedule: str = DEFAULTS["lr_schedule"],
        ensemble: int = DEFAULTS["ensemble"],
        callbacks: Sequence[Callback] = (),
        source: str = "the data",
        device: str = "cpu",
        dropout: float = 0.0,
        l2: float = DEFAULTS["l2"],
        l1: float = 0.0,
    ) -> tuple[TabularModel, Trainer]:
        """Build, preprocess and train a model on ``frame``; returns it and its trainer.

        ``dropout``, ``l2`` and ``l1`` regularize (:mod:`chainrule.tabular.recipe`).
        ``embed`` (``"auto"`` or column names) encodes those text columns as codes for a
        :class:`~chainrule.network.embedding.ColumnEmbedding` first layer instead of one-hot
        (:mod:`chainrule.tabular.preprocessing`); ``scale`` (``"robust"`` or ``"standard"``)
        and ``missing_indicator`` are the preprocessor's too. A column that looks like a row
        identifier (:func:`~chainrule.tabular.columns.identifier_columns`) is left out, and
        named in ``training["left_out"]``, unless ``keep_ids``; so is a column with no values.

        ``ensemble`` :math:`K` trains :math:`K` networks of the same shape, each from its own
        initial weights with its own random validation rows (``validation_split`` of them),
        and keeps their mean as one wider network (:mod:`chainrule.tabular.ensemble`); the
        model's ``history`` is the first member's (the last one's when Ctrl-C or a diverged
        loss ended training early), and ``training["ensemble"]`` lists the
        epoch each member kept. ``ensemble=1`` is a single network.

        ``label_smoothing`` :math:`\\varepsilon` softens a classifier's targets;
        ``lr_schedule="cosine"`` decays the learning rate over the planned steps
        (:func:`~chainrule.tabular.recipe.learning_rate_schedule`). With ``early_stopping``
        (the default) training stops when the validation loss has
        not improved for ``patience`` epochs and the weights of its best epoch are kept.

        Ctrl-C during training stops it at the end of the batch with the best weights seen
        (``history.stop_reason == "interrupted"``); the model is returned all the same.

        Raises
        ------
        DataError
            The target or a dropped column is missing, the target does not fit the task, or
            the features cannot be encoded.
        """
        require_columns(frame, [target], source, "given as target=")
        require_columns(frame, list(drop), source, "given to drop=")
        if activation not in HIDDEN_ACTIVATIONS:
            raise DataError(
                f"Unknown activation {activation!r}; choose one of {', '.join(HIDDEN_ACTIVATIONS)}."
            )
        if any(int(h) < 1 for h in hidden):
            raise DataError("Hidden layer widths must be positive integers, e.g. hidden=(64, 32).")
        if isinstance(ensemble, bool) or not isinstance(ensemble, int | np.integer) or ensemble < 1:
            raise DataError(
                f"ensemble must be a whole number of networks, 1 or more; got {ensemble!r}."
            )
        if task is not None and task not in TASKS:
            raise DataError(f"Unknown task {task!r}; choose classification or regression.")
        # Every problem of the table is collected and reported in one message: the target's
        # (missing values, a type that does not fit the task) and each feature column's.
        problems: list[str] = []
        frame, y_column, task, unlabelled = _labelled_rows(frame, target, task, source, problems)
        features = [c for c in frame.columns if c != target and c not in set(drop)]
        left_out = _left_out(frame, features, keep_ids)
        features = [c for c in features if c not in left_out]
        embed = embed if embed is None or isinstance(embed, str) else list(embed)
        pre = TablePreprocessor(impute, embed, scale, missing_indicator)
        try:
            pre.fit(frame, features, source)
        except DataError as exc:
            problems.extend(problems_of(exc))
        raise_problems(problems)
        X = pre.transform(frame, source).astype(recipe.DTYPE)  # the network follows X's dtype

        gen = np.random.default_rng(seed)
        init_rng, fit_rng = gen.spawn(2)
        classes, y_mean, y_scale = None, 0.0, 1.0
        if task == "classification":
            classes = check_classification_target(y_column, target, source)
            y = class_indices(y_column, classes, target, source)
        else:
            numbers = check_regression_target(y_column, target, source)
            y_mean = float(np.mean(numbers))
            y_scale = float(np.std(numbers)) or 1.0
            y = (numbers - y_mean) / y_scale
        n_out, loss, metrics = recipe.task_objective(task, classes, y_scale, label_smoothing)
        rows = round(len(X) * (1 - validation_split))
        steps = epochs * max(1, -(-rows // (batch_size or rows or 1)))
        on = None if device == "cpu" else device  # chainrule.devices; the weights come home
        started = time.perf_counter()
        members: list[Sequential] = []
        histories: list[History] = []
        for _ in range(ensemble):
            # member 0 draws exactly what a single network draws; each next one the next pair
            rate = recipe.learning_rate_schedule(optimizer, learning_rate, lr_schedule, steps)
            net, opt = recipe.network_and_optimizer(
                pre, X.shape[1], hidden, n_out, activation, dropout, optimizer, rate, l2, l1,
                init_rng,
            )  # fmt: skip
            run_callbacks = recipe.run_callbacks(callbacks, early_stopping, patience)
            trainer = Trainer(net, loss, opt, metrics=metrics, callbacks=run_callbacks, device=on)
            trainer.fit(
                X,
                y,
                epochs=epochs,
                batch_size=batch_size,
                rng=fit_rng,  # its own validation rows and batch order
                validation_split=validation_split,
                verbose=0,  # progress is the caller's callbacks (the CLI's bar)
            )
            net.to_namespace(np.empty(0))
            members.append(net)
            histories.append(trainer.history)
            if trainer.history.stop_reason in ("interrupted", "non_finite"):
                break  # Ctrl-C: the members trained so far are the model; NaN: no model
            init_rng, fit_rng = gen.spawn(2)
        net = merge_members(members)  # tabular/ensemble.py: their mean as one network
        cut_short = histories[-1].stop_reason in ("interrupted", "non_finite")
        history = histories[-1] if cut_short else histories[0]  # says why training ended
        kept = [saved_epoch(h, early_stopping) for h in histories]
        together = (
            {"ensemble": {"members": len(members), "epochs_kept": [
                None if k is None else k + 1 for k in kept
            ]}}
            if ensemble > 1
            else {}
        )  # fmt: skip
        training = recipe.run_record(
            trainer, started, source=source, rows=X.shape[0], hidden=hidden,
            activation=activation, optimizer=optimizer, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, early_stopping=early_stopping, patience=patience,
            seed=seed, dropout=dropout, l2=l2, l1=l1,
            extra={
                **together,
                **({"left_out": left_out} if left_out else {}),
                **({"unlabelled_rows": unlabelled} if unlabelled else {}),
            },
        )  # fmt: skip
        model = cls(net, loss, task, pre, target, classes, y_mean, y_scale, history, training)
        return model, trainer

    # -- inference --------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Width of the encoded input."""
        return self.preprocessor.n_features

    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """The encoded matrix ``(N, d)`` the network takes."""
        return self.preprocessor.transform(frame, source)

    def predict_proba_matrix(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, K)`` for an encoded matrix (classification only)."""
        if self.task != "classification":
            raise DataError(
                "Probabilities exist only for classification models; this one does regression."
            )
        # the softmax in float64 from the (float32) logits: each row sums to 1 to float64's eps
        return np.asarray(self.loss.link(np.asarray(self._output(X), dtype=np.float64)))

    def _output(self, X: np.ndarray) -> np.ndarray:
        """The network's raw output for ``X``, computed where its weights live, as NumPy."""
        where = devices.of(next(iter(self.network.params.values())))
        X = where.put(np.asarray(X, dtype=self.network.dtype))
        return devices.to_host(self.network.predict(X))

    def predict_matrix(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(N,)`` for an encoded matrix: class labels, or target values."""
        if self.task == "classification":
            index = np.argmax(self.predict_proba_matrix(X), axis=1)
            labels = np.empty(len(self.classes), dtype=object)
            labels[:] = self.classes
            return labels[index]
        out = np.asarray(self._output(X), dtype=np.float64)[:, 0]
        return out * self.target_scale + self.target_mean  # ŷ = μ_y + s_y t̂

    def predict_proba(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Class probabilities ``(N, K)`` for a raw table (columns in :attr:`classes` order)."""
        return self.predict_proba_matrix(self.transform(frame, source))

    def predict(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Class labels or target values ``(N,)`` for a raw table."""
        return self.predict_matrix(self.transform(frame, source))

    def encode_target(self, column: pd.Series, source: str = "the data") -> np.ndarray:
        """Class indices ``(N,)`` or target values ``(N,)`` of a target column, validated."""
        if column.isna().any():
            raise DataError(
                f"Target column {self.target!r} in '{source}' has missing values; remove those rows."
            )
        if self.task == "classification":
            return class_indices(column, self.classes, self.target, source)
        return check_regression_target(column, self.target, source)

    # -- the protocol of trained models (chainrule.training.protocol) -----------------------
    def trained_model(self) -> TrainedModel:
        """The five parts of :mod:`chainrule.training.protocol`; preprocessing is a :class:`TableCodec`."""
        codec = TableCodec(
            self.preprocessor,
            self.task,
            self.target_mean,
            self.target_scale,
            target=self.target,
            encode_target=self.encode_target,
        )
        proba = self.predict_proba if self.task == "classification" else None
        return TrainedModel(
            self.network,
            self.loss,
            self.history,
            codec,
            self.classes,
            proba,
            dict(self.training),
            self.predict,
        )

    # -- the model as data --------------------------------------------------------------------
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (the network's) and JSON (everything else), for :func:`chainrule.save`."""
        tensors, net_meta = self.network.state()
        meta = {
            "network": net_meta,
            "loss": {"type": type(self.loss).__name__, "config": self.loss.config()},
            "task": self.task,
            "target": self.target,
            "classes": self.classes,
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
            "preprocessing": self.preprocessor.to_dict(),
            "history": self.history.to_dict(),
            "training": self.training,
        }
        return tensors, meta

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> TabularModel:
        """Inverse of :meth:`state`; raises ``StateError`` when the parts do not fit."""
        net = Sequential.from_state(tensors, meta["network"])
        loss = losses_module.from_config(meta["loss"]["type"], meta["loss"]["config"])
        pre = TablePreprocessor.from_dict(meta["preprocessing"])
        model = cls(
            net,
            loss,
            meta["task"],
            pre,
            str(meta["target"]),
            meta["classes"],
            float(meta["target_mean"]),
            float(meta["target_scale"]),
            History.from_dict(meta["history"]),
            meta.get("training"),
        )
        n_in, n_out = net.in_features, net.output_dim(pre.n_features)
        expected_out = len(model.classes) if model.task == "classification" else 1
        if n_in != pre.n_features or n_out != expected_out:
            raise StateError(
                f"has a network that maps {n_in} inputs to {n_out} outputs, but its "
                f"preprocessing gives {pre.n_features} features and its task needs "
                f"{expected_out} outputs"
            )
        return model

    def __repr__(self) -> str:
        return (
            f"TabularModel(task={self.task!r}, target={self.target!r}, "
            f"features={self.n_features}, params={self.network.n_params})"
        )
