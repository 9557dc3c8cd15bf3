"""scikit-learn estimators for DataFrames: :class:`TabularClassifier` and :class:`TabularRegressor`.

They are :meth:`TabularModel.fit <chainrule.tabular.model.TabularModel.fit>` behind
scikit-learn's interface, with the same defaults as ``chainrule train`` (median imputation
with missing indicators, robust scaling with a smooth clip, one-hot or embedded text by
cardinality, identifier columns left out, early stopping keeping the best epoch). They take a
pandas ``DataFrame`` with numbers, text, categories and missing values — or any numeric
array, whose columns are then named ``x0, x1, …`` — so they work in ``cross_val_score``,
``GridSearchCV`` and a ``Pipeline``, are saved with :func:`chainrule.save` and exported with
:func:`chainrule.export_onnx`. (:class:`chainrule.MLPClassifier` and
:class:`chainrule.MLPRegressor` stay scikit-learn's MLPs with scikit-learn's defaults.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import assert_all_finite, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    validate_data,
)

from chainrule.tabular.model import DEFAULTS, HIDDEN_ACTIVATIONS, TabularModel
from chainrule.tabular.preprocessing import IMPUTE_CHOICES, SCALE_CHOICES
from chainrule.training.protocol import TrainedModel

TARGET = "__target__"
"""The target's column name inside the table handed to :meth:`TabularModel.fit`."""


def _seed(random_state: Any) -> int | None:
    """An integer seed (or ``None``: fresh entropy) from scikit-learn's ``random_state``."""
    if random_state is None or isinstance(random_state, Integral):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state.integers(np.iinfo(np.int32).max))  # a Generator


class _TabularEstimator(BaseEstimator):
    """What both estimators share; use :class:`TabularClassifier` or :class:`TabularRegressor`."""

    _task: ClassVar[str]
    _parameter_constraints: ClassVar[dict] = {
        "hidden": ["array-like"],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "learning_rate": [None, Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "impute": [StrOptions(set(IMPUTE_CHOICES))],
        "missing_indicator": ["boolean"],
        "scale": [StrOptions(set(SCALE_CHOICES))],
        "embed": [None, StrOptions({"auto"}), list],
        "keep_ids": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "ensemble": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        hidden: Sequence[int] = DEFAULTS["hidden"],
        activation: str = "relu",
        learning_rate: float | None = None,
        epochs: int = DEFAULTS["epochs"],
        batch_size: int | None = DEFAULTS["batch_size"],
        validation_split: float = 0.2,
        early_stopping: bool = DEFAULTS["early_stopping"],
        patience: int = DEFAULTS["patience"],
        impute: str = DEFAULTS["impute"],
        missing_indicator: bool = DEFAULTS["missing_indicator"],
        scale: str = DEFAULTS["scale"],
        embed: str | list[str] | None = DEFAULTS["embed"],
        keep_ids: bool = False,
        dropout: float = 0.0,
        l2: float = DEFAULTS["l2"],
        ensemble: int = DEFAULTS["ensemble"],
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.impute = impute
        self.missing_indicator = missing_indicator
        self.scale = scale
        self.embed = embed
        self.keep_ids = keep_ids
        self.dropout = dropout
        self.l2 = l2
        self.ensemble = ensemble
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.random_state is None
        return tags

    # -- input ----------------------------------------------------------------------------------
    def _table(self, X: Any, reset: bool) -> Any:
        """``X`` as a DataFrame with string column names (arrays: numeric, named ``x0 …``)."""
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            _check_feature_names(self, X, reset=reset)
            _check_n_features(self, X, reset=reset)
            if X.shape[0] < 1:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                    "required."
                )
            frame = X.copy()
            frame.columns = [str(c) for c in X.columns]
            return frame.reset_index(drop=True)
        X = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def _fit_table(self, X: Any, y: np.ndarray) -> TabularModel:
        self._validate_params()
        frame = self._table(X, reset=True)
        if len(frame) < 2:
            raise ValueError(
                f"X has {len(frame)} sample(s), n_samples={len(frame)}; fitting needs at least 2 "
                "(rows are split into training and validation rows)."
            )
        if len(y) != len(frame):
            raise ValueError(
                f"X has {len(frame)} rows but y has {len(y)}; give one target value per row."
            )
        if TARGET in frame.columns:
            raise ValueError(f"X may not have a column named {TARGET!r}; rename it.")
        frame[TARGET] = y
        model, _ = TabularModel.fit(
            frame,
            TARGET,
            task=self._task,
            hidden=tuple(int(h) for h in np.atleast_1d(self.hidden)),
            activation=self.activation,
            learning_rate=self.learning_rate,
            epochs=self.epochs,
            batch_size=self.batch_size,
            validation_split=self.validation_split,
            early_stopping=self.early_stopping,
            patience=self.patience,
            seed=_seed(self.random_state),
            impute=self.impute,
            missing_indicator=self.missing_indicator,
            scale=self.scale,
            embed=self.embed,
            keep_ids=self.keep_ids,
            dropout=self.dropout,
            l2=self.l2,
            ensemble=int(self.ensemble),
        )
        self.model_ = model
        self.n_iter_ = len(model.history)
        self.left_out_ = dict(model.training.get("left_out", {}))
        return model

    def _encoded(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.transform(self._table(X, reset=False))

    # -- the model as data -------------------------------------------------------------------------
    def trained_model(self) -> TrainedModel:
        """The fitted :class:`TabularModel`'s protocol parts (for export, reports, plots).

        A classifier's model is trained on class indices; its parts name :attr:`classes_`.
        """
        check_is_fitted(self, "model_")
        parts = self.model_.trained_model()
        if not hasattr(self, "classes_"):
            return dataclasses.replace(parts, predict=self.predict)
        return dataclasses.replace(parts, classes=self.classes_.tolist(), predict=self.predict)

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted model's arrays and JSON, plus the estimator's parameters and classes."""
        check_is_fitted(self, "model_")
        tensors, meta = self.model_.state()
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        params["hidden"] = [int(h) for h in np.atleast_1d(self.hidden)]
        fitted: dict[str, Any] = {"n_features_in_": int(self.n_features_in_)}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(c) for c in self.feature_names_in_]
        if hasattr(self, "classes_"):
            classes = np.asarray(self.classes_)
            if classes.dtype.kind == "O":
                classes = classes.astype(str)
            fitted["classes"] = {"dtype": classes.dtype.str, "values": classes.tolist()}
        meta["estimator"] = {"params": params, "fitted": fitted}
        return tensors, meta

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Any:
        """Inverse of :meth:`state`."""
        meta = dict(meta)
        saved = meta.pop("estimator")
        estimator = cls(**saved["params"])
        estimator.model_ = TabularModel.from_state(tensors, meta)
        fitted = saved["fitted"]
        estimator.n_features_in_ = int(fitted["n_features_in_"])
        if "feature_names_in_" in fitted:
            estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        if "classes" in fitted:
            classes = fitted["classes"]
            estimator.classes_ = np.asarray(classes["values"], dtype=np.dtype(classes["dtype"]))
        estimator.n_iter_ = len(estimator.model_.history)
        estimator.left_out_ = dict(estimator.model_.training.get("left_out", {}))
        return estimator


class TabularClassifier(ClassifierMixin, _TabularEstimator):
    """A classifier for tables with ``chainrule train``'s defaults, as a scikit-learn estimator.

    The rows of ``X`` (a DataFrame, or a numeric array) are encoded by a
    :class:`~chainrule.tabular.preprocessing.TablePreprocessor` fitted on the training rows
    and fed to a ReLU network :math:`\\mathbb{R}^d \\to \\mathbb{R}^K` trained with Adam on
    cross-entropy; :math:`P(y = k \\mid x)` is the softmax of its ``K`` outputs.

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers.
    activation : str
        Hidden activation.
    learning_rate : float, optional
        Adam's step size (``None``: its default).
    epochs : int
        Most passes over the training rows.
    batch_size : int or None
        Rows per update (``None``: all rows, full-batch).
    validation_split : float
        Fraction of the rows held out to score each epoch and choose the weights.
    early_stopping : bool
        Stop when the validation loss has not improved for ``patience`` epochs and keep the
        weights of the best epoch.
    patience : int
        Epochs without improvement to wait.
    impute : {"median", "mean", "error"}
        Missing numbers filled with the training median or mean, or refused.
    missing_indicator : bool
        A 0/1 column per numeric column with missing training values, and a ``<missing>``
        level per such text column.
    scale : {"robust", "standard"}
        Numeric scaling: median / IQR with a smooth clip to :math:`\\pm 3`, or mean / sd.
    embed : "auto", list of str or None
        Text columns learned as embeddings (``"auto"``: those with more than ten levels).
    keep_ids : bool
        Keep columns that look like row identifiers (left out by default, named in
        ``left_out_``).
    dropout, l2 : float
        Dropout after each hidden activation; L2 penalty.
    ensemble : int
        How many networks of the same shape are trained (each with its own initial weights
        and validation rows) and averaged into the one model; 1 is a single network.
    random_state : int, RandomState, Generator or None
        Seeds the weights, the validation split and the batches.

    Attributes
    ----------
    classes_ : ndarray, shape (K,)
        The class labels.
    model_ : TabularModel
        The fitted model (network, preprocessing, history).
    n_iter_ : int
        Epochs run.
    left_out_ : dict
        Columns left out as identifiers, with the reason.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame.
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> TabularClassifier:
        """Fit on a table ``X`` ``(N, columns)`` and labels ``y`` ``(N,)``."""
        y = column_or_1d(np.asarray(y), warn=True)
        if y.dtype.kind in "fc":
            assert_all_finite(y, input_name="y")  # "Input y contains NaN", not a cast warning
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self._fit_table(X, codes.astype(np.int64))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)``, columns in :attr:`classes_` order."""
        encoded = self._encoded(X)  # checks it is fitted first
        return self.model_.predict_proba_matrix(encoded)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, ``(N,)``."""
        proba = self.predict_proba(X)  # checks it is fitted first
        return self.classes_[np.argmax(proba, axis=1)]


class TabularRegressor(RegressorMixin, _TabularEstimator):
    """A regressor for tables with ``chainrule train``'s defaults, as a scikit-learn estimator.

    As :class:`TabularClassifier` (same parameters), with one output trained by mean squared
    error on the standardized target :math:`t = (y - \\mu_y)/s_y` and mapped back,
    :math:`\\hat y = \\mu_y + s_y \\hat t`.
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> TabularRegressor:
        """Fit on a table ``X`` ``(N, columns)`` and targets ``y`` ``(N,)``."""
        y = np.asarray(y)
        if np.iscomplexobj(y):
            raise ValueError("Complex data not supported; give real target values.")
        y = column_or_1d(y.astype(np.float64), warn=True)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity; remove those rows.")
        self._fit_table(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets ``(N,)``."""
        encoded = self._encoded(X)  # checks it is fitted first
        return self.model_.predict_matrix(encoded)
