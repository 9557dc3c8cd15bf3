"""The command line's user-facing additions: ``predict --keep``, ``train --dropout/--l2/--l1``.

Oracles: the input table itself (kept columns are the user's values, row for row), a forward
pass by hand from the raw tensors (dropout is the identity at inference), and the known effect
of each penalty on the weights' size (L2 shrinks them all, L1 drives many to zero).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pandas")
pytest.importorskip("safetensors")
from safetensors import safe_open
from safetensors.numpy import load_file


def chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_ux")
    gen = np.random.default_rng(7)
    n = 150
    x1, x2 = gen.normal(0, 1, n), gen.normal(0, 1, n)
    frame = pd.DataFrame(
        {
            "id": [f"r{i:04d}" for i in range(n)],
            "x1": x1,
            "x2": x2,
            "colour": gen.choice(["red", "blue"], n),
            "label": np.where(x1 + x2 > 0, "yes", "no"),
        }
    )
    frame.to_csv(root / "data.csv", index=False)
    return root


def _train(work: Path, out: str, *extra: str) -> Path:
    done = chainrule(
        "train", "data.csv", "--target", "label", "--drop", "id", "--hidden", "16",
        "--epochs", "30", "--lr", "0.01", "--quiet", "--out", out, *extra, cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return work / out


def test_predict_keep_copies_id_columns_row_for_row(work: Path) -> None:
    model = _train(work, "plain.safetensors")
    done = chainrule("predict", model.name, "data.csv", "--keep", "id,colour", "--proba", cwd=work)
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(pd.io.common.StringIO(done.stdout))
    data = pd.read_csv(work / "data.csv")
    assert list(out.columns) == ["id", "colour", "prediction", "proba_no", "proba_yes"]
    assert list(out["id"]) == list(data["id"]) and list(out["colour"]) == list(data["colour"])
    bad = chainrule("predict", model.name, "data.csv", "--keep", "ident", cwd=work)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "'ident'" in bad.stderr and "id, x1" in bad.stderr


def _weights(path: Path) -> np.ndarray:
    t = load_file(path)
    return np.concatenate([t[k].ravel() for k in t if k.endswith(".W")])


def test_train_dropout_l2_l1(work: Path) -> None:
    single = ("--ensemble", "1", "--l2")  # one network: the penalties' own effect
    plain = _weights(_train(work, "no-decay.safetensors", *single, "0"))
    l2 = _weights(_train(work, "l2.safetensors", *single, "0.5"))
    l1 = _weights(_train(work, "l1.safetensors", *single, "0", "--l1", "0.05"))
    assert np.linalg.norm(l2) < 0.7 * np.linalg.norm(plain)  # weight decay shrinks every weight
    assert np.mean(np.abs(l1) < 1e-2) > 2 * np.mean(np.abs(plain) < 1e-2)  # L1: many near zero

    path = _train(work, "drop.safetensors", "--dropout", "0.5")
    meta = json.loads(safe_open(path, "np").metadata()["chainrule"])["meta"]
    kinds = [layer["type"] for layer in meta["network"]["architecture"]["layers"]]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense"]
    assert meta["training"]["dropout"] == 0.5
    # at inference dropout is the identity: predict equals a forward pass that skips it
    t = load_file(path)
    data = pd.read_csv(work / "data.csv")
    columns = []
    for c in meta["preprocessing"]["columns"]:
        if c["kind"] == "numeric":
            z = (data[c["name"]].to_numpy() - c["mean"]) / c["scale"]
            if c.get("clip"):  # robust scaling's smooth clip, z / sqrt(1 + (z/c)^2)
                z = z / np.sqrt(1 + (z / c["clip"]) ** 2)
            columns.append(z)
        else:
            columns += [(data[c["name"]] == k).to_numpy(float) for k in c["categories"]]
    X = np.column_stack(columns)
    logits = np.maximum(X @ t["dense1.W"] + t["dense1.b"], 0) @ t["dense2.W"] + t["dense2.b"]
    done = chainrule("predict", path.name, "data.csv", "--proba", cwd=work)
    proba = pd.read_csv(pd.io.common.StringIO(done.stdout))[["proba_no", "proba_yes"]].to_numpy()
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    # the model computes in float32 (table models' dtype); this pass is float64
    np.testing.assert_allclose(proba, e / e.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    bad = chainrule("train", "data.csv", "--target", "label", "--l2", "-1", cwd=work)
    assert bad.returncode == 2 and "--l2" in bad.stderr
