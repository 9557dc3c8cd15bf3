"""MLPClassifier / MLPRegressor against scikit-learn's own MLP, finite differences and sklearn tools.

The main oracle is scikit-learn's ``sklearn.neural_network``: given the same
``numpy.random.RandomState`` both draw the same initial weights, so with ``shuffle=False`` the
two must follow the same trajectory, epoch by epoch, to rounding — which checks the objective
(penalty scaled by the batch's weight), the optimizers, the learning-rate schedules, the
stopping rule and ``t_`` all at once. Errors are compared with the errors scikit-learn raises.
"""

from __future__ import annotations

import io
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk_nn
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_iris,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.estimators._base import HalfPoissonDeviance, SummedOverOutputs
from chainrule.network.gradcheck import check_loss
from chainrule.network.losses import BinaryCrossEntropy, HalfSquaredError


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, (y - y.mean()) / y.std()


def quiet(fn, *args, **kwargs):
    """Run ``fn`` with ConvergenceWarning silenced (short runs here stop at max_iter on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


# -- the same trajectory as scikit-learn ---------------------------------------------------------
SAME_TRAJECTORY = {
    "lbfgs-penalty": ("clf", dict(solver="lbfgs", max_iter=20, alpha=0.1)),
    "sgd-invscaling-minibatch": (
        "clf",
        dict(
            solver="sgd",
            max_iter=30,
            batch_size=40,
            learning_rate="invscaling",
            learning_rate_init=0.5,
        ),
    ),
    "sgd-adaptive-stops-like-sklearn": (
        "clf",
        dict(
            solver="sgd",
            max_iter=300,
            batch_size=40,
            learning_rate="adaptive",
            learning_rate_init=0.1,
            tol=1e-3,
        ),
    ),
    "adam-tanh": ("clf", dict(solver="adam", max_iter=30, batch_size=40, activation="tanh")),
    "binary-logistic-two-layers": (
        "binary",
        dict(
            solver="sgd",
            hidden_layer_sizes=(5, 3),
            max_iter=30,
            activation="logistic",
            learning_rate_init=0.1,
            nesterovs_momentum=False,
        ),
    ),
    "multilabel-lbfgs": ("multilabel", dict(solver="lbfgs", max_iter=15)),
    "regression-sgd-alpha": (
        "reg",
        dict(solver="sgd", max_iter=20, batch_size=100, learning_rate_init=0.01, alpha=1.0),
    ),
    "poisson-lbfgs": ("poisson", dict(solver="lbfgs", max_iter=15, loss="poisson")),
    "sample-weight-sgd": ("weighted", dict(solver="sgd", max_iter=20, alpha=1.0)),
}


@pytest.mark.parametrize("case", list(SAME_TRAJECTORY))
def test_same_trajectory_as_sklearn(case, iris, diabetes):
    kind, params = SAME_TRAJECTORY[case]
    params = {"hidden_layer_sizes": (5,), "shuffle": False, **params}
    X, y = iris
    fit_kwargs = {}
    ours_cls, theirs_cls = MLPClassifier, sk_nn.MLPClassifier
    if kind == "binary":
        y = y > 0
    elif kind == "multilabel":
        X, y = make_multilabel_classification(100, 5, n_classes=3, random_state=0)
    elif kind in ("reg", "poisson"):
        ours_cls, theirs_cls = MLPRegressor, sk_nn.MLPRegressor
        X, y = diabetes
        y = np.exp(y) if kind == "poisson" else y
    elif kind == "weighted":
        fit_kwargs["sample_weight"] = np.random.default_rng(0).integers(0, 4, len(y)) * 1.0
    ours = quiet(ours_cls(random_state=np.random.RandomState(0), **params).fit, X, y, **fit_kwargs)
    theirs = quiet(
        theirs_cls(random_state=np.random.RandomState(0), **params).fit, X, y, **fit_kwargs
    )
    tol = dict(rtol=1e-7, atol=1e-9)  # Adam included: ε sits where scikit-learn puts it
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, **tol)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, **tol)
    if params["solver"] != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **tol)
        assert ours.t_ == theirs.t_
    np.testing.assert_allclose(
        ours.predict_proba(X)
        if kind in ("clf", "binary", "multilabel", "weighted")
        else ours.predict(X),
        theirs.predict_proba(X)
        if kind in ("clf", "binary", "multilabel", "weighted")
        else theirs.predict(X),
        **tol,
    )
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_


@pytest.mark.parametrize(
    "loss, y_true",
    [
        (HalfSquaredError(), np.linspace(-1, 1, 12).reshape(4, 3)),
        (
            HalfPoissonDeviance(),
            np.array([[0.0, 1.0, 3.0], [2.0, 0.0, 5.0], [1.0, 1.0, 0.0], [4.0, 2.0, 1.0]]),
        ),
        (
            SummedOverOutputs(BinaryCrossEntropy(from_logits=True)),
            (np.arange(12).reshape(4, 3) % 2) * 1.0,
        ),
    ],
)
def test_objective_gradients_match_finite_differences(loss, y_true):
    z = np.random.default_rng(0).standard_normal(y_true.shape)
    w = np.array([1.0, 0.5, 2.0, 0.0])
    assert check_loss(loss, z, y_true).max_error < 1e-7
    assert check_loss(loss, z, y_true, w).max_error < 1e-7


def test_default_adam_scores_like_sklearn():
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    ours = [
        quiet(MLPClassifier(random_state=s).fit, X_tr, y_tr).score(X_te, y_te) for s in range(2)
    ]
    theirs = [
        quiet(sk_nn.MLPClassifier(random_state=s).fit, X_tr, y_tr).score(X_te, y_te)
        for s in range(2)
    ]
    assert np.mean(ours) >= np.mean(theirs) - 0.02


def test_multioutput_regression(diabetes):
    X, y = diabetes
    Y = np.c_[y, -2 * y]
    ours = quiet(
        MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0).fit,
        X,
        Y,
    )
    theirs = quiet(
        sk_nn.MLPRegressor(
            hidden_layer_sizes=(16,), solver="lbfgs", max_iter=200, random_state=0
        ).fit,
        X,
        Y,
    )
    assert ours.predict(X).shape == (len(X), 2)
    assert ours.score(X, Y) >= theirs.score(X, Y) - 0.05


# -- classification targets ----------------------------------------------------------------------
def test_binary_multiclass_multilabel_outputs(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = quiet(MLPClassifier((8,), max_iter=50, random_state=0).fit, X, names)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(1), 1)
    assert set(clf.predict(X)) <= set(names)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))

    binary = quiet(MLPClassifier((8,), max_iter=50, random_state=0).fit, X, names == "setosa")
    assert binary.predict_proba(X).shape == (150, 2) and binary.out_activation_ == "logistic"

    Xm, Ym = make_multilabel_classification(80, 5, n_classes=4, random_state=0)
    ml = quiet(MLPClassifier((8,), max_iter=50, random_state=0).fit, Xm, Ym)
    assert ml.predict(Xm).shape == Ym.shape and ml.predict_proba(Xm).shape == Ym.shape
    np.testing.assert_array_equal(ml.predict(Xm), ml.predict_proba(Xm) > 0.5)


def test_class_weight_is_sample_weight(iris):
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # imbalanced
    X, y = X[keep], y[keep]
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=15, random_state=0)
    weighted = quiet(MLPClassifier(class_weight="balanced", **params).fit, X, y)
    explicit = quiet(
        MLPClassifier(**params).fit, X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    for a, b in zip(weighted.coefs_, explicit.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


# -- inputs scikit-learn users have ---------------------------------------------------------------
def test_pandas_sparse_and_float32(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    params = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    dense = quiet(MLPClassifier(**params).fit, X, y)
    from_frame = quiet(MLPClassifier(**params).fit, frame, pd.Series(y))
    assert list(from_frame.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    np.testing.assert_array_equal(from_frame.predict_proba(frame), dense.predict_proba(X))
    with pytest.raises(ValueError, match="feature names should match"):
        from_frame.predict(frame.rename(columns={"sl": "x"}))

    sparse = quiet(MLPClassifier(**params).fit, sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X), rtol=1e-12
    )

    single = quiet(MLPClassifier(**params).fit, X.astype(np.float32), y)
    assert single.network_.dtype == "float32"
    assert all(c.dtype == np.float32 for c in single.coefs_)
    assert single.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(single.predict_proba(X), dense.predict_proba(X), atol=1e-4)


def test_pipeline_gridsearch_cross_val_clone_pickle(iris):
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((8,), learning_rate_init=0.01, max_iter=30, random_state=0)
    )
    grid = {"mlpclassifier__alpha": [1e-4, 1.0]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = GridSearchCV(pipe, grid, cv=3).fit(X, y)
        # Process-based workers (loky): the estimator must travel to and from other processes.
        parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=3)
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert scores.mean() > 0.8

    fitted = quiet(MLPClassifier((8,), max_iter=30, random_state=0).fit, *iris)
    twin = clone(fitted)
    assert not hasattr(twin, "network_") and twin.get_params() == fitted.get_params()
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(iris[0]), fitted.predict_proba(iris[0]))
    assert restored.loss_curve_ == fitted.loss_curve_


def test_model_file_round_trip(tmp_path, iris):
    pytest.importorskip("chainrule.io")
    X, y = iris
    names = np.array(["a", "b", "c"])[y]
    clf = quiet(MLPClassifier((8,), max_iter=20, early_stopping=True, random_state=0).fit, X, names)
    path = cr.save(clf, tmp_path / "clf.safetensors")
    back = cr.load(path)
    assert isinstance(back, MLPClassifier)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    assert back.get_params() == clf.get_params()
    assert back.validation_scores_ == clf.validation_scores_ and back.loss_curve_ == clf.loss_curve_

    reg = quiet(
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=10, random_state=0).fit, X, np.c_[y, y]
    )
    cr.save(reg, tmp_path / "reg.safetensors")
    again = cr.load(tmp_path / "reg.safetensors")
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    assert again.best_loss_ == reg.best_loss_ and again.n_iter_ == reg.n_iter_
    quiet(again.partial_fit, X, np.c_[y, y])  # a loaded model keeps training
    assert again.t_ == reg.t_ + len(X)


# -- errors as scikit-learn gives them --------------------------------------------------------------
def _bad_inputs(X, y):
    return {
        "nan": (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y, "NaN"),
        "infinity": (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y, "infinity"),
        "1-D X": (X[:, 0], y, "Expected 2D array|2-dimensional"),
        "empty": (X[:0], y[:0], "0 sample"),
        "strings": (np.array([["a", "b", "c", "d"]] * len(y)), y, "could not convert|string"),
        "mismatched lengths": (X, y[:-1], "inconsistent numbers of samples"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(np.zeros((4, 4)), np.zeros(4))))
def test_bad_input_errors_like_sklearn(case, iris):
    X, y = iris
    bad_X, bad_y, message = _bad_inputs(X, y)[case]
    with pytest.raises(ValueError, match=message) as ours:
        MLPClassifier().fit(bad_X, bad_y)
    with pytest.raises(ValueError) as theirs:
        sk_nn.MLPClassifier().fit(bad_X, bad_y)
    assert type(ours.value) is type(theirs.value)


def test_errors_of_a_fitted_model(iris):
    X, y = iris
    clf = quiet(MLPClassifier((4,), max_iter=5, random_state=0).fit, X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X[:, :3])
    one_class = quiet(MLPClassifier((4,), max_iter=5, random_state=0).fit, X, np.zeros(len(y)))
    theirs = quiet(sk_nn.MLPClassifier((4,), max_iter=5, random_state=0).fit, X, np.zeros(len(y)))
    np.testing.assert_array_equal(one_class.predict(X), theirs.predict(X))  # the one class
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    inc = MLPClassifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes not in `self.classes_`: \[7\]"):
        inc.partial_fit(X[:2], [0, 7])
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPClassifier(solver="lbfgs").partial_fit  # noqa: B018
    with pytest.raises(ValueError, match="L-BFGS cannot"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, y - 1.0)


def test_failed_fit_leaves_the_fitted_model_unchanged(iris):
    X, y = iris
    clf = quiet(MLPClassifier((6,), max_iter=20, random_state=0).fit, X, y)
    before = pickle.dumps(clf)
    proba = clf.predict_proba(X)
    failures = [
        lambda: clf.fit(np.where(X > 2, np.nan, X), y),  # validation fails
        # after n_features_in_ was reset: a negative class weight is refused with the targets
        lambda: clf.set_params(class_weight={0: -1.0}).fit(X[:, :2], y),
        lambda: clf.set_params(learning_rate_init=1e12, solver="sgd").fit(X * 1e6, y),  # diverges
        lambda: clf.partial_fit(X[:3], [0, 1, 9]),  # unknown label
    ]
    for fail in failures:
        with pytest.raises(ValueError):
            quiet(fail)
        clf.set_params(learning_rate_init=0.001, solver="adam", class_weight=None)
        assert pickle.dumps(clf) == before
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.n_features_in_ == 4 and list(clf.classes_) == [0, 1, 2]


# -- training behaviour ---------------------------------------------------------------------------
def test_partial_fit_is_one_epoch_per_call(iris):
    X, y = iris
    clf = MLPClassifier((8,), random_state=0)
    for call in range(1, 4):
        clf.partial_fit(X, y, classes=np.unique(y))
        assert clf.n_iter_ == 1 and clf.t_ == call * len(X) and len(clf.loss_curve_) == call
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_convergence_warning_and_stopping(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    clf = MLPClassifier((4,), learning_rate_init=0.05, max_iter=2000, random_state=0).fit(X, y)
    assert clf.n_iter_ < 2000 and clf.history_.stop_reason == "converged"
    assert len(clf.loss_curve_) == clf.n_iter_ == len(clf.history_.epoch)


def test_warm_start_continues(iris):
    X, y = iris
    clf = MLPClassifier((8,), max_iter=10, warm_start=True, random_state=0)
    quiet(clf.fit, X, y)
    first = clf.loss_curve_[-1]
    quiet(clf.fit, X, y)
    assert len(clf.loss_curve_) == 20 and clf.loss_curve_[10] < clf.loss_curve_[0]
    assert clf.loss_curve_[-1] < first


def test_early_stopping_curves(iris):
    X, y = iris
    clf = MLPClassifier((8,), early_stopping=True, n_iter_no_change=3, random_state=0)
    quiet(clf.fit, X, y)
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.history_["val_loss"] == clf.validation_loss_curve_
    reg = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=20, random_state=0)
    quiet(reg.fit, X, y)
    assert reg.best_validation_score_ == max(reg.validation_scores_)


def test_extras_dropout_init_callbacks_verbose(iris, capsys):
    X, y = iris
    plain = quiet(MLPClassifier((16,), max_iter=10, random_state=0).fit, X, y)
    dropped = quiet(MLPClassifier((16,), max_iter=10, dropout=0.5, random_state=0).fit, X, y)
    assert any(isinstance(layer, cr.Dropout) for layer in dropped.network_)
    assert dropped.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(
        dropped.predict_proba(X), dropped.predict_proba(X)
    )  # off at inference

    # He uniform: W ~ U(±√(6/fan_in)), zero biases (a rate of 1e-12 leaves them as drawn).
    he = MLPRegressor(
        hidden_layer_sizes=(64,),
        weight_init="he_uniform",
        solver="sgd",
        learning_rate_init=1e-12,
        max_iter=1,
        random_state=0,
    )
    quiet(he.fit, X, y)
    W = he.coefs_[0]
    assert np.abs(W).max() <= np.sqrt(6 / 4) and np.abs(W).max() > 0.9 * np.sqrt(6 / 4)
    assert np.abs(he.intercepts_[0]).max() < 1e-9

    stream = io.StringIO()
    watched = MLPClassifier(
        (4,),
        max_iter=5,
        random_state=0,
        callbacks=[cr.GradientNorms(), cr.ProgressBar(stream=stream)],
    )
    quiet(watched.fit, X, y)
    assert len(watched.history_["grad_norm/dense1.W"]) == 5
    assert "epoch 5/5" in stream.getvalue()

    # verbose keeps scikit-learn's meaning: its own lines on stdout, the same shape as its MLP's
    from sklearn.neural_network import MLPClassifier as SkMLP

    capsys.readouterr()
    quiet(SkMLP((4,), max_iter=2, verbose=True, random_state=0).fit, X, y)
    theirs = capsys.readouterr().out.splitlines()
    quiet(MLPClassifier((4,), max_iter=2, verbose=True, random_state=0).fit, X, y)
    captured = capsys.readouterr()
    ours = captured.out.splitlines()

    def shape(lines: list[str]) -> list[str]:
        return [re.sub(r"\d+\.\d+", "X", line) for line in lines]

    assert shape(ours) == shape(theirs) == ["Iteration 1, loss = X", "Iteration 2, loss = X"]
    assert captured.err == ""

    for solver in ("adamw", "rmsprop"):
        model = MLPClassifier(
            (16,), solver=solver, learning_rate_init=0.01, max_iter=200, random_state=0
        )
        assert quiet(model.fit, X, y).score(X, y) > 0.9
    huber = MLPRegressor(
        loss="huber", hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=100, random_state=0
    )
    quiet(huber.fit, X, y)
    assert huber.out_activation_ == "identity" and huber.score(X, y) > 0.5
