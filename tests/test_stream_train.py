"""``chainrule train --memory-limit``: a Parquet file trained on without loading it.

Oracles: the in-memory path on the same file — ``pandas.read_parquet`` and
``TablePreprocessor.fit`` for the statistics, numpy's ``mean``/``std`` for the target, the
in-memory ``Trainer.fit`` on the encoded arrays (``shuffle=False``) for the weights — and the
real ``chainrule`` process for the command line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import chainrule as cr
from chainrule.commands._stream_train import memory_size
from chainrule.network import losses
from chainrule.tabular.data import DataError
from chainrule.tabular.model import TabularModel
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.tabular.recipe import build_network
from chainrule.tabular.stream import ParquetTable, fit_parquet, held_out
from chainrule.tabular.streamfit import TargetEncoding, fit_chunks
from chainrule.tabular.targets import check_classification_target, class_indices


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    colour = gen.choice(["red", "green", "blue", "teal"], n)
    size = gen.normal(1e4, 3.0, n)  # large mean, small spread: a naive sum of squares loses digits
    weight = gen.exponential(2.0, n)
    weight[gen.random(n) < 0.05] = np.nan
    score = 0.5 * np.where(colour == "red", 1.0, 0.0) + (size - 1e4) / 3 + gen.normal(0, 0.3, n)
    label = np.where(score > 0.3, "high", np.where(score < -0.5, "low", "mid"))
    return pd.DataFrame(
        {
            "colour": colour,
            "size": size,
            "count": gen.integers(0, 9, n),
            "weight": weight,
            "label": label,
            "price": 100 + 20 * score,
        }
    )


def _write(path: Path, frame: pd.DataFrame, rows_per_group: int) -> Path:
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows_per_group
    )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream")
    _write(root / "train.parquet", _table(3000), 700)
    _table(200, seed=1).to_csv(root / "new.csv", index=False)
    return root


def test_streamed_statistics_equal_the_in_memory_fit(files: Path) -> None:
    path = files / "train.parquet"
    frame = pd.read_parquet(path)  # the oracle reads the whole file
    features = ["colour", "size", "count", "weight"]
    expected = TablePreprocessor("mean").fit(frame, features).columns_
    pre, target, rows = fit_chunks(
        ParquetTable(path).chunks(), "price", features, impute="mean", task="regression"
    )
    assert rows == len(frame)
    for got, want in zip(pre.columns_, expected, strict=True):
        assert got.keys() == want.keys() and got["kind"] == want["kind"]
        if got["kind"] == "numeric":
            for key in ("mean", "scale", "fill"):
                if want[key] is None:
                    assert got[key] is None
                else:
                    assert got[key] == pytest.approx(want[key], rel=1e-13, abs=0)
        else:
            assert got["categories"] == want["categories"]
    assert target.mean == pytest.approx(np.mean(frame["price"]), rel=1e-13)
    assert target.scale == pytest.approx(np.std(frame["price"]), rel=1e-13)
    _, classes, _ = fit_chunks(ParquetTable(path).chunks(), "label", features, impute="mean")
    assert classes.task == "classification"
    assert classes.classes == check_classification_target(frame["label"], "label", "t")


def test_median_imputation_is_refused_with_one_line(files: Path) -> None:
    with pytest.raises(DataError, match="impute='median' cannot be computed exactly") as err:
        fit_parquet(files / "train.parquet", "label", impute="median", epochs=1)
    assert "\n" not in str(err.value)


def test_streamed_training_equals_in_memory_training_bit_for_bit(files: Path) -> None:
    path = files / "train.parquet"
    frame = pd.read_parquet(path)
    features = ["colour", "size", "count", "weight"]
    pre = TablePreprocessor("mean").fit(frame, features)
    classes = check_classification_target(frame["label"], "label", "t")
    model, _ = fit_parquet(
        path,
        "label",
        hidden=[6],
        epochs=2,
        batch_size=64,  # 700-row groups and 8192-row reads: batches straddle both
        validation_split=0.0,
        impute="mean",
        shuffle=False,
        buffer_bytes=10_000,
        fitted=(pre, TargetEncoding("classification", classes)),
        seed=3,
    )
    # The oracle: the in-memory loop, same initial weights (same seed spawn), no shuffle.
    init_rng, _ = np.random.default_rng(3).spawn(2)
    net = build_network(pre.n_features, [6], len(classes), "relu", init_rng)
    trainer = cr.Trainer(net, losses.CrossEntropy(), cr.adam(1e-3))
    X, y = pre.transform(frame), class_indices(frame["label"], classes, "label", "t")
    history = trainer.fit(X, y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    for name, value in net.params.items():
        np.testing.assert_array_equal(model.network.params[name], value)
    assert model.history["loss"] == history["loss"]


def test_validation_rows_follow_the_hash_rule(files: Path) -> None:
    rows = np.arange(100_000)
    mask = held_out(rows, 0.2, seed=0)
    assert abs(mask.mean() - 0.2) < 0.005  # about f·N rows …
    np.testing.assert_array_equal(mask, held_out(rows, 0.2, seed=0))  # … the same every pass
    assert (mask != held_out(rows, 0.2, seed=1)).any()
    model, _ = fit_parquet(files / "train.parquet", "label", hidden=[4], epochs=2, impute="mean")
    assert len(model.history["val_loss"]) == 2 and np.isfinite(model.history["val_loss"]).all()


def _chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_cli_streams_under_the_limit_and_predict_uses_the_model(files: Path) -> None:
    # Prove that the whole table is never read: a wrapper poisons the full-table readers
    # (chainrule's read_table and pandas.read_parquet) in the real process, then runs the CLI.
    poisoned = (
        "import sys, pandas, chainrule.tabular.data as d\n"
        "def boom(*a, **k): raise SystemExit('full-table reader called')\n"
        "d.read_table = boom; pandas.read_parquet = boom\n"
        "import chainrule.commands.train as t; t.read_table = boom\n"
        "from chainrule.cli import main; sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["train", "train.parquet", "--target", "label", "--memory-limit", "10kB"]
    args += ["--hidden", "8", "--epochs", "3", "--impute", "mean", "--out", "s.safetensors"]
    done = subprocess.run(
        [sys.executable, "-c", poisoned, *args],
        cwd=files,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "3000 rows" in done.stdout and "val_loss" in done.stdout
    model = cr.load(files / "s.safetensors")
    assert isinstance(model, TabularModel) and model.training["streamed"]
    assert model.training["rows"] == 3000
    predicted = _chainrule("predict", "s.safetensors", "new.csv", "--out", "p.csv", cwd=files)
    assert predicted.returncode == 0, predicted.stderr
    labels = pd.read_csv(files / "p.csv").iloc[:, -1]
    assert len(labels) == 200 and set(labels) <= {"high", "low", "mid"}
    # Streaming cannot impute the median: one line naming the alternatives.
    refused = _chainrule(*args[:-2], "--impute", "median", cwd=files)
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1
    assert "--impute mean" in refused.stderr


def test_large_csv_is_refused_with_one_line(files: Path) -> None:
    big = _table(30_000)
    big.to_csv(files / "big.csv", index=False)
    done = _chainrule("train", "big.csv", "--target", "label", "--memory-limit", "1MB", cwd=files)
    assert done.returncode != 0 and done.stderr.count("\n") == 1
    assert "only Parquet files are streamed" in done.stderr


@pytest.mark.parametrize("text", ["lots", "500XB", "-1GB", "", "1e3MB"])
def test_bad_memory_limits_get_one_line(files: Path, text: str) -> None:
    done = _chainrule(
        "train", "train.parquet", "--target", "label", "--memory-limit", text, cwd=files
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "--memory-limit" in lines[0]


def test_memory_sizes_parse_in_decimal_and_binary_units() -> None:
    assert memory_size("500MB") == 500_000_000
    assert memory_size("2GB") == 2_000_000_000
    assert memory_size("1.5GiB") == 3 * 2**29
    assert memory_size("750m") == 750_000_000
    assert memory_size("2000000") == 2_000_000
    with pytest.raises(argparse.ArgumentTypeError):
        memory_size("12")  # 12 bytes: below the 1 kB floor
