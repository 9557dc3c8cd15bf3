"""chainrule's MLPClassifier / MLPRegressor against scikit-learn's, side by side.

Run as ``.venv/bin/python benchmarks/bench_sklearn.py [--seeds 5] [--max-iter 200]``.

For each data set scikit-learn bundles or generates (iris, wine, breast cancer, digits,
diabetes, moons, circles) and each seed: a stratified 75/25 split drawn with the seed,
features standardized on the training rows (the regression target too), then both estimators
fit with the *same* hyperparameters — scikit-learn's defaults (100 ReLU units, Adam, η = 1e-3,
batch min(200, n), α = 1e-4, tol 1e-4, 10 epochs of patience) and the same ``max_iter`` —
and the same ``random_state``. The two fits alternate order from seed to seed so drift in
the machine's speed hits both alike. Printed: the mean test score (accuracy, or R² for
diabetes) and mean fit time of each, and their ratio, as a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn import neural_network as sk_nn
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_moons,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import chainrule as cr


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
    """Name -> (X, y, is_classification)."""
    gen = 0  # the generated sets are fixed; the seeds vary the split and the networks
    return {
        "iris": (*load_iris(return_X_y=True), True),
        "wine": (*load_wine(return_X_y=True), True),
        "breast cancer": (*load_breast_cancer(return_X_y=True), True),
        "digits": (*load_digits(return_X_y=True), True),
        "diabetes": (*load_diabetes(return_X_y=True), False),
        "moons": (*make_moons(1000, noise=0.25, random_state=gen), True),
        "circles": (*make_circles(1000, noise=0.1, factor=0.5, random_state=gen), True),
    }


def one_run(X, y, classification: bool, seed: int, max_iter: int, chainrule_first: bool):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if classification else None
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if not classification:
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    params = dict(max_iter=max_iter, random_state=seed)
    pair = (
        (cr.MLPClassifier, sk_nn.MLPClassifier)
        if classification
        else (cr.MLPRegressor, sk_nn.MLPRegressor)
    )
    results = {}
    order = pair if chainrule_first else pair[::-1]
    for cls in order:
        model = cls(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X_tr, y_tr)
            elapsed = time.perf_counter() - start
        results[cls.__module__.startswith("chainrule")] = (
            model.score(X_te, y_te),
            elapsed,
            model.n_iter_,
        )
    return results[True], results[False]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200)
    args = parser.parse_args()

    print(
        f"chainrule {cr.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {args.seeds} seeds, max_iter={args.max_iter}\n"
    )
    header = (
        "| data set | rows × features | score | scikit-learn | chainrule | Δ points "
        "| scikit-learn fit | chainrule fit | speed-up |"
    )
    print(header)
    print("|---|---|---|---|---|---|---|---|---|")
    total_ours = total_theirs = 0.0
    for name, (X, y, classification) in datasets().items():
        ours, theirs = [], []
        for seed in range(args.seeds):
            o, t = one_run(X, y, classification, seed, args.max_iter, seed % 2 == 0)
            ours.append(o)
            theirs.append(t)
        ours_a, theirs_a = np.array(ours), np.array(theirs)
        s_ours, s_theirs = ours_a[:, 0].mean(), theirs_a[:, 0].mean()
        t_ours, t_theirs = ours_a[:, 1].mean(), theirs_a[:, 1].mean()
        total_ours += t_ours
        total_theirs += t_theirs
        metric = "accuracy" if classification else "R²"
        print(
            f"| {name} | {X.shape[0]} × {X.shape[1]} | {metric} | {s_theirs:.4f} | {s_ours:.4f} "
            f"| {100 * (s_ours - s_theirs):+.2f} | {t_theirs:.3f} s | {t_ours:.3f} s "
            f"| {t_theirs / t_ours:.2f}× |"
        )
    print(
        f"\nTotal mean fit time: scikit-learn {total_theirs:.2f} s, chainrule {total_ours:.2f} s "
        f"({total_theirs / total_ours:.2f}× faster)."
    )


if __name__ == "__main__":
    main()
