"""ONNX export, checked by running the exported graphs in onnxruntime.

For every hidden activation and every kind of output (binary classes that are integers,
several classes that are text, a regression target), the graph's outputs must match
chainrule's predictions: labels identical, probabilities within 1e-5 (the graph is float32).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

import chainrule as cr
from chainrule import export_onnx
from chainrule.onnx_export import build_onnx, onnx_input, onnx_labels
from chainrule.tabular.model import HIDDEN_ACTIVATIONS, TabularModel


def _session(model: object, opset: int = 13) -> ort.InferenceSession:
    proto = build_onnx(model, opset)
    assert proto.opset_import[0].version == opset
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    gen = np.random.default_rng(11)
    n = 80
    frame = pd.DataFrame(
        {
            "x1": gen.normal(50, 10, n),
            "x2": gen.normal(0, 1, n),
            "shade": gen.choice(["dark", "light", "mid"], n),
        }
    )
    score = (frame["x1"] - 50) / 10 + frame["x2"] + (frame["shade"] == "dark")
    frame["binary"] = (score > 0.3).astype(int) * 5 + 1  # classes 1 and 6
    frame["colour"] = np.where(score > 1, "red", np.where(score > -0.5, "green", "blue"))
    frame["amount"] = 200 * score + 1000
    return frame


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("target", ["binary", "colour", "amount"])
def test_exported_model_matches_chainrule(
    table: pd.DataFrame, activation: str, target: str
) -> None:
    others = [c for c in ("binary", "colour", "amount") if c != target]
    frame = table.drop(columns=others)
    model, _ = TabularModel.fit(
        frame, target, hidden=[6, 5], activation=activation, epochs=4, batch_size=16, seed=2
    )
    outputs = _session(model).run(None, {"input": onnx_input(model, frame)})
    if model.task == "classification":
        labels, probabilities = outputs
        expected = model.predict(frame)
        np.testing.assert_array_equal(labels, onnx_labels(model.classes, expected))
        assert labels.dtype == (np.int64 if target == "binary" else object)
        np.testing.assert_allclose(probabilities, model.predict_proba(frame), rtol=0, atol=1e-5)
    else:
        (variable,) = outputs
        assert variable.shape == (len(frame), 1)
        np.testing.assert_allclose(variable[:, 0], model.predict(frame), rtol=1e-5)


def test_output_names_follow_scikit_learn_onnx(table: pd.DataFrame, tmp_path: Path) -> None:
    model, _ = TabularModel.fit(table.drop(columns=["binary", "amount"]), "colour", epochs=1)
    path = export_onnx(model, tmp_path / "m.onnx", opset=17)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert proto.opset_import[0].version == 17
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["classes"] == '["blue", "green", "red"]'
    assert props["feature_names"] == '["x1", "x2", "shade=dark", "shade=light", "shade=mid"]'
    with pytest.raises(ValueError, match="opset must be between 13"):
        build_onnx(model, 12)


def test_imputation_happens_inside_the_graph(table: pd.DataFrame) -> None:
    frame = table.drop(columns=["colour", "amount"]).copy()
    frame.loc[frame.index[:5], "x1"] = np.nan
    frame.loc[frame.index[3:8], "shade"] = None
    model, _ = TabularModel.fit(frame, "binary", impute="mean", hidden=[4], epochs=2)
    X = onnx_input(model, frame)
    assert np.isnan(X[:5, 0]).all()  # the graph receives the NaN itself
    labels, probabilities = _session(model).run(None, {"input": X})
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, onnx_labels(model.classes, model.predict(frame)))


def test_plain_network_exports_every_layer_type() -> None:
    """Softmax, Identity and Dropout (off at inference) and ELU with a custom alpha."""
    gen = np.random.default_rng(0)
    net = cr.Sequential(
        [
            cr.Dense(3, 6, rng=gen),
            cr.ELU(alpha=0.7),
            cr.Dropout(0.5, rng=gen),
            cr.Dense(6, 5, rng=gen),
            cr.LeakyReLU(0.3),
            cr.Dense(5, 4, rng=gen, use_bias=False),
            cr.Identity(),
            cr.Softmax(),
        ]
    )
    X = gen.standard_normal((20, 3)) * 3
    (variable,) = _session(net, 13).run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(variable, net.predict(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ["binary", "multiclass", "regression"])
def test_scikit_learn_estimators_export(case: str, tmp_path: Path) -> None:
    """Estimators saved to a model file, loaded, exported: onnxruntime agrees with them."""
    estimators = pytest.importorskip("chainrule.estimators")
    gen = np.random.default_rng(4)
    X = gen.standard_normal((60, 3))
    score = X @ np.array([1.0, -2.0, 0.5])
    if case == "regression":
        est = estimators.MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
        y = score * 10 + 3
    else:
        est = estimators.MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
        y = np.where(score > 0, "yes", "no") if case == "binary" else np.digitize(score, [-1, 1])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few iterations to converge, on purpose
        est.fit(X, y)
    cr.save(est, tmp_path / "est.safetensors")
    loaded = cr.load(tmp_path / "est.safetensors")
    outputs = _session(loaded).run(None, {"input": X.astype(np.float32)})
    if case == "regression":
        np.testing.assert_allclose(outputs[0][:, 0], est.predict(X), rtol=1e-5, atol=1e-5)
    else:
        labels, probabilities = outputs
        np.testing.assert_array_equal(labels, est.predict(X))
        np.testing.assert_allclose(probabilities, est.predict_proba(X), rtol=0, atol=1e-5)
