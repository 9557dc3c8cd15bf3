"""Same seed, same weights: the largest weight difference from scikit-learn, case by case.

Run ``python -m benchmarks.sklearn_same_seed``. Each row fits chainrule's and scikit-learn's
estimator with the same integer ``random_state`` and parameters, and prints
:math:`\\max |W_{chainrule} - W_{sklearn}|` over every weight and bias, and both ``n_iter_``.
The last rows show L-BFGS on a non-convex problem run long: rounding-level differences
(sums taken in another order) grow along the line searches, so long L-BFGS runs match only
as far as the trajectory is stable.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning

import chainrule


def _data(task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "regressor":
        X, y = make_regression(n_samples=150, n_features=5, noise=0.1, random_state=0)
        return X, y / y.std()
    X, y = load_iris(return_X_y=True)
    return (X[50:], y[50:]) if task == "binary" else (X, y)


def _row(task: str, **params: object) -> tuple[str, float, int, int]:
    X, y = _data(task)
    ours_cls, theirs_cls = (
        (chainrule.MLPRegressor, sk_nn.MLPRegressor)
        if task == "regressor"
        else (chainrule.MLPClassifier, sk_nn.MLPClassifier)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = ours_cls(random_state=0, **params).fit(X, y)
        theirs = theirs_cls(random_state=0, **params).fit(X, y)
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True)
    diff = max(float(np.abs(a - b).max()) for a, b in pairs)
    label = ", ".join(f"{k}={v}" for k, v in params.items() if k != "hidden_layer_sizes")
    return f"{task}: {label}", diff, ours.n_iter_, theirs.n_iter_


def main() -> None:
    common = dict(hidden_layer_sizes=(8, 5), max_iter=30, batch_size=32, learning_rate_init=0.01)
    rows = [
        _row(task, solver=solver, early_stopping=es, **common)
        for task in ("classifier", "binary", "regressor")
        for solver in ("sgd", "adam", "lbfgs")
        for es in (False, True)
        if not (solver == "lbfgs" and es)
    ]
    for activation in ("tanh", "logistic"):
        rows.append(
            _row(
                "regressor",
                hidden_layer_sizes=(6,),
                solver="lbfgs",
                activation=activation,
                max_iter=500,
            )
        )
    print("| case | max abs weight difference | n_iter_ chainrule | n_iter_ scikit-learn |")
    print("|---|---|---|---|")
    for label, diff, ours, theirs in rows:
        print(f"| {label} | {diff:.1e} | {ours} | {theirs} |")


if __name__ == "__main__":
    main()
