"""The extensions scikit-learn's MLP refuses: ``scoring=``, ``record_validation``, per-layer
``activation``. Each keeps scikit-learn's behaviour at its default.

The held-out rows are rebuilt here independently, the way scikit-learn draws them (a
``RandomState`` that first draws the Glorot weights, then ``train_test_split``), and scored
with scikit-learn's own metrics on a model stopped at the same epoch.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import scale

from chainrule import MLPClassifier

HIDDEN = (8,)


def _fit(**params):
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(HIDDEN, random_state=0, **params).fit(X, y)


def _data():
    X, y = load_breast_cancer(return_X_y=True)
    return scale(X), y


def _validation_rows(fraction: float):
    """scikit-learn's held-out rows for ``random_state=0``: the weights are drawn first."""
    X, y = _data()
    rs = np.random.RandomState(0)
    sizes = [X.shape[1], *HIDDEN, 1]
    for fan_in, fan_out in itertools.pairwise(sizes):
        rs.uniform(size=(fan_in, fan_out))
        rs.uniform(size=fan_out)
    Y = (y == 1).reshape(-1, 1)
    _, X_val, _, Y_val = train_test_split(X, Y, random_state=rs, test_size=fraction, stratify=Y)
    return X_val, Y_val.ravel().astype(int)


def test_record_validation_scores_the_held_out_rows_without_stopping_on_them():
    epochs = 6
    full = _fit(record_validation=True, validation_fraction=0.2, max_iter=epochs, scoring="roc_auc")
    assert full.n_iter_ == epochs and len(full.validation_scores_) == epochs
    X_val, y_val = _validation_rows(0.2)
    for k in (1, 3, epochs):  # a run stopped at epoch k is the full run at epoch k
        at_k = _fit(record_validation=True, validation_fraction=0.2, max_iter=k, scoring="roc_auc")
        proba = at_k.predict_proba(X_val)[:, 1]
        assert full.validation_scores_[k - 1] == pytest.approx(
            roc_auc_score(y_val, proba), abs=1e-12
        )
        assert full.validation_loss_curve_[k - 1] == pytest.approx(log_loss(y_val, proba), rel=1e-9)


def test_scoring_loss_is_the_negated_validation_log_loss():
    by_loss = _fit(early_stopping=True, scoring="loss", max_iter=15)
    by_metric = _fit(early_stopping=True, scoring="neg_log_loss", max_iter=15)
    np.testing.assert_allclose(by_loss.validation_scores_, by_metric.validation_scores_, rtol=1e-9)
    assert by_loss.n_iter_ == by_metric.n_iter_


def test_scoring_accuracy_is_the_default_score():
    named = _fit(early_stopping=True, scoring="accuracy", max_iter=15)
    default = _fit(early_stopping=True, max_iter=15)
    np.testing.assert_allclose(named.validation_scores_, default.validation_scores_, atol=1e-15)
    for a, b in zip(named.coefs_, default.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_unknown_scoring_or_record_validation_in_partial_fit_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="is not a valid scoring value"):
        MLPClassifier(HIDDEN, early_stopping=True, scoring="no_such_metric").fit(X, y)
    with pytest.raises(ValueError, match="partial_fit holds no rows out"):
        MLPClassifier(HIDDEN, record_validation=True).partial_fit(X, y, classes=[0, 1])


def test_per_layer_activation_computes_each_layers_own_function():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((6, 4), activation=["tanh", "logistic"], max_iter=5, random_state=0)
        clf.fit(X, y)
    (W1, W2, W3), (b1, b2, b3) = clf.coefs_, clf.intercepts_
    by_hand = expit(expit(np.tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3).ravel()
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], by_hand, rtol=1e-12)


def test_one_activation_per_layer_alike_is_the_single_name():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        listed = MLPClassifier((6, 4), activation=["relu", "relu"], max_iter=5, random_state=0)
        named = MLPClassifier((6, 4), activation="relu", max_iter=5, random_state=0)
        listed.fit(X, y)
        named.fit(X, y)
    for a, b in zip(
        listed.coefs_ + listed.intercepts_, named.coefs_ + named.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="one per hidden layer"):
        MLPClassifier((6, 4), activation=["relu"]).fit(X, y)
