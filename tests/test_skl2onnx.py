"""Whole scikit-learn pipelines with a chainrule MLP in them, converted by skl2onnx.

Oracle: onnxruntime running the converted graph on the *raw* features must reproduce the
pipeline's own ``predict`` / ``predict_proba`` (so the scaler is inside the graph, not left
out), for classifiers with integer and text labels, two and three classes, and regressors
with the identity and the Poisson (``exp``) link.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from sklearn.datasets import load_iris, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import chainrule as cr
import chainrule.estimators.skl2onnx  # registers the converters


def _fit(estimator, X, y):
    pipe = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a short fit is enough here
        return pipe.fit(X, y)


def _run(onx, X: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


@pytest.mark.parametrize("labels", ["int3", "text3", "int2", "text2"])
def test_classifier_pipeline_matches_onnxruntime(labels: str) -> None:
    X, y = load_iris(return_X_y=True)
    if labels.endswith("2"):
        y = (y > 0).astype(int)
    if labels.startswith("text"):
        y = np.array(["setosa", "versicolor", "virginica"])[y]
    X = X * [1.0, 10.0, 100.0, 0.1] + 5.0  # scales a network without its scaler would miss
    pipe = _fit(cr.MLPClassifier((8,), max_iter=60, random_state=0), X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})
    label, proba = _run(onx, X.astype(np.float32))
    np.testing.assert_array_equal(label, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)
    assert {n.op_type for n in onx.graph.node} >= {"Scaler", "MatMul", "ArgMax"}


def test_classifier_with_zipmap_and_double_input() -> None:
    X, y = load_iris(return_X_y=True)
    pipe = _fit(cr.MLPClassifier((6,), max_iter=40, random_state=1), X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1])  # float64 sample: a double input, cast inside
    label, proba_maps = _run(onx, X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    proba = np.array([[row[k] for k in pipe.classes_] for row in proba_maps])
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_pipeline_matches_onnxruntime(loss: str) -> None:
    X, y = make_regression(300, 6, noise=1.0, random_state=0)
    X = X * 50.0 + 7.0
    y = y if loss == "squared_error" else np.exp(y / 200.0)
    model = cr.MLPRegressor(hidden_layer_sizes=(16,), loss=loss, max_iter=60, random_state=0)
    pipe = _fit(model, X, y)
    onx = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32))
    (variable,) = _run(onx, X.astype(np.float32))
    expected = pipe.predict(X)
    assert variable.shape == (len(X), 1)
    np.testing.assert_allclose(
        variable[:, 0], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max()
    )


def test_old_opset_is_refused_in_one_sentence() -> None:
    X, y = load_iris(return_X_y=True)
    pipe = _fit(cr.MLPClassifier((4,), max_iter=5, random_state=0), X, y)
    with pytest.raises(RuntimeError, match="opset 13 or newer"):
        skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), target_opset=12)
