"""``python -m benchmarks.tables``: chainrule's defaults against its peers on real tables.

Every contender runs at its defaults, one thread each, in the same run, on the same fixed
80/20 split of each table (rows shuffled with seed 0; at most ``--max-train-rows`` training
rows and ``--max-test-rows`` test rows kept), once per seed (``--seeds``, three by default);
the table prints accuracy (%) or RMSE as mean ± sd over the seeds and the mean fit seconds.

Contenders:

* ``chainrule train``: the command line, ``chainrule train train.csv --target COL --seed S``
  on the training rows written as CSV; its fit time is the one the command prints.
* ``TabularClassifier`` / ``TabularRegressor``: chainrule's scikit-learn estimators on the
  DataFrame.
* ``sklearn MLP``: ``MLPClassifier`` / ``MLPRegressor`` after a ``ColumnTransformer``
  (numbers: median ``SimpleImputer`` + ``StandardScaler``; text: most-frequent
  ``SimpleImputer`` + ``OneHotEncoder(handle_unknown="ignore")``).
* ``LightGBM``: ``LGBMClassifier`` / ``LGBMRegressor``, text columns as pandas categories,
  missing values left to LightGBM.
* ``RealMLP-TD``: pytabkit's ``RealMLP_TD_Classifier`` / ``RealMLP_TD_Regressor`` (Holzmüller
  et al. 2024), text columns as categories; missing numbers filled with the training median
  and missing text made a level of its own beforehand (RealMLP takes no missing numbers).

Tables come from scikit-learn's bundled data and from the data shipped with Debian's R
packages (``scripts/install-bench-data.sh``), read with ``Rscript`` or, for ``.rda`` files,
the ``rdata`` package; a table that cannot be found is named at the start and skipped. The
peers are in the ``bench`` extra (``pip install chainrule[bench]``); a missing one is named
and skipped too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

R_LIBRARIES = ("/usr/lib/R/site-library", "/usr/lib/R/library", "/usr/local/lib/R/site-library")
CACHE = Path(
    os.environ.get("CHAINRULE_BENCH_DATA", Path(tempfile.gettempdir()) / "chainrule-tables")
)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Table:
    """One benchmark table: where it comes from, what to predict, what makes it hard."""

    name: str
    source: str  # "sklearn:<loader>" or "R:<package>:<dataset>"
    target: str
    task: str
    about: str
    drop: tuple[str, ...] = field(default=())


TABLES = [
    Table("digits", "sklearn:load_digits", "target", "classification",
          "1,797 rows, 64 pixel counts, 10 classes"),
    Table("Chile", "R:carData:Chile", "vote", "classification",
          "2,700 rows, 4 classes, missing numbers and text, skewed income"),
    Table("TitanicSurvival", "R:carData:TitanicSurvival", "survived", "classification",
          "1,309 rows, missing ages"),
    Table("HMDA", "R:AER:HMDA", "deny", "classification",
          "2,380 rows, mortgage denials, mostly yes/no text"),
    Table("BEPS", "R:carData:BEPS", "vote", "classification",
          "1,525 rows, 3 classes, ordinal scores"),
    Table("MplsStops", "R:carData:MplsStops", "problem", "classification",
          "51,920 rows, missing values, 87 neighbourhoods (text)", ("idNum", "date")),
    Table("CPS1988", "R:AER:CPS1988", "wage", "regression",
          "28,155 rows, skewed wages, text columns"),
    Table("SLID", "R:carData:SLID", "wages", "regression",
          "7,425 rows, missing values in target and features"),
    Table("NMES1988", "R:AER:NMES1988", "visits", "regression",
          "4,406 rows, skewed counts, many text columns"),
    Table("movielens", "R:dslabs:movielens", "rating", "regression",
          "100,004 rows, titles and genres as high-cardinality text"),
    Table("diabetes", "sklearn:load_diabetes", "target", "regression", "442 rows, numbers"),
]  # fmt: skip


# -- reading the tables -----------------------------------------------------------------------
def _sklearn_table(loader: str) -> pd.DataFrame:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    return bunch.frame


def _r_table(package: str, dataset: str) -> pd.DataFrame | str:
    """The dataset as a DataFrame via ``Rscript`` (cached as CSV), else ``rdata``, else why not."""
    found = [Path(lib, package) for lib in R_LIBRARIES if Path(lib, package).is_dir()]
    if not found:
        return f"R package {package!r} is not installed (scripts/install-bench-data.sh)"
    cached = CACHE / f"{package}-{dataset}.csv"
    if not cached.exists() and shutil.which("Rscript"):
        CACHE.mkdir(parents=True, exist_ok=True)
        script = (
            f"e <- new.env(); data(list = '{dataset}', package = '{package}', envir = e); "
            f"write.csv(get('{dataset}', envir = e), '{cached}', row.names = FALSE)"
        )
        subprocess.run(["Rscript", "-e", script], capture_output=True, check=False, timeout=120)
    if cached.exists():
        return pd.read_csv(cached)
    rda = found[0] / "data" / f"{dataset}.rda"
    if rda.exists():
        try:
            import rdata
        except ImportError:
            return "neither Rscript nor the rdata package is available"
        return next(iter(rdata.read_rda(rda).values()))
    return f"{package}::{dataset} needs Rscript (its package stores data in a lazy-load database)"


def load(table: Table) -> pd.DataFrame | str:
    """The table with its ``drop`` columns removed, or the reason it could not be read."""
    kind, *where = table.source.split(":")
    try:
        frame = _sklearn_table(where[0]) if kind == "sklearn" else _r_table(*where)
    except Exception as exc:  # a broken install is reported, not fatal
        return f"{type(exc).__name__}: {exc}"
    if isinstance(frame, str):
        return frame
    frame = frame.drop(columns=[c for c in table.drop if c in frame.columns])
    return frame.reset_index(drop=True)


def split(
    frame: pd.DataFrame, target: str, max_train: int, max_test: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fixed split: rows with a target, shuffled with seed 0, 80/20, then capped."""
    frame = frame[frame[target].notna()]
    order = np.random.default_rng(0).permutation(len(frame))
    cut = round(0.8 * len(frame))
    train = frame.iloc[order[:cut][:max_train]].reset_index(drop=True)
    test = frame.iloc[order[cut:][:max_test]].reset_index(drop=True)
    return train, test


def text_columns(frame: pd.DataFrame) -> list[str]:
    from pandas.api import types

    return [
        c
        for c in frame.columns
        if not (types.is_numeric_dtype(frame[c]) or types.is_bool_dtype(frame[c]))
    ]


# -- contenders: fit on (train, target) -> (predictions for test, fit seconds) ----------------
ESTIMATOR_OPTIONS: dict[str, Any] = {}
"""Options other than the defaults for the ``TabularClassifier/Regressor`` contender (``--set``)."""


def _option(text: str) -> tuple[str, Any]:
    """``"ensemble=1"`` → ``("ensemble", 1)``; the value is read as JSON, else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE, e.g. ensemble=1; got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


Fit = Callable[[pd.DataFrame, pd.DataFrame, Table, int], tuple[np.ndarray, float]]


def chainrule_cli(train: pd.DataFrame, test: pd.DataFrame, table: Table, seed: int):
    import chainrule
    from chainrule.tabular.data import read_table

    with tempfile.TemporaryDirectory() as folder:
        data, out = Path(folder, "train.csv"), Path(folder, "model.safetensors")
        train.to_csv(data, index=False)
        test.drop(columns=[table.target]).to_csv(Path(folder, "test.csv"), index=False)
        command = [sys.executable, "-m", "chainrule", "train", str(data), "--target", table.target]
        command += ["--seed", str(seed), "--out", str(out), "--quiet"]
        done = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, **ONE_THREAD}, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
        seconds = float(re.search(r"time\s+([\d.]+) s", done.stdout)[1])
        model = chainrule.load(out)
        return model.predict(read_table(Path(folder, "test.csv"))), seconds


def chainrule_estimator(train: pd.DataFrame, test: pd.DataFrame, table: Table, seed: int):
    import chainrule

    kind = (
        chainrule.TabularClassifier
        if table.task == "classification"
        else chainrule.TabularRegressor
    )
    X, y = train.drop(columns=[table.target]), train[table.target]
    started = time.perf_counter()
    model = kind(random_state=seed, **ESTIMATOR_OPTIONS).fit(X, y)
    seconds = time.perf_counter() - started
    return model.predict(test.drop(columns=[table.target])), seconds


def sklearn_mlp(train: pd.DataFrame, test: pd.DataFrame, table: Table, seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = train.drop(columns=[table.target]), train[table.target]
    text = text_columns(X)
    numbers = [c for c in X.columns if c not in text]
    encode = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                text,
            ),
        ]
    )
    mlp = MLPClassifier if table.task == "classification" else MLPRegressor
    model = make_pipeline(encode, mlp(random_state=seed))
    X = X.astype({c: object for c in text})
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    seconds = time.perf_counter() - started
    return model.predict(
        test.drop(columns=[table.target]).astype({c: object for c in text})
    ), seconds


def _as_categories(
    train: pd.DataFrame, test: pd.DataFrame, fill: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as pandas categories with the training levels (and numbers median-filled)."""
    train, test = train.copy(), test.copy()
    for c in text_columns(train):
        a, b = train[c].astype(object), test[c].astype(object)
        if fill:
            a, b = a.where(a.notna(), "<missing>"), b.where(b.notna(), "<missing>")
        levels = sorted({str(v) for v in a.dropna()})
        train[c] = pd.Categorical(a.map(lambda v: v if pd.isna(v) else str(v)), categories=levels)
        test[c] = pd.Categorical(b.map(lambda v: v if pd.isna(v) else str(v)), categories=levels)
    if fill:
        for c in train.columns:
            if c not in text_columns(train) and train[c].isna().any() | test[c].isna().any():
                median = train[c].median()
                train[c], test[c] = train[c].fillna(median), test[c].fillna(median)
    return train, test


def _encoded_target(train: pd.DataFrame, table: Table) -> tuple[np.ndarray, np.ndarray | None]:
    y = train[table.target]
    if table.task != "classification":
        return y.to_numpy(dtype=np.float64), None
    classes, codes = np.unique(y.astype(str).to_numpy(), return_inverse=True)
    return codes, classes


def lightgbm(train: pd.DataFrame, test: pd.DataFrame, table: Table, seed: int):
    import lightgbm as lgb

    X, Xt = _as_categories(
        train.drop(columns=[table.target]), test.drop(columns=[table.target]), False
    )
    y, classes = _encoded_target(train, table)
    kind = lgb.LGBMClassifier if table.task == "classification" else lgb.LGBMRegressor
    started = time.perf_counter()
    model = kind(n_jobs=1, verbose=-1, random_state=seed).fit(X, y)
    seconds = time.perf_counter() - started
    out = model.predict(Xt)
    return (classes[out] if classes is not None else out), seconds


def realmlp(train: pd.DataFrame, test: pd.DataFrame, table: Table, seed: int):
    import torch
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    torch.set_num_threads(1)
    X, Xt = _as_categories(
        train.drop(columns=[table.target]), test.drop(columns=[table.target]), True
    )
    y, classes = _encoded_target(train, table)
    kind = RealMLP_TD_Classifier if table.task == "classification" else RealMLP_TD_Regressor
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = kind(random_state=seed, n_threads=1, device="cpu", verbosity=0).fit(X, y)
    seconds = time.perf_counter() - started
    out = np.asarray(model.predict(Xt))
    return (classes[out.astype(int)] if classes is not None else out), seconds


CONTENDERS: dict[str, tuple[Fit, str | None]] = {
    "chainrule train": (chainrule_cli, None),
    "TabularClassifier/Regressor": (chainrule_estimator, None),
    "sklearn MLP": (sklearn_mlp, "sklearn"),
    "LightGBM": (lightgbm, "lightgbm"),
    "RealMLP-TD": (realmlp, "pytabkit"),
}


def score(table: Table, truth: pd.Series, predicted: np.ndarray) -> float:
    """Accuracy in % (classification) or RMSE (regression)."""
    if table.task == "classification":
        return 100.0 * float(
            np.mean(truth.astype(str).to_numpy() == np.asarray(predicted).astype(str))
        )
    diff = truth.to_numpy(dtype=np.float64) - np.asarray(predicted, dtype=np.float64).reshape(-1)
    return float(np.sqrt(np.mean(diff**2)))


# -- the run ----------------------------------------------------------------------------------
def _available(contenders: list[str]) -> list[str]:
    import importlib.util

    kept = []
    for name in contenders:
        module = CONTENDERS[name][1]
        if module and importlib.util.find_spec(module) is None:
            print(
                f"skipped contender {name}: {module} is not installed (pip install 'chainrule[bench]')"
            )
        else:
            kept.append(name)
    return kept


def run(
    tables: list[Table], contenders: list[str], seeds: int, max_train: int, max_test: int
) -> list[dict[str, Any]]:
    """Every contender on every table, one result row per (table, contender, seed).

    Seeds are the outer loop, so a run cut short still has every table and contender for
    the seeds it finished; within a seed the contenders alternate table by table.
    """
    from threadpoolctl import threadpool_limits

    splits = {}
    for table in tables:
        frame = load(table)
        if isinstance(frame, str):
            print(f"could not find table {table.name} ({table.source}): {frame}", flush=True)
            continue
        splits[table.name] = train, test = split(frame, table.target, max_train, max_test)
        print(
            f"{table.name}: {len(train)} training rows, {len(test)} test rows, "
            f"{train.shape[1] - 1} columns; {table.about}",
            flush=True,
        )
    results = []
    for seed in range(seeds):
        for table in (t for t in tables if t.name in splits):
            train, test = splits[table.name]
            for name in contenders:
                with threadpool_limits(1):
                    try:
                        predicted, seconds = CONTENDERS[name][0](train, test, table, seed)
                        value = score(table, test[table.target], predicted)
                    except Exception as exc:  # a refusal is a result too
                        print(f"  {name} failed on {table.name}: {type(exc).__name__}: {exc}")
                        value, seconds = math.nan, math.nan
                results.append(
                    {
                        "table": table.name,
                        "task": table.task,
                        "contender": name,
                        "seed": seed,
                        "score": value,
                        "seconds": seconds,
                    }
                )
                print(
                    f"  seed {seed} {table.name:16s} {name:28s} {value:10.4g} {seconds:8.2f} s",
                    flush=True,
                )
    return results


def _mean_sd(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summary(results: list[dict[str, Any]], contenders: list[str]) -> str:
    """The table (one row per table, a column per contender) and the averages the targets use."""
    tables = list(dict.fromkeys(r["table"] for r in results))
    task = {r["table"]: r["task"] for r in results}
    cell: dict[tuple[str, str], tuple[float, float, float]] = {}
    for t in tables:
        for c in contenders:
            rows = [r for r in results if r["table"] == t and r["contender"] == c]
            m, s = _mean_sd([r["score"] for r in rows])
            cell[t, c] = (m, s, _mean_sd([r["seconds"] for r in rows])[0])
    lines = [
        "| table | metric | " + " | ".join(contenders) + " |",
        "|---|---|" + "---|" * len(contenders),
    ]
    for t in tables:
        metric = "accuracy %" if task[t] == "classification" else "RMSE"
        values = []
        for c in contenders:
            m, s, sec = cell[t, c]
            values.append("—" if not math.isfinite(m) else f"{m:.4g} ± {s:.2g} ({sec:.1f} s)")
        lines.append(f"| {t} | {metric} | " + " | ".join(values) + " |")
    classification = [t for t in tables if task[t] == "classification"]
    regression = [t for t in tables if task[t] == "regression"]
    averages = [
        "| **mean accuracy %** | | "
        + " | ".join(
            f"{statistics.fmean(cell[t, c][0] for t in classification):.2f}"
            if classification
            else "—"
            for c in contenders
        )
        + " |"
    ]
    if "LightGBM" in contenders and regression:
        averages.append(
            "| **RMSE / LightGBM's** | (mean) | "
            + " | ".join(
                f"{statistics.fmean(cell[t, c][0] / cell[t, 'LightGBM'][0] for t in regression):.3f}"
                for c in contenders
            )
            + " |"
        )
    averages.append(
        "| **fit seconds** | (total) | "
        + " | ".join(
            f"{sum(cell[t, c][2] for t in tables if math.isfinite(cell[t, c][2])):.0f}"
            for c in contenders
        )
        + " |"
    )
    return "\n".join(lines + averages)


def plot(results: list[dict[str, Any]], contenders: list[str], path: str) -> None:
    """Each table's score relative to LightGBM's (accuracy points, or RMSE ratio), per contender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = list(dict.fromkeys(r["table"] for r in results))
    task = {r["table"]: r["task"] for r in results}
    mean = {
        (t, c): _mean_sd([r["score"] for r in results if r["table"] == t and r["contender"] == c])[
            0
        ]
        for t in tables
        for c in contenders
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind in zip(axes, ("classification", "regression"), strict=True):
        names = [t for t in tables if task[t] == kind]
        width = 0.8 / len(contenders)
        for i, c in enumerate(contenders):
            if kind == "classification":
                values = [mean[t, c] - mean[t, "LightGBM"] for t in names]
            else:
                values = [mean[t, c] / mean[t, "LightGBM"] for t in names]
            ax.bar(
                np.arange(len(names)) + i * width,
                values,
                width,
                label=c,
            )
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=20)
        if kind == "classification":
            ax.set_ylabel("accuracy − LightGBM's (points)")
            ax.axhline(0, color="0.3", lw=0.8)
        else:
            ax.set_ylabel("RMSE / LightGBM's")
            ax.axhline(1, color="0.3", lw=0.8)
            ax.set_ylim(0.8, None)
        ax.set_title(kind)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tables", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--tables",
        default=",".join(t.name for t in TABLES),
        help="comma-separated table names (default: all)",
    )
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="comma-separated (default: all five)"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-train-rows", type=int, default=8000)
    parser.add_argument("--max-test-rows", type=int, default=4000)
    parser.add_argument(
        "--set",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TabularClassifier/Regressor option other than its default, e.g. --set ensemble=1 "
        "--set hidden=[256,256] (repeatable; the other contenders keep their defaults)",
    )
    parser.add_argument("--json", help="also write the per-seed results here")
    parser.add_argument("--plot", help="also draw the figure here (e.g. docs/tables.png)")
    args = parser.parse_args(argv)
    wanted = set(args.tables.split(","))
    tables = [t for t in TABLES if t.name in wanted]
    contenders = _available([c for c in args.contenders.split(",") if c])
    ESTIMATOR_OPTIONS.clear()
    ESTIMATOR_OPTIONS.update(dict(args.set))
    print(
        f"python -m benchmarks.tables {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip()
    )
    print(
        f"{len(tables)} tables, {args.seeds} seeds, at most {args.max_train_rows} training rows, one thread each"
    )
    results = run(tables, contenders, args.seeds, args.max_train_rows, args.max_test_rows)
    print()
    print(summary(results, contenders))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.plot and "LightGBM" in contenders:
        plot(results, contenders, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
