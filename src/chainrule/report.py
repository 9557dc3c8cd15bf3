"""A one-page HTML report of a model: architecture, training history, plots and an explain trace
(with data: scores, a confusion matrix or residual plot).

The page is self-contained: the plots are PNGs embedded as ``data:`` URLs, the style sheet is
inline, there is no script, and a Content-Security-Policy forbids loading anything from
anywhere, so the file opens offline, can be mailed, and never reaches the network.

Sections about data
-------------------
The report's sections about data: scores on it, the confusion matrix or residuals, the
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
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._version import __version__
from chainrule.explain import StepTrace, explain_step
from chainrule.extras import require
from chainrule.io import atomic_write_text
from chainrule.lecture import LEARNING_RATE
from chainrule.network import optimizers as optimizers_module
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.network.losses import CrossEntropy, Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.plots import (
    DEFAULT_SIZE,
    figure,
    model_parts,
    plot_decision_boundary,
    plot_gradient_norms,
    plot_loss,
    plot_weight_histograms,
    png_bytes,
)
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel, trained_model

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
def _setting(settings: dict[str, Any], key: str, default: float) -> float:
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
        lr = learning_rate if learning_rate is not None else _setting(s, "learning_rate", 1e-3)
        kwargs: dict[str, Any] = {"learning_rate": lr}
        if _setting(s, "l2", 0.0):
            kwargs["weight_decay"] = _setting(s, "l2", 0.0)
        return optimizers_module.get(name, **kwargs), f"{name} (η = {lr:g})"
    solver = s.get("solver")
    if not isinstance(solver, str):
        return None, "this model records no optimizer"
    if solver == "lbfgs":
        return None, "L-BFGS (the model's solver) has no one-step update rule"
    lr = learning_rate if learning_rate is not None else _setting(s, "learning_rate_init", 1e-3)
    b1, b2 = _setting(s, "beta_1", 0.9), _setting(s, "beta_2", 0.999)
    eps = _setting(s, "epsilon", 1e-8)
    if solver == "sgd":
        momentum = _setting(s, "momentum", 0.0)
        nesterov = bool(s.get("nesterovs_momentum")) and momentum > 0
        opt = optimizers_module.sgd(lr, momentum=momentum, nesterov=nesterov)
        return opt, f"sgd (η = {lr:g}, momentum {momentum:g}{', Nesterov' if nesterov else ''})"
    if solver == "adamw":
        decay = _setting(s, "alpha", 0.0)
        return optimizers_module.adamw(lr, b1, b2, eps, decay), f"adamw (η = {lr:g})"
    if solver == "adam":  # the estimators' Adam: ε where scikit-learn puts it
        opt = optimizers_module.adam(lr, b1, b2, eps, eps_placement="sklearn")
        return opt, f"adam (η = {lr:g})"
    if solver == "rmsprop":
        return optimizers_module.rmsprop(lr, eps=eps), f"rmsprop (η = {lr:g})"
    return optimizers_module.get(solver, learning_rate=lr), f"{solver} (η = {lr:g})"


CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""Nothing may load except the embedded images and the inline style sheet."""

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1d232a; background: #fafafa; }
main { max-width: 980px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { margin-bottom: 0.2rem; } .subtitle { color: #5b6570; margin-top: 0; }
section { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px;
          padding: 0.5rem 1.25rem 1rem; margin: 1.25rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 0.3rem 0.7rem; text-align: left;
         vertical-align: top; }
th { background: #f3f5f7; }
pre { margin: 0; font-size: 0.85rem; }
figure { margin: 1rem 0; } figcaption { color: #5b6570; font-size: 0.9rem; }
img { max-width: 100%; height: auto; border: 1px solid #eef0f2; }
.explain { overflow-x: auto; }
.explain pre { font-size: 0.76rem; } .explain td, .explain th { padding: 0.25rem 0.45rem; }
.note { color: #5b6570; font-size: 0.9rem; }
table.confusion td { text-align: right; min-width: 3rem; }
table.confusion td.hit { background: #e6f4ea; font-weight: 600; }
table.scores td { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: #8a939c; font-size: 0.8rem; text-align: center; }
"""


@dataclass
class _Figure:
    title: str
    caption: str
    png: bytes
    width: int
    height: int


def _render(fig: Any, title: str, caption: str, dpi: int) -> _Figure:
    width, height = (round(float(v) * dpi) for v in fig.get_size_inches())
    return _Figure(title, caption, png_bytes(fig, dpi), width, height)


def _table(header: list[str] | None, rows: list[list[str]]) -> str:
    esc = html.escape
    head = ""
    if header is not None:
        head = "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _architecture_rows(network: Sequential) -> list[list[str]]:
    rows = []
    width = network.in_features
    for layer in network.layers:
        width = layer.output_dim(width) if width is not None else None
        count = sum(int(np.prod(v.shape)) for v in layer.params.values())
        rows.append([layer.name or "", type(layer).__name__, f"(N, {width})", str(count)])
    rows.append(["total", "", "", str(network.n_params)])
    return rows


def _number(value: float) -> str:
    return f"{value:.5g}" if math.isfinite(value) else str(value)


def _history_rows(history: History) -> list[list[str]]:
    h = history.history
    best = history.best_epoch
    rows = []
    for key, values in h.items():
        if key.startswith("grad_norm/") or not values:
            continue
        at_best = _number(values[best]) if best is not None and best < len(values) else ""
        rows.append([key, _number(values[-1]), at_best, _number(min(values)), _number(max(values))])
    return rows


def explain_sample(
    trained: TrainedModel, X: Any, y: Any, rng_seed: int = 0, rows: int = 1
) -> tuple[np.ndarray, np.ndarray, Loss | None, str]:
    """The network-space input and target of an explained step, and where they came from.

    With data, the first ``rows`` rows (through the model's preprocessing, when it has one);
    without, one standard-normal input drawn with ``rng_seed`` and a zero (or class 0) target.
    """
    network, loss, codec = trained.network, trained.loss, trained.preprocessing
    if X is not None and y is not None:
        if codec is not None:  # a model that takes tables
            import pandas as pd

            frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
            x = codec.network_input(frame.iloc[:rows])
            t = codec.network_target(np.asarray(y).reshape(-1)[:rows])
            where = "the first row" if rows == 1 else f"the first {rows} rows"
            return x, t, loss, f"{where} of the data, after the model's preprocessing"
        x = np.asarray(X, dtype=np.float64)[:rows]
        t = np.asarray(y)[:rows]
        return x, t, loss, "the first row of the data" if rows == 1 else f"the first {rows} rows"
    gen = np.random.default_rng(rng_seed)
    d_in = network.in_features or 1
    x = gen.standard_normal((1, d_in))
    d_out = network.output_dim(d_in)
    if isinstance(loss, CrossEntropy):
        t = np.zeros(1, dtype=np.int64)
        what = "class 0"
    else:
        t = np.zeros((1, d_out))
        what = "zeros"
    return (
        x,
        t,
        loss,
        f"a synthetic input drawn from N(0, 1) (seed {rng_seed}) with target {what}, as no data was given",
    )


def _explain_section(
    trained: TrainedModel, X: Any, y: Any, learning_rate: float | None, precision: int
) -> str:
    """One training step of the model's own optimizer on the first row (or a synthetic one)."""
    esc = html.escape
    try:
        x, t, loss, origin = explain_sample(trained, X, y, rng_seed=0)
        optimizer, which = model_optimizer(trained, learning_rate)
        rate = learning_rate
        if rate is None:
            recorded = trained.settings.get("learning_rate")
            rate = float(recorded) if isinstance(recorded, int | float) else None
        rate = LEARNING_RATE if rate is None else rate
        trace: StepTrace = explain_step(trained.network, x, t, loss, optimizer, learning_rate=rate)
    except (ValueError, KeyError, TypeError) as exc:
        return f"<p class='note'>No explain trace: {esc(str(exc))}</p>"
    if optimizer is not None:
        trace.optimizer_description = (
            f"the model's own optimizer, {which}: W⁺ = W + Δ, its first step from a fresh "
            "state (moments and momentum start at zero)"
        )
        how = f"One step of the model's own optimizer, {which},"
    else:
        how = f"One plain gradient-descent step (η = {rate:g}; {which})"
    intro = (
        f'<p class="optimizer">{esc(how)} on {esc(origin)}, in the lecture\'s notation: every '
        "value of the forward pass, the backward pass (the chain rule, layer by layer) and the "
        "update, computed by the network's own layers. Matrices wider or taller than "
        f"{MATRIX_LIMIT} show their first and last rows and columns; the shape column gives "
        "the full size.</p>"
    )
    return intro + trace.html(precision, limit=MATRIX_LIMIT)


def build_report(
    model: Any,
    X: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    learning_rate: float | None = None,
    dpi: int = 100,
    precision: int = 5,
) -> str:
    """The report as one HTML string.

    Parameters
    ----------
    model : Sequential, model bundle or estimator
        What to report on (see :func:`chainrule.plots.model_parts`).
    X, y : optional
        Data for the scores, confusion matrix or residual plot
        (below), the decision boundary (when the model classifies)
        and the explained step (its first row). For a model bundle ``X`` is the
        raw table (a ``DataFrame``) and ``y`` the target column.
    title : str, optional
        The page title.
    learning_rate : float, optional
        :math:`\\eta` of the explained gradient-descent step (default: the model's recorded
        training rate, else 0.1).
    dpi : int
        Resolution of the embedded plots.
    precision : int
        Significant digits in the explain trace.
    """
    parts = model_parts(model)
    trained = trained_model(model)
    network, history = parts.network, parts.history
    esc = html.escape
    name = title or f"chainrule model report — {type(parts.source).__name__}"
    sections: list[str] = []

    # -- architecture -------------------------------------------------------------------------
    info_rows = [["parameters", f"{network.n_params:,}"], ["dtype", network.dtype]]
    if trained.preprocessing is not None:
        info_rows += [["task", trained.preprocessing.task]]
        info_rows += [["target", trained.preprocessing.target]]
    classes = trained.classes
    if classes:
        info_rows.append(["classes", ", ".join(str(c) for c in classes)])
    if parts.loss is not None:
        info_rows.append(["loss", repr(parts.loss)])
    sections.append(
        '<section id="architecture"><h2>Architecture</h2>'
        + _table(["layer", "type", "output", "parameters"], _architecture_rows(network))
        + _table(None, info_rows)
        + "</section>"
    )

    preprocessing = preprocessing_section(trained)
    if preprocessing is not None:
        sections.append(
            f'<section id="preprocessing"><h2>Preprocessing</h2>{preprocessing}</section>'
        )

    # -- training -----------------------------------------------------------------------------
    training = trained.settings
    if history is not None and len(history):
        summary = [
            ["epochs run", str(len(history))],
            ["stopped", history.stop_reason or "completed all epochs"],
        ]
        if history.best_epoch is not None:
            summary.append(["best epoch", str(history.best_epoch + 1)])
        summary += [[str(k), str(v)] for k, v in training.items()]
        body = _table(None, summary) + _table(
            ["quantity", "last", "at best epoch", "min", "max"], _history_rows(history)
        )
    else:
        body = "<p class='note'>This model carries no training history.</p>"
    sections.append(f'<section id="training"><h2>Training</h2>{body}</section>')

    if X is not None and y is not None:
        sections.append(
            '<section id="scores"><h2>Scores on the given data</h2>'
            + scores_section(trained, X, y, dpi)
            + "</section>"
        )

    # -- plots --------------------------------------------------------------------------------
    figures: list[_Figure] = []
    notes: list[str] = []
    if history is not None and len(history):
        figures.append(
            _render(plot_loss(history), "Loss", "Training and validation loss per epoch.", dpi)
        )
        if any(k.startswith("grad_norm/") for k in history.history):
            figures.append(
                _render(
                    plot_gradient_norms(history),
                    "Gradient norm per layer",
                    "‖∂L/∂W‖₂ of each layer per epoch (log scale); layers far below the others "
                    "learn slowly (a vanishing gradient).",
                    dpi,
                )
            )
    figures.append(
        _render(
            plot_weight_histograms(model, include_bias=True),
            "Weights",
            "Distribution of each Dense layer's weights and biases.",
            dpi,
        )
    )
    if X is not None and y is not None:
        try:
            fig = plot_decision_boundary(model, X, np.asarray(y).reshape(-1))
            figures.append(
                _render(fig, "Decision boundary", "The classifier's regions and the data.", dpi)
            )
        except (ValueError, KeyError, TypeError) as exc:
            notes.append(f"No decision boundary: {exc}")
    blocks = []
    for f in figures:
        data = base64.b64encode(f.png).decode("ascii")
        blocks.append(
            f"<figure><h3>{esc(f.title)}</h3>"
            f'<img src="data:image/png;base64,{data}" width="{f.width}" height="{f.height}" '
            f'alt="{esc(f.title)}"><figcaption>{esc(f.caption)}</figcaption></figure>'
        )
    blocks += [f"<p class='note'>{esc(n)}</p>" for n in notes]
    sections.append('<section id="plots"><h2>Plots</h2>' + "".join(blocks) + "</section>")

    # -- one step, explained ------------------------------------------------------------------
    explain_html = _explain_section(trained, X, y, learning_rate, precision)
    sections.append(
        f'<section id="explain"><h2>One training step, explained</h2>{explain_html}</section>'
    )

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(name)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{esc(name)}</h1>\n"
        f'<p class="subtitle">{len(network.layers)} layers, {network.n_params:,} parameters, '
        f"{sum(isinstance(layer, Dense) for layer in network.layers)} Dense.</p>\n"
        + "\n".join(sections)
        + f"\n<footer>Written by chainrule {esc(__version__)}. Self-contained: images are "
        "embedded and nothing is loaded from the network.</footer>\n</main>\n</body>\n</html>\n"
    )


def write_report(
    model: Any, path: str | os.PathLike[str], X: Any = None, y: Any = None, **options: Any
) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically (never a half-written file).

    Parameters
    ----------
    model, X, y, options
        As for :func:`build_report`.
    path : str or path
        The ``.html`` file to write.
    """

    require("matplotlib", purpose="The report")
    if Path(path).suffix.lower() not in (".html", ".htm"):
        raise ValueError(
            f"The report is an HTML page; give a file name ending in .html, not '{path}'."
        )
    return atomic_write_text(path, build_report(model, X, y, **options))
