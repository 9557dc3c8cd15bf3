"""Embedding high-cardinality text columns in the table model and the CLI (issue 14's 200 levels).

Oracles: pandas' own categorical codes for the code map (plus the reserved 0 for unseen and
missing values), onnxruntime for the exported graph (codes arrive as float columns), the model
file's schema and a round trip through it, and the ``chainrule`` command run as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.datasets import make_classification

import chainrule as cr
from chainrule.network.embedding import ColumnEmbedding
from chainrule.onnx_export import build_onnx, onnx_input
from chainrule.tabular.data import DataError
from chainrule.tabular.model import TabularModel
from chainrule.tabular.preprocessing import EMBED_AUTO_LEVELS, TablePreprocessor


def _table(n: int = 1200, levels: int = 200, seed: int = 0) -> pd.DataFrame:
    """20 numeric features, a 200-level ``store`` with its own effect, a 4-level ``shade``."""
    X, _ = make_classification(n, 20, n_informative=8, random_state=seed)
    gen = np.random.default_rng(seed)
    store = gen.integers(0, levels, n)
    effect = gen.normal(0, 2, levels)
    label = ((X[:, 0] + effect[store] + gen.normal(0, 0.5, n)) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)])
    frame["store"] = [f"s{k:03d}" for k in store]
    frame["shade"] = gen.choice(["dark", "light", "mid", "pale"], n)
    frame["label"] = label
    return frame


def test_auto_embeds_only_columns_above_the_threshold_with_pandas_codes() -> None:
    frame = _table()
    pre = TablePreprocessor("mean", embed="auto").fit(frame, [c for c in frame if c != "label"])
    kinds = {c["name"]: c["kind"] for c in pre.columns_}
    assert kinds["store"] == "embedded" and kinds["shade"] == "categorical"
    assert frame["shade"].nunique() <= EMBED_AUTO_LEVELS < frame["store"].nunique()
    assert pre.n_features == 20 + 1 + 4  # one code column instead of 200 indicators
    new = frame.head(6).copy()
    new.loc[[0, 3], "store"] = ["never-seen", None]
    codes = pre.transform(new)[:, pre.input_columns.index("store")]
    categories = sorted(frame["store"].unique())
    expected = pd.Index(categories).get_indexer(new["store"]) + 1  # -1 (unseen, missing) → 0
    np.testing.assert_array_equal(codes, expected)
    assert codes[0] == codes[3] == 0
    assert pre.embedded() == ([20], [len(categories) + 1])  # + the reserved code 0


def test_embedded_model_trains_exports_and_round_trips(tmp_path: Path) -> None:
    frame = _table()
    model, _ = TabularModel.fit(
        frame, "label", embed=["store"], hidden=[16], epochs=8, batch_size=64, seed=1
    )
    front = model.network[0]
    assert isinstance(front, ColumnEmbedding) and front.in_features == model.n_features == 25
    assert model.history["val_accuracy"][-1] > 0.7  # chance is about 0.5
    cr.save(model, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors")  # the model-file schema accepts "embedded"
    test = _table(200, seed=5)  # some stores unseen in training are likely: code 0
    test.loc[:4, "store"] = "brand-new"
    np.testing.assert_array_equal(back.predict_proba(test), model.predict_proba(test))
    session = ort.InferenceSession(build_onnx(model).SerializeToString())
    raw = onnx_input(model, test)
    assert raw.dtype == np.float32 and np.all(raw[:5, 20] == 0.0)  # codes as float columns
    _, probabilities = session.run(None, {"input": raw})
    np.testing.assert_allclose(probabilities, model.predict_proba(test), atol=1e-5)


def test_embedding_lets_a_column_past_the_one_hot_limit_in() -> None:
    frame = _table(levels=400)
    with pytest.raises(DataError, match="embed="):
        TabularModel.fit(frame, "label", epochs=1, embed=None)
    model, _ = TabularModel.fit(frame, "label", embed="auto", hidden=[4], epochs=1)
    assert model.network[0].params["E20"].shape[0] == frame["store"].nunique() + 1


def test_cli_train_embed(tmp_path: Path) -> None:
    _table(400).to_csv(tmp_path / "shops.csv", index=False)
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    for embed in ("auto", "store"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "chainrule.cli",
                "train",
                "shops.csv",
                "--target",
                "label",
                "--embed",
                embed,
                "--epochs",
                "2",
                "--hidden",
                "64,32",
                "--ensemble",
                "1",  # one network: the summary's widths are its layers'
                "--quiet",
                "--out",
                f"{embed}.safetensors",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        model = cr.load(tmp_path / f"{embed}.safetensors")
        assert [c["name"] for c in model.preprocessor.columns_ if c["kind"] == "embedded"] == [
            "store"
        ]
        # The summary's widths are the network's: the first Dense sees the embedded width.
        first_dense = next(layer for layer in model.network.layers if type(layer) is cr.Dense)
        assert f"-> {first_dense.in_features} embedded -> 64 -> 32 ->" in done.stdout
