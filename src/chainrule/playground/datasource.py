"""Where a session's points come from: a built-in data set or an uploaded CSV table.

Either way the result is a :class:`Points`: the two plane coordinates drawn on the page, any
further input columns, the target, and the train/test split. Uploaded tables are held in
memory only (nothing is written to disk) and standardized column by column, so that one
learning rate suits any units; the mean and scale are kept for the exported snippet.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.playground import datasets
from chainrule.playground.config import MAX_CLASSES, Config

MAX_UPLOAD_BYTES = 2_000_000
"""Largest CSV upload accepted (bytes)."""
MAX_ROWS = 5_000
"""Most rows of an uploaded table (the playground is for looking, not for big data)."""
MAX_COLUMNS = 50


@dataclass
class Table:
    """An uploaded table, in memory.

    Attributes
    ----------
    frame : DataFrame
        The parsed CSV.
    name : str
        The file name the page gave (for messages and the snippet).
    """

    frame: Any
    name: str = "data.csv"

    def describe(self) -> dict[str, Any]:
        """Columns, which are numeric, the row count and a suggested target (the last column)."""
        numeric = [c for c in self.frame.columns if _is_numeric(self.frame[c])]
        return {
            "name": self.name,
            "rows": int(self.frame.shape[0]),
            "columns": list(self.frame.columns),
            "numeric": numeric,
            "target": self.frame.columns[-1],
            "unique": {c: int(self.frame[c].nunique()) for c in self.frame.columns},
        }


def _is_numeric(column: Any) -> bool:
    return column.dtype.kind in "iufb"


def read_csv_bytes(blob: bytes, name: str = "data.csv") -> Table:
    """Parse an uploaded CSV, or raise ``ValueError`` saying in one sentence what is wrong.

    Bounded before any real work: the size, then the header's columns (counted by one linear
    pass of :mod:`csv` over the first record — pandas would first build and de-duplicate
    every column name, quadratic in their number), then at most :data:`MAX_ROWS` + 1 rows.
    """
    import pandas as pd

    if len(blob) > MAX_UPLOAD_BYTES:
        raise ValueError(f"The file is larger than the {MAX_UPLOAD_BYTES // 1_000_000} MB limit.")
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("The file is not UTF-8 text; upload a CSV file.") from None
    header = _header(text)
    try:
        frame = pd.read_csv(io.StringIO(text), nrows=MAX_ROWS + 1, engine="c")
    except pd.errors.EmptyDataError:
        raise ValueError("The file is empty; a CSV needs a header row and data rows.") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"Cannot parse the file as CSV ({detail}).") from None
    if frame.shape[1] != len(header):  # pandas took a column as the index: rows too long
        raise ValueError(
            f"The data rows have more fields than the header's {len(header)} names; give "
            "every column a name."
        )
    frame.columns = header
    if frame.shape[0] < 4:
        raise ValueError(f"The table has {frame.shape[0]} data rows; it needs at least 4.")
    if frame.shape[0] > MAX_ROWS:
        raise ValueError(
            f"The table has more than {MAX_ROWS} rows; the playground takes {MAX_ROWS}."
        )
    table = Table(frame, name)
    numeric = table.describe()["numeric"]
    if len(numeric) < 2:
        raise ValueError("The table needs at least two numeric columns to draw as the plane.")
    for column in numeric:
        values = frame[column].to_numpy(dtype=np.float64)
        infinite = np.isinf(values)
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0]) + 2  # the file's line: header is line 1
            raise ValueError(
                f"Column {column!r} holds {int(infinite.sum())} infinite values (first on "
                f"line {row}); remove them or leave those cells empty."
            )
    return table


def _header(text: str) -> list[str]:
    """The header's column names, checked for their number and uniqueness before parsing."""
    try:
        first = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        raise ValueError(f"Cannot parse the file's header as CSV ({exc}).") from None
    if not first or first == [""]:
        raise ValueError("The file is empty; a CSV needs a header row and data rows.")
    if not 3 <= len(first) <= MAX_COLUMNS:
        raise ValueError(
            f"The table has {len(first)} columns; it needs a target and at least two "
            f"feature columns (at most {MAX_COLUMNS} in all)."
        )
    names = [c.strip() for c in first]
    twice = sorted(c for c, n in Counter(names).items() if n > 1)
    if twice:
        raise ValueError(
            f"The header names column {twice[0]!r} more than once; give every column its own name."
        )
    return names


@dataclass
class Points:
    """A session's data, ready for the network.

    Attributes
    ----------
    x1, x2 : ndarray, shape (n,)
        The plane coordinates (standardized for tables).
    extra : ndarray, shape (n, m)
        Further input columns (standardized), held at 0 — their mean — on the drawn plane.
    y : ndarray, shape (n,)
        Class indices (int64) or targets (float64, standardized for tables).
    train, test : ndarray of int
        Row indices of the two parts.
    classes : list of str
        Class names (classification).
    axis_names, extra_names : list of str
    domain : list of [lo, hi]
        The drawn range of each axis.
    scaling : dict
        ``mean``/``scale`` of the table's columns and target, for the snippet.
    """

    x1: np.ndarray
    x2: np.ndarray
    extra: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    classes: list[str] = field(default_factory=list)
    axis_names: list[str] = field(default_factory=lambda: ["x₁", "x₂"])
    extra_names: list[str] = field(default_factory=list)
    domain: list[list[float]] = field(default_factory=lambda: [[-6.0, 6.0], [-6.0, 6.0]])
    scaling: dict[str, Any] = field(default_factory=dict)


def builtin_points(config: Config) -> Points:
    """Draw the configured built-in data set and split it."""
    X, y = datasets.make_dataset(config.dataset, config.noise, config.seed)
    train, test = datasets.split(len(X), config.train_fraction, config.seed)
    classes = [] if config.problem == "regression" else [str(c) for c in range(int(y.max()) + 1)]
    reach = max(6.0, float(np.ceil(np.abs(X).max() * 1.05)))
    domain = [[-reach, reach], [-reach, reach]]
    if config.dataset == "lecture":  # standard-normal points: a tighter window shows more
        domain = [[-4.0, 4.0], [-4.0, 4.0]]
    return Points(X[:, 0], X[:, 1], np.empty((len(X), 0)), y, train, test, classes, domain=domain)


def _check_standardized(Z: np.ndarray, scale: np.ndarray, names: list[str]) -> None:
    """Refuse columns whose values are too large to standardize (their spread overflows)."""
    bad = ~np.isfinite(Z).all(axis=0) | ~np.isfinite(scale)
    if bad.any():
        name = names[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"Column {name!r} has values too large to standardize (beyond about 1e154); rescale it."
        )


def table_points(table: Table, config: Config) -> Points:
    """The configured columns of an uploaded table, standardized, without incomplete rows."""
    frame = table.frame
    names = [config.target, *config.columns]
    missing = [c for c in names if c not in frame.columns]
    if not config.target or missing:
        raise ValueError(f"The table has no column {missing[0] if missing else '(target)'!r}.")
    if config.target in config.columns:
        raise ValueError(f"The target {config.target!r} cannot also be a feature.")
    if len(config.columns) < 2:
        raise ValueError("Pick at least two feature columns.")
    bad = [c for c in config.columns if not _is_numeric(frame[c])]
    if bad:
        raise ValueError(f"Feature column {bad[0]!r} is not numeric; pick numeric columns.")
    frame = frame[names].dropna()
    if frame.shape[0] < 4:
        raise ValueError("Fewer than 4 rows have a value in every chosen column.")
    raw = frame[config.columns].to_numpy(dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
        mean, scale = raw.mean(axis=0), raw.std(axis=0)
        scale[scale == 0] = 1.0
        Z = (raw - mean) / scale
    _check_standardized(Z, scale, config.columns)
    scaling: dict[str, Any] = {"mean": mean.tolist(), "scale": scale.tolist()}
    target = frame[config.target]
    if config.problem == "classification":
        classes = sorted({str(v) for v in target})
        if not 2 <= len(classes) <= MAX_CLASSES:
            raise ValueError(
                f"The target {config.target!r} has {len(classes)} classes; classification "
                f"needs 2 to {MAX_CLASSES} (choose regression for a number)."
            )
        y = np.array([classes.index(str(v)) for v in target], dtype=np.int64)
    else:
        if not _is_numeric(target):
            raise ValueError(f"The target {config.target!r} is not numeric; choose classification.")
        classes = []
        values = target.to_numpy(dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            t_mean, t_scale = float(values.mean()), float(values.std() or 1.0)
            y = (values - t_mean) / t_scale
        _check_standardized(y[:, None], np.array([t_scale]), [config.target])
        scaling.update(target_mean=t_mean, target_scale=t_scale)
    ax = [config.columns.index(a) for a in config.axes]
    rest = [i for i in range(len(config.columns)) if i not in ax]
    train, test = datasets.split(len(y), config.train_fraction, config.seed)
    domain = []
    for i in ax:
        lo, hi = float(Z[:, i].min()), float(Z[:, i].max())
        pad = 0.1 * (hi - lo or 1.0)
        domain.append([lo - pad, hi + pad])
    return Points(
        Z[:, ax[0]],
        Z[:, ax[1]],
        Z[:, rest],
        y,
        train,
        test,
        classes,
        axis_names=list(config.axes),
        extra_names=[config.columns[i] for i in rest],
        domain=domain,
        scaling=scaling,
    )
