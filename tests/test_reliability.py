"""Issue 10: no bad run replaces a good model, every bad input gets one clear line, no leftovers.

Each test reproduces one failure found by trying chainrule as a careful user and as an
attacker would; docs/reliability.md's table names these tests.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule import io as container
from chainrule.cli import main
from chainrule.estimators import MLPClassifier
from chainrule.io import ModelFileError, atomic_write_bytes
from chainrule.tabular.data import DataError


@pytest.fixture
def reg_csv(tmp_path: Path) -> Path:
    gen = np.random.default_rng(0)
    X = gen.standard_normal((80, 3))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "t": X @ [1.0, -2.0, 0.5]})
    path = tmp_path / "reg.csv"
    frame.to_csv(path, index=False)
    return path


def _train(csv: Path, out: Path, *extra: str) -> int:
    return main(
        ["train", str(csv), "--target", "t", "--out", str(out), "--epochs", "3", "--quiet", *extra]
    )


# -- 1. a diverged run never replaces a model ------------------------------------------------------
def test_diverged_run_exits_3_and_keeps_the_good_model(
    reg_csv: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "g.safetensors"
    assert _train(reg_csv, out) == 0
    before = out.read_bytes()
    assert _train(reg_csv, out, "--lr", "1e300", "--optimizer", "sgd") == 3
    assert out.read_bytes() == before  # untouched, byte for byte
    err = capsys.readouterr().err
    assert "diverged" in err and "left untouched" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "3 training diverged" in " ".join(capsys.readouterr().out.split())


def test_infinite_training_feature_is_refused_with_column_and_count(
    reg_csv: Path, tmp_path: Path, capsys
) -> None:
    frame = pd.read_csv(reg_csv)
    frame.loc[[4, 9], "b"] = np.inf
    frame.to_csv(reg_csv, index=False)
    assert _train(reg_csv, tmp_path / "m.safetensors") == 1
    err = capsys.readouterr().err
    assert "'b'" in err and "2 infinite" in err and "row 5" in err
    assert not (tmp_path / "m.safetensors").exists()


def test_trainer_refuses_inf_in_X_and_never_ends_with_nan_weights() -> None:
    gen = np.random.default_rng(1)
    X, y = gen.standard_normal((40, 2)), gen.standard_normal(40)
    net = cr.Sequential([cr.Dense(2, 4, rng=gen), cr.Sigmoid(), cr.Dense(4, 1, rng=gen)])
    bad = X.copy()
    bad[3, 0] = np.inf
    with pytest.raises(ValueError, match="X has 1 rows with NaN or infinite"):
        cr.Trainer(net, "mse", "sgd").fit(bad, y)
    with pytest.raises(ValueError, match="y has 1 rows"):
        cr.Trainer(net, "mse", "sgd").fit(X, np.where(np.arange(40) == 7, np.nan, y))
    # Divergence by the step size: the weights left are finite (the last finite ones).
    trainer = cr.Trainer(net, "mse", cr.sgd(1e300))
    trainer.fit(X, y, epochs=5)
    assert trainer.stop_reason == "non_finite"
    assert all(np.isfinite(v).all() for v in net.params.values())


class _Poison(cr.Callback):
    """Writes NaN into the weights, then fails: the path that skips every normal check."""

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if epoch == 1:
            for v in trainer.network.params.values():
                v[...] = np.nan
            raise RuntimeError("callback failed")


def test_trainer_restores_finite_weights_when_a_callback_raises() -> None:
    gen = np.random.default_rng(2)
    X, y = gen.standard_normal((30, 2)), gen.standard_normal(30)
    net = cr.Sequential([cr.Dense(2, 3, rng=gen), cr.Tanh(), cr.Dense(3, 1, rng=gen)])
    with pytest.raises(RuntimeError, match="callback failed"):
        cr.Trainer(net, "mse", cr.sgd(0.1), callbacks=[_Poison()]).fit(X, y, epochs=4)
    assert all(np.isfinite(v).all() for v in net.params.values())


# -- 3. check before the work -------------------------------------------------------------------------
@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere"
)
def test_unwritable_out_folder_is_refused_before_training(
    reg_csv: Path, tmp_path: Path, capsys
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        started = time.perf_counter()
        assert _train(reg_csv, locked / "m.safetensors", "--epochs", "100000") == 1
        assert time.perf_counter() - started < 5  # refused up front, not after 100000 epochs
    finally:
        locked.chmod(0o700)
    assert "not writable" in capsys.readouterr().err


def test_unwritable_out_folder_check_uses_the_folder_permission(
    tmp_path: Path, monkeypatch
) -> None:
    from chainrule.commands import _shared

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a read-only folder
    with pytest.raises(_shared.UsageError, match="not writable"):
        _shared.check_writable(tmp_path / "m.safetensors", "model file")


def test_output_that_is_an_input_is_refused(reg_csv: Path, capsys) -> None:
    before = reg_csv.read_bytes()
    assert main(["train", str(reg_csv), "--target", "t", "--out", str(reg_csv), "--quiet"]) == 1
    assert "also an input" in capsys.readouterr().err
    assert reg_csv.read_bytes() == before


def test_missing_target_column_is_refused_before_training(
    reg_csv: Path, tmp_path: Path, capsys
) -> None:
    assert (
        main(["train", str(reg_csv), "--target", "nope", "--out", str(tmp_path / "m.safetensors")])
        == 1
    )
    assert "no column 'nope'" in capsys.readouterr().err


def test_missing_optional_dependency_is_named_up_front(monkeypatch) -> None:
    from chainrule.commands import _shared

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(_shared.UsageError, match=r"chainrule\[io\]"):
        _shared.require("onnx", "io", "Exporting to ONNX")


def test_negative_seed_is_a_usage_error(reg_csv: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", str(reg_csv), "--target", "t", "--seed", "-1"])
    assert info.value.code == 2
    assert "seed must be a whole number >= 0" in capsys.readouterr().err


# -- 4. no silent guessing of column types ---------------------------------------------------------
def test_stray_token_in_numeric_column_is_an_error_with_the_fix(
    reg_csv: Path, tmp_path: Path, capsys
) -> None:
    text = reg_csv.read_text().splitlines()
    cells = text[6].split(",")
    cells[0] = "?"
    text[6] = ",".join(cells)
    reg_csv.write_text("\n".join(text) + "\n")
    out = tmp_path / "m.safetensors"
    assert _train(reg_csv, out) == 1
    err = capsys.readouterr().err
    assert "'a'" in err and "'?'" in err and "--na-values" in err
    # The fix the message names works: '?' becomes missing, and imputation fills it.
    assert _train(reg_csv, out, "--na-values", "?", "--impute", "mean") == 0
    model = cr.load(out)
    assert [c["kind"] for c in model.preprocessor.columns_] == ["numeric"] * 3


@pytest.mark.parametrize(
    ("column", "words"),
    [
        (pd.Series(pd.date_range("2020-01-01", periods=20)), "dates"),
        (pd.Series([[1, 2]] * 20), "nested"),
        (pd.Series([b"\x00\x01"] * 20), "bytes"),
    ],
)
def test_unsupported_parquet_columns_are_refused_by_name(
    tmp_path: Path, column, words: str
) -> None:
    gen = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"x": gen.standard_normal(20), "odd": column, "t": gen.standard_normal(20)}
    )
    path = tmp_path / "d.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=rf"Column 'odd'.*{words}"):
        cr.TabularModel.fit(cr.tabular.data.read_table(path), "t", epochs=1, source=str(path))
    frame["t"] = frame["odd"]  # the same column as a target: no "unhashable type"
    frame.drop(columns="odd").to_parquet(path)
    with pytest.raises(DataError, match=rf"Target column 't'.*{words}"):
        cr.TabularModel.fit(cr.tabular.data.read_table(path), "t", epochs=1, source=str(path))


def test_predict_refuses_rows_with_infinite_values(reg_csv: Path, tmp_path: Path, capsys) -> None:
    gen = np.random.default_rng(4)
    frame = pd.DataFrame(
        {"a": gen.standard_normal(60), "k": np.where(gen.random(60) > 0.5, "u", "v")}
    )
    frame["t"] = np.where(frame["a"] > 0, "yes", "no")
    train_csv, new_csv = tmp_path / "c.csv", tmp_path / "new.csv"
    frame.to_csv(train_csv, index=False)
    model = tmp_path / "c.safetensors"
    assert (
        main(
            [
                "train",
                str(train_csv),
                "--target",
                "t",
                "--out",
                str(model),
                "--epochs",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    frame.loc[2, "a"] = np.inf
    frame.drop(columns="t").to_csv(new_csv, index=False)
    capsys.readouterr()
    assert main(["predict", str(model), str(new_csv), "--proba"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "'a'" in captured.err and "row 3" in captured.err


# -- 5. API holes ---------------------------------------------------------------------------------------
def test_solver_change_between_partial_fit_calls_restarts_the_optimizer() -> None:
    gen = np.random.default_rng(5)
    X, y = gen.standard_normal((40, 3)), np.arange(40) % 2
    clf = MLPClassifier((4,), solver="adam", random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.set_params(solver="sgd")
    with pytest.warns(UserWarning, match="solver changed from 'adam' to 'sgd'"):
        clf.partial_fit(X, y)  # was: AttributeError 'AdamState' object has no attribute ...
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.partial_fit(X, y)  # the new state belongs to sgd: no second warning
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ({0: 0, 1: 0}, "all zero"),
        ({0: -1.0, 1: 1.0}, "finite and >= 0"),
        ({0: np.inf, 1: 1}, "finite"),
    ],
)
def test_class_weights_are_validated(class_weight, message: str) -> None:
    gen = np.random.default_rng(6)
    X, y = gen.standard_normal((30, 2)), np.arange(30) % 2
    clf = MLPClassifier((3,), max_iter=2, class_weight=class_weight)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_trainer_checks_sample_weights_and_class_indices() -> None:
    gen = np.random.default_rng(7)
    X = gen.standard_normal((10, 2))
    net = cr.Sequential([cr.Dense(2, 3, rng=gen)])
    trainer = cr.Trainer(net, cr.CrossEntropy(), "sgd")
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, -1])
    with pytest.raises(ValueError, match=r"class indices from -1 to 2.*\[0, 2\]"):
        trainer.fit(X, labels)  # was: -1 silently trained as the last class
    y = np.arange(10) % 3
    for w, message in [
        (np.ones(9), "9"),
        (-np.ones(10), "negative"),
        (np.zeros(10), "all zero"),
        (np.full(10, np.nan), "NaN"),
    ]:
        with pytest.raises(ValueError, match=message):
            trainer.fit(X, y, sample_weight=w)


def test_layer_sizes_must_be_integers() -> None:
    with pytest.raises(TypeError, match=r"in_features must be an integer, got 2\.7"):
        cr.Dense(2.7, 3)  # was: silently Dense(2, 3)
    assert cr.Dense(np.int64(2), 3).in_features == 2


# -- 2. model files that are valid JSON but not what chainrule wrote ------------------------------
def _forged(tmp_path: Path, edit) -> Path:
    gen = np.random.default_rng(8)
    X, y = gen.standard_normal((30, 2)), np.arange(30) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((3,), max_iter=2).fit(X, y)
    tensors, meta = cr.persist.state_of(clf)
    edit(meta)
    path = tmp_path / "forged.safetensors"
    path.write_bytes(container.encode(tensors, meta))  # a valid checksum over forged JSON
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["history"].update(best_epoch="x"), r"history.best_epoch: expected an integer"),
        (
            lambda m: m["network"]["architecture"]["layers"][0].update(type="Activation"),
            "base class",
        ),
        (lambda m: m["classes"].update(dtype="<U9999"), "wider than its values"),
        (lambda m: m["fitted"].update(n_features_in_=[1]), "n_features_in_: expected an integer"),
        (lambda m: m.update(network={"architecture": 3, "dtype": "float64"}), "expected an object"),
    ],
)
def test_metadata_not_written_by_chainrule_gets_one_line(
    tmp_path: Path, edit, message: str
) -> None:
    with pytest.raises(ModelFileError, match=message) as info:
        cr.load(_forged(tmp_path, edit))
    assert "\n" not in str(info.value)


# -- 6. no leftovers ---------------------------------------------------------------------------------------
_SLOW_SAVE = """
import sys, time
from chainrule import io as atomic
real = atomic.os.fsync
def slow(fd):
    print("writing", flush=True)
    time.sleep(30)
    real(fd)
atomic.os.fsync = slow
atomic.atomic_write_bytes(sys.argv[1], b"x" * 10_000_000)
"""


def test_sigterm_during_a_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "m.safetensors"
    target.write_bytes(b"old model")
    env = {**os.environ, "PYTHONPATH": str(Path(cr.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SAVE, str(target)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    proc.stdout.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert target.read_bytes() == b"old model"


def test_stale_temporary_file_is_never_a_model_and_is_cleaned(tmp_path: Path) -> None:
    net = cr.Sequential([cr.Dense(2, 2, rng=0)])
    cr.save(net, tmp_path / "m.safetensors")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".m.safetensors.{int(dead.stdout)}.abc123.tmp"
    stale.write_bytes((tmp_path / "m.safetensors").read_bytes())  # as a SIGKILL would leave it
    with pytest.raises(ModelFileError, match="temporary file left by an interrupted save"):
        cr.load(stale)
    cr.save(net, tmp_path / "m.safetensors")  # the next save removes what the dead process left
    assert not stale.exists()


def test_saving_over_a_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    atomic_write_bytes(path, b"first")
    path.chmod(0o640)
    cr.save(cr.Sequential([cr.Dense(2, 2, rng=0)]), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_control_characters_in_a_model_file_never_reach_the_terminal(
    tmp_path: Path, capsys
) -> None:
    gen = np.random.default_rng(9)
    frame = pd.DataFrame({"x\x1b[2J": gen.standard_normal(30)})
    frame["\x1b]0;pwned\x07t"] = frame.iloc[:, 0] * 2
    csv = tmp_path / "e.csv"
    frame.to_csv(csv, index=False)
    model = tmp_path / "e.safetensors"
    target = frame.columns[1]
    assert (
        main(
            ["train", str(csv), "--target", target, "--out", str(model), "--epochs", "1", "--quiet"]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "pwned" in out


def test_json_metadata_roundtrip_is_unaffected(tmp_path: Path) -> None:
    """The schema accepts every kind chainrule writes (an oracle: the writer's own output)."""
    net = cr.Sequential([cr.Dense(3, 4, rng=0), cr.ReLU(), cr.Dropout(0.1), cr.Dense(4, 1, rng=0)])
    cr.save(net, tmp_path / "n.safetensors")
    loaded = cr.load(tmp_path / "n.safetensors")
    assert json.dumps(loaded.config()) == json.dumps(net.config())
