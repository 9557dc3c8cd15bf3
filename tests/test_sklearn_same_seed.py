"""Same seed, same weights: chainrule's estimators against scikit-learn's, solver by solver.

An integer ``random_state`` makes chainrule draw the initial weights, the epoch shuffles and
the early-stopping split exactly as scikit-learn does (one ``numpy.random.RandomState``), and
the solvers do scikit-learn's arithmetic up to the order of sums, so the fitted weights agree
to rounding. The oracle is scikit-learn itself, fitted here on the same data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from chainrule import MLPClassifier, MLPRegressor

TOLERANCE = 1e-9  # largest |chainrule − scikit-learn| over every weight and bias


def _fit(cls, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**params).fit(X, y)


def _weights(est) -> list[np.ndarray]:
    return [*est.coefs_, *est.intercepts_]


def _largest_difference(ours, theirs) -> float:
    pairs = zip(_weights(ours), _weights(theirs), strict=True)
    return max(float(np.abs(a - b).max()) for a, b in pairs)


def _data(task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "regressor":
        X, y = make_regression(n_samples=150, n_features=5, noise=0.1, random_state=0)
        return X, y / y.std()
    X, y = load_iris(return_X_y=True)
    if task == "binary":
        return X[50:], y[50:]
    return X, y


CASES = [
    (task, solver, early_stopping)
    for task in ("classifier", "binary", "regressor")
    for solver in ("sgd", "adam", "lbfgs")
    for early_stopping in (False, True)
    if not (solver == "lbfgs" and early_stopping)  # L-BFGS holds nothing out
]


@pytest.mark.parametrize("task, solver, early_stopping", CASES)
def test_same_seed_gives_scikit_learns_weights(task, solver, early_stopping):
    X, y = _data(task)
    params = dict(
        hidden_layer_sizes=(8, 5),
        solver=solver,
        early_stopping=early_stopping,
        random_state=0,
        max_iter=30,
        batch_size=32,
        learning_rate_init=0.01,
    )
    ours_cls, theirs_cls = (
        (MLPRegressor, sk_nn.MLPRegressor)
        if task == "regressor"
        else (MLPClassifier, sk_nn.MLPClassifier)
    )
    ours = _fit(ours_cls, X, y, **params)
    theirs = _fit(theirs_cls, X, y, **params)
    assert ours.n_iter_ == theirs.n_iter_
    assert _largest_difference(ours, theirs) <= TOLERANCE
    if early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_shared_random_state_and_partial_fit_follow_scikit_learn(solver):
    X, y = load_iris(return_X_y=True)
    ours = MLPClassifier((6,), solver=solver, random_state=np.random.RandomState(3))
    theirs = sk_nn.MLPClassifier((6,), solver=solver, random_state=np.random.RandomState(3))
    for start in (0, 50, 100, 0):  # each call draws its shuffle from the shared source
        rows = slice(start, start + 50)
        ours.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        theirs.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    assert _largest_difference(ours, theirs) <= TOLERANCE
    seeded = MLPClassifier((6,), solver=solver, random_state=7)
    reference = sk_nn.MLPClassifier((6,), solver=solver, random_state=7)
    for _ in range(3):  # an integer seeds a new RandomState at every call, as scikit-learn
        seeded.partial_fit(X, y, classes=[0, 1, 2])
        reference.partial_fit(X, y, classes=[0, 1, 2])
    assert _largest_difference(seeded, reference) <= TOLERANCE


def test_a_numpy_generator_is_still_accepted_and_reproducible():
    X, y = load_iris(return_X_y=True)
    first, second = (
        _fit(
            MLPClassifier,
            X,
            y,
            hidden_layer_sizes=(5,),
            max_iter=5,
            early_stopping=True,
            random_state=np.random.default_rng(1),
        )
        for _ in range(2)
    )
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_stratifies_a_binary_target():
    """100 rows, 10 % positives, validation_fraction=0.1: scikit-learn's stratified split.

    Unstratified, the validation rows held no positive in 10 of 20 seeds; with scikit-learn's
    split (the oracle: its validation scores and weights, seed by seed) each holds one.
    """
    rng = np.random.RandomState(0)
    X = rng.standard_normal((100, 3))
    y = np.r_[np.ones(10), np.zeros(90)]
    params = dict(hidden_layer_sizes=(3,), early_stopping=True, max_iter=3)
    for seed in range(20):
        ours = _fit(MLPClassifier, X, y, random_state=seed, **params)
        theirs = _fit(sk_nn.MLPClassifier, X, y, random_state=seed, **params)
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, atol=1e-12)
        assert _largest_difference(ours, theirs) <= TOLERANCE


def test_a_diverged_candidate_is_scored_by_a_grid_search():
    """scikit-learn ≥ 1.6: early stopping keeps the best finite weights, records NaN scores."""
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(
        MLPRegressor(
            hidden_layer_sizes=(20,),
            activation="identity",
            solver="sgd",
            max_iter=20,
            early_stopping=True,
            random_state=0,
        ),
        {"learning_rate_init": [1.0, 0.001]},
        cv=2,
        error_score="raise",  # a fit that raised would fail the search
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            diverged = MLPRegressor(
                hidden_layer_sizes=(20,),
                activation="identity",
                solver="sgd",
                learning_rate_init=1.0,
                max_iter=20,
                early_stopping=True,
                random_state=0,
            ).fit(X, y)
    assert np.isnan(diverged.validation_scores_[-1])
    assert all(np.isfinite(w).all() for w in _weights(diverged))


def test_divergence_without_early_stopping_raises_scikit_learns_error():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            MLPRegressor(
                hidden_layer_sizes=(20,),
                activation="identity",
                solver="sgd",
                learning_rate_init=1.0,
                max_iter=20,
                random_state=0,
            ).fit(X, y)
