"""``chainrule evaluate MODEL DATA``: how well a model predicts a labelled table."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from chainrule.commands import _shared
from chainrule.tabular.data import read_table, require_columns
from chainrule.tabular.preprocessing import value_key

NAME = "evaluate"
HELP = (
    "score a model on a labelled table: accuracy, F1, log-loss, confusion matrix, or RMSE, MAE, R²"
)
EXAMPLE = "chainrule evaluate iris.safetensors iris_test.csv --target species"
REQUIRES: tuple[str, ...] = ("pandas", "safetensors")
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule evaluate``."""
    parser.add_argument("model", metavar="MODEL", help="model file written by 'chainrule train'")
    parser.add_argument("data", metavar="DATA", help="table with the features and the target")
    parser.add_argument(
        "--target", metavar="COL", default=None, help="target column (default: the model's)"
    )
    parser.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    _shared.add_na_values(parser)
    _shared.add_sep(parser)


def classification_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Scores of class probabilities ``proba (N, K)`` against class indices ``y (N,)``.

    With predictions :math:`\\hat y_n = \\arg\\max_k p_{nk}` and confusion matrix
    :math:`C_{ij} = \\#\\{n : y_n = i, \\hat y_n = j\\}`:

    .. math::
        \\text{accuracy} = \\tfrac1N \\textstyle\\sum_i C_{ii}, \\qquad
        F_1^{(k)} = \\frac{2 C_{kk}}{\\sum_j C_{kj} + \\sum_i C_{ik}}, \\qquad
        \\text{log-loss} = -\\tfrac1N \\textstyle\\sum_n \\log \\max(p_{n y_n}, 10^{-15})

    ``f1`` is :math:`F_1` of the last class for two classes (the positive one, as
    scikit-learn's default) and the macro average otherwise; ``f1_macro`` is always the mean of
    :math:`F_1^{(k)}` over classes (a class never true nor predicted scores 0).
    """
    n, k = proba.shape
    predicted = np.argmax(proba, axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    tp = np.diag(confusion).astype(np.float64)
    denominator = confusion.sum(axis=1) + confusion.sum(axis=0)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    p_true = np.clip(proba[np.arange(n), y], 1e-15, 1.0)
    return {
        "accuracy": float(tp.sum() / n),
        "f1": float(f1[-1] if k == 2 else f1.mean()),
        "f1_macro": float(f1.mean()),
        "log_loss": float(-np.mean(np.log(p_true))),
        "confusion_matrix": confusion.tolist(),
    }


def regression_scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and :math:`R^2 = 1 - \\sum (y - \\hat y)^2 / \\sum (y - \\bar y)^2` for ``(N,)`` arrays.

    :math:`R^2` of a constant target is 1 for a perfect fit and 0 otherwise (as scikit-learn).
    """
    residual = y - predicted
    ss_res = float(np.sum(residual**2))
    ss_tot = float(np.sum((y - np.mean(y)) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": r2,
    }


def run(args: argparse.Namespace) -> int:
    """Print the scores as a table (or JSON)."""

    model = _shared.load_table_model(args.model)
    frame = read_table(args.data, args.na_values, args.sep)
    target = args.target or model.target
    require_columns(frame, [target], args.data, "the target to score against")
    y = model.encode_target(frame[target], args.data)
    X = model.transform(frame, args.data)
    if model.task == "classification":
        scores = classification_scores(y, model.predict_proba_matrix(X))
    else:
        scores = regression_scores(y, model.predict_matrix(X))
    if args.json:
        out = {"task": model.task, "rows": len(frame), **scores}
        if model.classes is not None:
            out["classes"] = model.classes
        print(json.dumps(out))
        return 0
    print(
        f"{model.task.capitalize()} scores on {args.data} ({len(frame)} rows, target {target!r}):"
    )
    names = {
        "accuracy": "accuracy",
        "f1": "F1",
        "f1_macro": "F1 (macro)",
        "log_loss": "log-loss",
        "rmse": "RMSE",
        "mae": "MAE",
        "r2": "R²",
    }
    if model.task == "classification" and len(model.classes) > 2:
        names.pop("f1")  # the macro average already
    rows = [(label, f"{scores[key]:.4f}") for key, label in names.items() if key in scores]
    print(_shared.table(rows, indent="  ", right=(1,)))
    if model.task == "classification":
        labels = [value_key(c) for c in model.classes]
        print("Confusion matrix (rows: true class, columns: predicted):")
        grid = [["", *labels]]
        grid += [[labels[i], *row] for i, row in enumerate(scores["confusion_matrix"])]
        print(_shared.table(grid, indent="  ", right=tuple(range(1, len(labels) + 1))))
    return 0
