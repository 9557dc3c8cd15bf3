"""The ``chainrule`` command, driven as a subprocess the way a user runs it.

Oracles: a forward pass written here in plain NumPy from the tensors that the ``safetensors``
library reads out of the model file; scikit-learn's metrics for ``evaluate``; onnxruntime for
``export``; and, for every user mistake, the rule that it ends in one ``chainrule: error:``
line and a non-zero status, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

import chainrule as cr
from chainrule.cli import COMMANDS, build_parser


def chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _flowers(n: int, gen: np.random.Generator) -> pd.DataFrame:
    species = gen.choice(["setosa", "versicolor", "virginica"], n)
    shift = pd.Series(species).map({"setosa": 0.0, "versicolor": 1.5, "virginica": 3.0}).to_numpy()
    return pd.DataFrame(
        {
            "petal": 1.5 + 1.2 * shift + gen.normal(0, 0.4, n),
            "sepal": 5.0 + 0.6 * shift + gen.normal(0, 0.4, n),
            "soil": gen.choice(["clay", "sand"], n),
            "species": species,
        }
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    gen = np.random.default_rng(2024)
    _flowers(120, gen).to_csv(root / "train.csv", index=False)
    _flowers(40, gen).to_csv(root / "test.csv", index=False)
    x = gen.uniform(0, 10, 150)
    houses = pd.DataFrame({"rooms": x, "age": gen.uniform(0, 50, 150)})
    houses["price"] = 50_000 + 20_000 * x - 300 * houses["age"] + gen.normal(0, 5_000, 150)
    houses.to_parquet(root / "houses.parquet")
    return root


@pytest.fixture(scope="module")
def trained(work: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    result = chainrule(
        "train", "train.csv", "--target", "species", "--hidden", "8", "--activation", "tanh",
        "--lr", "0.01", "--epochs", "40", "--seed", "3", "--ensemble", "1",
        "--out", "iris.safetensors", cwd=work,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return work / "iris.safetensors", result


def _forward_by_hand(model_path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Probabilities of a 1-hidden-layer tanh classifier, from the raw file contents."""
    meta = json.loads(safe_open(model_path, "np").metadata()["chainrule"])["meta"]
    t = load_file(model_path)
    columns = []
    for c in meta["preprocessing"]["columns"]:
        if c["kind"] == "numeric":
            z = (frame[c["name"]].to_numpy() - c["mean"]) / c["scale"]
            if c.get("clip"):  # robust scaling's smooth clip, z / sqrt(1 + (z/c)^2)
                z = z / np.sqrt(1 + (z / c["clip"]) ** 2)
            columns.append(z)
        else:
            columns += [(frame[c["name"]] == k).to_numpy(float) for k in c["categories"]]
    X = np.column_stack(columns)
    logits = np.tanh(X @ t["dense1.W"] + t["dense1.b"]) @ t["dense2.W"] + t["dense2.b"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- the happy path -------------------------------------------------------------------------------
def test_train_prints_progress_lines_and_a_summary(
    trained: tuple[Path, subprocess.CompletedProcess],
) -> None:
    path, result = trained
    assert path.exists()
    lines = result.stderr.splitlines()  # not a terminal: plain lines, no carriage returns
    assert "\r" not in result.stderr
    assert lines[0].startswith("epoch 1/40") and "val_loss" in lines[0] and "left" in lines[0]
    assert any(line.startswith("epoch 40/40") for line in lines)
    assert "Trained a classification model for 'species'" in result.stdout
    for row in (
        "epochs run      40 of 40\n",
        "weights kept    epoch 40 (",
        "val_accuracy",
        "model file",
    ):
        assert row in result.stdout
    model = cr.load(path)
    assert len(model.history) == 40
    assert "grad_norm/dense1.W" in model.history.history  # for 'chainrule plot --kind gradients'


def test_predict_matches_a_forward_pass_by_hand(
    work: Path, trained: tuple[Path, subprocess.CompletedProcess]
) -> None:
    path, _ = trained
    result = chainrule("predict", path.name, "test.csv", "--proba", "--out", "pred.csv", cwd=work)
    assert result.returncode == 0, result.stderr
    pred = pd.read_csv(work / "pred.csv")
    test = pd.read_csv(work / "test.csv")
    expected = _forward_by_hand(path, test)
    classes = np.array(["setosa", "versicolor", "virginica"])
    proba_columns = [f"proba_{c}" for c in classes]
    assert list(pred.columns) == ["prediction", *proba_columns]
    # the model computes in float32 (table models' dtype); the hand's pass is float64
    np.testing.assert_allclose(pred[proba_columns].to_numpy(), expected, rtol=1e-5, atol=1e-7)
    assert list(pred["prediction"]) == list(classes[expected.argmax(axis=1)])
    to_stdout = chainrule("predict", path.name, "test.csv", cwd=work)
    assert to_stdout.stdout.splitlines()[0] == "prediction"
    assert to_stdout.stdout.splitlines()[1:] == [str(v) for v in pred["prediction"]]


def test_evaluate_matches_scikit_learn(
    work: Path, trained: tuple[Path, subprocess.CompletedProcess]
) -> None:
    from sklearn import metrics

    path, _ = trained
    result = chainrule("evaluate", path.name, "test.csv", "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    truth = pd.read_csv(work / "test.csv")["species"]
    proba = _forward_by_hand(path, pd.read_csv(work / "test.csv"))
    predicted = np.array(scores["classes"])[proba.argmax(axis=1)]
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert scores["f1"] == pytest.approx(metrics.f1_score(truth, predicted, average="macro"))
    assert scores["log_loss"] == pytest.approx(
        metrics.log_loss(truth, proba, labels=scores["classes"])
    )
    assert scores["confusion_matrix"] == metrics.confusion_matrix(truth, predicted).tolist()
    table = chainrule("evaluate", path.name, "test.csv", cwd=work)
    assert "Confusion matrix (rows: true class, columns: predicted):" in table.stdout
    assert f"accuracy    {scores['accuracy']:.4f}" in table.stdout


def test_regression_on_parquet_end_to_end(work: Path) -> None:
    from sklearn import metrics

    trained = chainrule(
        "train", "houses.parquet", "--target", "price", "--hidden", "16", "--epochs", "60",
        "--lr", "0.01", "--early-stopping", "--patience", "5", "--quiet", "--out", "h.safetensors",
        cwd=work,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr == ""  # --quiet
    assert "Trained a regression model for 'price'" in trained.stdout
    predicted = chainrule("predict", "h.safetensors", "houses.parquet", cwd=work)
    values = pd.read_csv(pd.io.common.StringIO(predicted.stdout))["prediction"].to_numpy()
    truth = pd.read_parquet(work / "houses.parquet")["price"].to_numpy()
    scores = json.loads(
        chainrule("evaluate", "h.safetensors", "houses.parquet", "--json", cwd=work).stdout
    )
    assert scores["rmse"] == pytest.approx(metrics.root_mean_squared_error(truth, values), rel=1e-6)
    assert scores["mae"] == pytest.approx(metrics.mean_absolute_error(truth, values), rel=1e-6)
    assert scores["r2"] == pytest.approx(metrics.r2_score(truth, values), rel=1e-6)
    assert scores["r2"] > 0.9  # price is nearly linear in rooms and age


def test_info_describes_the_model(
    work: Path, trained: tuple[Path, subprocess.CompletedProcess]
) -> None:
    path, _ = trained
    result = chainrule("info", path.name, cwd=work)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "a TabularModel" in out and "model format 1" in out
    assert "classes           setosa, versicolor, virginica" in out
    n_params = 4 * 8 + 8 + 8 * 3 + 3  # petal, sepal, soil=clay, soil=sand -> 8 -> 3
    assert f"parameters        {n_params}" in out
    assert ["soil", "categorical", "one-hot:", "clay,", "sand"] in [
        line.split() for line in out.splitlines()
    ]
    assert "epochs run      40" in out


def test_export_runs_in_onnxruntime(
    work: Path, trained: tuple[Path, subprocess.CompletedProcess]
) -> None:
    import onnxruntime as ort

    from chainrule.onnx_export import onnx_input

    path, _ = trained
    result = chainrule("export", path.name, "--onnx", "iris.onnx", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "outputs label, probabilities" in result.stdout
    test = pd.read_csv(work / "test.csv")
    session = ort.InferenceSession(str(work / "iris.onnx"), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"input": onnx_input(cr.load(path), test)})
    expected = _forward_by_hand(path, test)
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    assert list(labels) == list(np.array(["setosa", "versicolor", "virginica"])[expected.argmax(1)])


def test_gradcheck_a_model_file_and_the_lecture_architecture(
    work: Path, trained: tuple[Path, subprocess.CompletedProcess]
) -> None:
    path, _ = trained
    from_file = chainrule("gradcheck", path.name, cwd=work)
    assert from_file.returncode == 0, from_file.stderr
    assert "with CrossEntropy" in from_file.stdout and "dense2.W  8x3" in from_file.stdout
    lecture = chainrule(
        "gradcheck", "--layers", "2,4,1", "--activation", "sigmoid",
        "--output-activation", "sigmoid", "--loss", "mse", cwd=work,
    )  # fmt: skip
    assert lecture.returncode == 0, lecture.stderr
    rows = [line.split() for line in lecture.stdout.splitlines() if line.startswith("  dense")]
    assert [r[:2] for r in rows] == [["dense1.W", "2x4"], ["dense1.b", "4"], ["dense2.W", "4x1"],
                                     ["dense2.b", "1"]]  # fmt: skip
    assert all(float(r[2]) < 1e-6 and r[3] == "yes" for r in rows)


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for name in (module.NAME for module in COMMANDS):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "example:\n  chainrule " + name in out, name


# -- user mistakes ----------------------------------------------------------------------------------
MISTAKES = {
    "missing data file": (["train", "nope.csv", "--target", "y"], "'nope.csv' does not exist"),
    "unknown extension": (["train", "iris.safetensors", "--target", "y"], "Cannot tell the format"),
    "unknown column": (["train", "train.csv", "--target", "colour"], "no column 'colour'"),
    "text target for regression": (
        ["train", "train.csv", "--target", "species", "--task", "regression"],
        "regression needs numbers, so use --task classification",
    ),
    "continuous target for classification": (
        ["train", "houses.parquet", "--target", "price", "--task", "classification"],
        "too many to be classes; use --task regression",
    ),
    "bad option value": (["train", "train.csv", "--target", "species", "--hidden", "8,x"],
                         "argument --hidden: expected comma-separated positive integers"),
    "zero epochs": (["train", "train.csv", "--target", "species", "--epochs", "0"],
                    "argument --epochs: expected a positive integer"),
    "output folder missing": (["train", "train.csv", "--target", "species", "--out", "no/m.st"],
                              "folder 'no' does not exist"),
    "model is not a model file": (["predict", "train.csv", "test.csv"], "not a chainrule model file"),
    "truncated model file": (["info", "truncated.safetensors"], "truncated"),
    "missing model file": (["evaluate", "gone.safetensors", "test.csv"], "does not exist"),
    "different columns": (["predict", "iris.safetensors", "houses.parquet"],
                          "has no column 'petal', 'sepal', 'soil' (needed by the model)"),
    "text in a numeric column": (["predict", "iris.safetensors", "text.csv"],
                                 "holds text such as 'tall'"),
    "unknown class in evaluate": (["evaluate", "iris.safetensors", "newclass.csv"],
                                  "'rose', which is not one of the model's classes"),
    "missing values": (["train", "holes.csv", "--target", "species", "--impute", "error"],
                       "'petal' in 'holes.csv' has 1 missing values (first in data row 2)"),
    "proba on a regressor": (["predict", "h.safetensors", "houses.parquet", "--proba"],
                             "--proba needs a classifier"),
}  # fmt: skip


@pytest.fixture(scope="module")
def broken_inputs(work: Path, trained: tuple[Path, subprocess.CompletedProcess]) -> Path:
    path, _ = trained
    (work / "truncated.safetensors").write_bytes(path.read_bytes()[:-100])
    test = pd.read_csv(work / "test.csv")
    test.assign(petal=["tall", *list(test["petal"][1:].astype(str))]).to_csv(
        work / "text.csv", index=False
    )
    test.assign(species=["rose", *list(test["species"][1:])]).to_csv(
        work / "newclass.csv", index=False
    )
    test.assign(petal=[1.0, np.nan, *list(test["petal"][2:])]).to_csv(
        work / "holes.csv", index=False
    )
    if not (work / "h.safetensors").exists():
        assert chainrule(
            "train", "houses.parquet", "--target", "price", "--epochs", "1", "--quiet",
            "--out", "h.safetensors", cwd=work,
        ).returncode == 0  # fmt: skip
    return work


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_user_mistakes_give_one_line_and_no_traceback(broken_inputs: Path, case: str) -> None:
    args, expected = MISTAKES[case]
    before = sorted(p.name for p in broken_inputs.iterdir())
    result = chainrule(*args, cwd=broken_inputs)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), result.stderr
    assert expected in lines[0]
    assert sorted(p.name for p in broken_inputs.iterdir()) == before  # no half-written file


def test_imputation_option_trains_on_missing_values(broken_inputs: Path) -> None:
    result = chainrule(
        "train", "holes.csv", "--target", "species", "--impute", "median", "--epochs", "2",
        "--quiet", "--out", "holes.safetensors", cwd=broken_inputs,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    petal = pd.read_csv(broken_inputs / "holes.csv")["petal"]
    column = cr.load(broken_inputs / "holes.safetensors").preprocessor.columns_[0]
    assert column["fill"] == pytest.approx(float(np.nanmedian(petal)))


# -- Ctrl-C ------------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_training_and_still_saves_the_best_model(work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli", "train", "train.csv", "--target", "species",
         "--hidden", "4", "--epochs", "1000000", "--batch-size", "full", "--out", "ctrl_c.safetensors"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        first = process.stderr.readline()  # training has begun once a progress line is out
        assert first.startswith("epoch 1/1000000"), first
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "training interrupted; the best weights so far were saved" in stderr
    assert "Traceback" not in stderr
    model = cr.load(work / "ctrl_c.safetensors")
    history = model.history
    assert history.stop_reason == "interrupted"
    assert 1 <= len(history) < 1_000_000
    assert "(interrupted by Ctrl-C)" in stdout
    assert f"weights kept    epoch {history.best_epoch + 1} (best" in stdout
    proba = model.predict_proba(pd.read_csv(work / "test.csv"))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
