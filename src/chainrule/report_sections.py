"""The report's sections about data: scores on it, the confusion matrix or residuals, the
preprocessing table, and the model's own optimizer for the explained step.

Everything is read through :func:`chainrule.trained_model`: predictions from its
``predict_proba`` / ``predict`` (or ``loss.link(network.predict(x))``), class indices of a
table's label column from ``preprocessing.network_target``, the encoding from
``preprocessing.describe()`` and the optimizer from ``settings`` (a table model's
``optimizer`` and ``learning_rate``; an estimator's ``solver``, ``learning_rate_init`` and
moments). Scores are computed here with NumPy; the tests check them against scikit-learn.

===================== =========================================================================
score                 definition (:math:`N` rows, :math:`K` classes)
===================== =========================================================================
accuracy              :math:`\\frac1N \\sum_n [\\hat c_n = c_n]`
log-loss              :math:`-\\frac1N \\sum_n \\log p_{n, c_n}` (probabilities clipped to
                      :math:`[10^{-15}, 1]`)
RMSE                  :math:`\\sqrt{\\frac1N \\sum_n (y_n - \\hat y_n)^2}`
MAE                   :math:`\\frac1N \\sum_n |y_n - \\hat y_n|`
R²                    :math:`1 - \\sum_n (y_n - \\hat y_n)^2 / \\sum_n (y_n - \\bar y)^2`
===================== =========================================================================
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.network import optimizers as optimizers_module
from chainrule.network.optimizers import GradientTransformation
from chainrule.plots.common import DEFAULT_SIZE, figure, png_bytes
from chainrule.training.protocol import TrainedModel

MATRIX_LIMIT = 8
"""Matrices in the explained step with more rows or columns than this are abbreviated."""


# -- scores on the given data ----------------------------------------------------------------
@dataclass
class Scores:
    """Predictions on the given data and their scores.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    values : dict of str to float
        ``accuracy`` and ``log_loss``, or ``rmse``, ``mae`` and ``r2``.
    confusion : ndarray of int, shape (K, K) or None
        Rows: true class, columns: predicted class, in the model's class order.
    classes : list or None
        The class labels.
    truth, predicted : ndarray, shape (N,)
        Regression targets and predictions (for the residual plot); class indices otherwise.
    """

    task: str
    values: dict[str, float]
    confusion: np.ndarray | None
    classes: list[Any] | None
    truth: np.ndarray
    predicted: np.ndarray


def _class_indices(trained: TrainedModel, y: Any) -> np.ndarray:
    """The true class of each row as an index into ``trained.classes``."""
    y = np.asarray(y).reshape(-1)
    if trained.preprocessing is not None:  # the model's own label encoding
        return np.asarray(trained.preprocessing.network_target(y), dtype=np.int64)
    classes = list(trained.classes or [])
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = [v for v in y if v not in lookup]
    if unknown:
        raise ValueError(
            f"The labels include {unknown[0]!r}, which is not one of the model's classes "
            f"({', '.join(str(c) for c in classes)})."
        )
    return np.array([lookup[v] for v in y], dtype=np.int64)


def classification_scores(trained: TrainedModel, X: Any, y: Any) -> Scores:
    """Accuracy, log-loss and the confusion matrix of a classifier on ``(X, y)``."""
    if trained.predict_proba is None or not trained.classes:
        raise ValueError("This classifier gives no probabilities to score.")
    proba = np.asarray(trained.predict_proba(X), dtype=np.float64)
    truth = _class_indices(trained, y)
    predicted = np.argmax(proba, axis=1)
    k, n = proba.shape[1], truth.shape[0]
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    p_true = np.clip(proba[np.arange(n), truth], 1e-15, 1.0)
    values = {
        "accuracy": float(np.mean(predicted == truth)),
        "log_loss": float(-np.mean(np.log(p_true))),
    }
    return Scores("classification", values, confusion, list(trained.classes), truth, predicted)


def regression_scores(trained: TrainedModel, X: Any, y: Any) -> Scores:
    """RMSE, MAE and R² of a regressor on ``(X, y)``, in the target's units."""
    if trained.predict is not None:
        predicted = np.asarray(trained.predict(X), dtype=np.float64)
    else:
        out = trained.network.predict(np.asarray(X, dtype=trained.network.dtype))
        link = trained.loss.link if trained.loss is not None else (lambda o: o)
        predicted = np.asarray(link(out), dtype=np.float64)
    truth = np.asarray(y, dtype=np.float64).reshape(predicted.shape[0], -1)
    predicted = predicted.reshape(truth.shape)
    if truth.shape[1] != 1:
        raise ValueError("Scores are shown for one target column; this model predicts several.")
    truth, predicted = truth[:, 0], predicted[:, 0]
    residual = truth - predicted
    total = float(np.sum((truth - truth.mean()) ** 2))
    values = {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else float("nan"),
    }
    return Scores("regression", values, None, None, truth, predicted)


def model_scores(trained: TrainedModel, X: Any, y: Any) -> Scores:
    """Scores of a classifier (it has classes) or a regressor on the given data."""
    if trained.classes:
        return classification_scores(trained, X, y)
    return regression_scores(trained, X, y)


_NAMES = {"accuracy": "accuracy", "log_loss": "log-loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def figure_html(fig: Any, title: str, caption: str, dpi: int = 100) -> str:
    """A figure as an HTML ``<figure>`` with its PNG embedded as a ``data:`` URL."""
    width, height = (round(float(v) * dpi) for v in fig.get_size_inches())
    data = base64.b64encode(png_bytes(fig, dpi)).decode("ascii")
    esc = html.escape
    return (
        f"<figure><h3>{esc(title)}</h3>"
        f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
        f'alt="{esc(title)}"><figcaption>{esc(caption)}</figcaption></figure>'
    )


def _confusion_html(scores: Scores) -> str:
    assert scores.confusion is not None and scores.classes is not None
    esc = html.escape
    labels = [esc(str(c)) for c in scores.classes]
    head = "<tr><th>true ↓ · predicted →</th>" + "".join(f"<th>{c}</th>" for c in labels) + "</tr>"
    body = "".join(
        f"<tr><th>{labels[i]}</th>"
        + "".join(
            f'<td class="{"hit" if i == j else "miss"}">{int(v)}</td>' for j, v in enumerate(row)
        )
        + "</tr>"
        for i, row in enumerate(scores.confusion)
    )
    return (
        "<h3>Confusion matrix</h3>"
        f'<table class="confusion"><thead>{head}</thead><tbody>{body}</tbody></table>'
        "<p class='note'>Rows: the true class; columns: the class the model predicts "
        "(its most probable). The diagonal counts correct predictions.</p>"
    )


def _residual_figure(scores: Scores) -> Any:
    fig = figure(DEFAULT_SIZE)
    ax = fig.subplots()
    residual = scores.truth - scores.predicted
    ax.scatter(scores.predicted, residual, s=12, alpha=0.7, edgecolors="k", linewidths=0.3)
    ax.axhline(0.0, color="k", linewidth=1)
    ax.set_xlabel("prediction ŷ")
    ax.set_ylabel("residual y − ŷ")
    ax.set_title("residuals")
    return fig


def scores_section(trained: TrainedModel, X: Any, y: Any, dpi: int = 100) -> str:
    """The "Scores on the given data" section's body (scores, confusion matrix or residuals)."""
    esc = html.escape
    try:
        scores = model_scores(trained, X, y)
    except (ValueError, KeyError, TypeError) as exc:
        return f"<p class='note'>No scores: {esc(str(exc))}</p>"
    n = scores.truth.shape[0]
    rows = "".join(
        f'<tr><th>{_NAMES[k]}</th><td data-score="{k}" data-value="{v!r}">{v:.6g}</td></tr>'
        for k, v in scores.values.items()
    )
    parts = [
        f"<p>The model's predictions on the {n:,} rows given with the report (pass a file "
        "it was not trained on for a held-out estimate).</p>",
        f'<table class="scores"><tbody>{rows}</tbody></table>',
    ]
    if scores.confusion is not None:
        parts.append(_confusion_html(scores))
    else:
        parts.append(
            figure_html(
                _residual_figure(scores),
                "Residuals",
                "Each row's error y − ŷ against its prediction ŷ; a good fit scatters evenly "
                "around zero with no trend or funnel.",
                dpi,
            )
        )
    return "".join(parts)


def preprocessing_section(trained: TrainedModel) -> str | None:
    """The encoding of each input column as a ``<pre>`` table, or ``None`` without one."""
    codec = trained.preprocessing
    if codec is None:
        return None
    return (
        "<p>How each raw column becomes the network's input (fitted on the training data):</p>"
        f'<pre class="preprocessing">{html.escape(codec.describe())}</pre>'
    )


# -- the model's own optimizer -----------------------------------------------------------------
def _number(settings: dict[str, Any], key: str, default: float) -> float:
    value = settings.get(key)
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def model_optimizer(
    trained: TrainedModel, learning_rate: float | None = None
) -> tuple[GradientTransformation | None, str]:
    """The optimizer the model was trained with, rebuilt from its settings, and its name.

    A table model records ``optimizer`` and ``learning_rate`` (and ``l2``, its weight decay);
    an estimator its ``solver``, ``learning_rate_init`` and moments. ``learning_rate``
    overrides the recorded rate. Returns ``(None, reason)`` when none can be rebuilt (a bare
    network, or L-BFGS, which has no one-step rule): the caller then explains plain gradient
    descent.
    """
    s = trained.settings
    if isinstance(s.get("optimizer"), str):  # a table model
        name = s["optimizer"]
        lr = learning_rate if learning_rate is not None else _number(s, "learning_rate", 1e-3)
        kwargs: dict[str, Any] = {"learning_rate": lr}
        if _number(s, "l2", 0.0):
            kwargs["weight_decay"] = _number(s, "l2", 0.0)
        return optimizers_module.get(name, **kwargs), f"{name} (η = {lr:g})"
    solver = s.get("solver")
    if not isinstance(solver, str):
        return None, "this model records no optimizer"
    if solver == "lbfgs":
        return None, "L-BFGS (the model's solver) has no one-step update rule"
    lr = learning_rate if learning_rate is not None else _number(s, "learning_rate_init", 1e-3)
    b1, b2 = _number(s, "beta_1", 0.9), _number(s, "beta_2", 0.999)
    eps = _number(s, "epsilon", 1e-8)
    if solver == "sgd":
        momentum = _number(s, "momentum", 0.0)
        nesterov = bool(s.get("nesterovs_momentum")) and momentum > 0
        opt = optimizers_module.sgd(lr, momentum=momentum, nesterov=nesterov)
        return opt, f"sgd (η = {lr:g}, momentum {momentum:g}{', Nesterov' if nesterov else ''})"
    if solver == "adamw":
        decay = _number(s, "alpha", 0.0)
        return optimizers_module.adamw(lr, b1, b2, eps, decay), f"adamw (η = {lr:g})"
    if solver == "adam":  # the estimators' Adam: ε where scikit-learn puts it
        opt = optimizers_module.adam(lr, b1, b2, eps, eps_placement="sklearn")
        return opt, f"adam (η = {lr:g})"
    if solver == "rmsprop":
        return optimizers_module.rmsprop(lr, eps=eps), f"rmsprop (η = {lr:g})"
    return optimizers_module.get(solver, learning_rate=lr), f"{solver} (η = {lr:g})"
