"""Fitting a :class:`TablePreprocessor` and the target's encoding in one pass over chunks.

The in-memory :meth:`TablePreprocessor.fit` sees the whole column at once; here the table
arrives as a sequence of ``DataFrame`` chunks (a Parquet file's record batches) and only
running statistics are kept, so memory does not grow with the number of rows:

* a numeric column keeps the count :math:`n`, mean :math:`\\bar x` and sum of squared
  deviations :math:`M_2 = \\sum (x - \\bar x)^2` of its present values, in float64, merging a
  chunk :math:`b` into the running totals :math:`a` exactly as Chan, Golub and LeVeque's
  pairwise update does:

  .. math::

      \\delta = \\bar x_b - \\bar x_a, \\quad n = n_a + n_b, \\quad
      \\bar x = \\bar x_a + \\delta\\, n_b / n, \\quad
      M_2 = M_{2,a} + M_{2,b} + \\delta^2\\, n_a n_b / n,

  so the scale is :math:`s = \\sqrt{M_2 / n}` (population, as ``np.std``). With
  ``impute="mean"`` the missing values are filled with :math:`\\bar x` and add nothing to
  :math:`M_2`, so :math:`s = \\sqrt{M_2 / N}` over all :math:`N` rows — the in-memory values
  to rounding (a few ulps), not a different estimate;
* a categorical column keeps the set of its values' keys; the categories are its sorted union;
* the target keeps what :func:`~chainrule.tabular.targets.infer_task` looks at, its classes
  (at most :data:`MAX_STREAMED_CLASSES`), or its mean and scale.

``impute="median"`` has no exact one-pass form (it needs every value, or a sort), so it is
refused with a message naming the alternatives. The type checks of
:func:`~chainrule.tabular.columns.check_column` run on each chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.tabular.columns import check_column
from chainrule.tabular.data import DataError
from chainrule.tabular.preprocessing import (
    EMBED_AUTO_LEVELS,
    MAX_CATEGORIES,
    MAX_EMBEDDED_CATEGORIES,
    TablePreprocessor,
    is_numeric_column,
    value_key,
)
from chainrule.tabular.targets import MAX_CLASSES_INFERRED, TASKS, _class_list

if TYPE_CHECKING:
    import pandas as pd

MAX_STREAMED_CLASSES = 10_000
"""Most distinct target values a streamed classification target may have."""


@dataclass
class Moments:
    """Count, mean and :math:`M_2` of the values seen so far (float64), merged chunk by chunk."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        """Merge a chunk of finite values (Chan et al.'s pairwise update)."""
        nb = int(values.shape[0])
        if nb == 0:
            return
        mb = float(np.mean(values))
        m2b = float(np.sum((values - mb) ** 2))
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    def std(self, rows: int | None = None) -> float:
        """Population standard deviation over ``rows`` (default: the values seen)."""
        return float(np.sqrt(self.m2 / (rows or self.n)))


@dataclass
class _Column:
    name: str
    numeric: bool
    rows: int = 0
    missing: int = 0
    first_missing: int = 0  # 1-based data row of the first missing value, 0 if none
    moments: Moments = field(default_factory=Moments)
    keys: set[str] = field(default_factory=set)

    def add(self, series: pd.Series, start: int, source: str) -> None:
        if is_numeric_column(series) != self.numeric and series.notna().any():
            raise DataError(
                f"Column {self.name!r} in '{source}' holds numbers in some record batches and "
                "text in others; fix the column's type."
            )
        check_column(series, self.name, source)
        missing = series.isna().to_numpy()
        if missing.any() and not self.missing:
            self.first_missing = start + int(np.flatnonzero(missing)[0]) + 1
        self.missing += int(missing.sum())
        self.rows += len(series)
        if self.numeric:
            self.moments.add(series.to_numpy(dtype=np.float64, na_value=np.nan)[~missing])
        else:
            self.keys.update(value_key(v) for v in series[~missing].unique())


class StreamingPreprocessorFit:
    """Learn a :class:`TablePreprocessor`'s state from chunks of a table, in one pass.

    Parameters
    ----------
    impute : {"error", "mean"}
        As :class:`TablePreprocessor` (``"median"`` is refused: see the module docstring).
    embed : "auto", list of str or None
        As :class:`TablePreprocessor`.
    """

    def __init__(self, impute: str = "error", embed: str | list[str] | None = None) -> None:
        if impute == "median":
            raise DataError(
                "impute='median' cannot be computed exactly while streaming (it needs every "
                "value at once); use impute='mean', fill the column beforehand, or train in "
                "memory (no memory limit)."
            )
        self.pre = TablePreprocessor(impute, embed)  # validates impute
        self._columns: dict[str, _Column] = {}

    def add(self, frame: pd.DataFrame, columns: Sequence[str], start: int, source: str) -> None:
        """Merge one chunk; ``start`` is the 0-based row of its first row in the whole table."""
        for name in columns:
            series = frame[name]
            col = self._columns.get(name)
            if col is None:
                col = self._columns[name] = _Column(name, is_numeric_column(series))
            col.add(series, start, source)

    def result(self, columns: Sequence[str], source: str) -> TablePreprocessor:
        """The fitted preprocessor, with the in-memory fit's checks and messages."""
        if not columns:
            raise DataError(f"'{source}' has no feature columns besides the target.")
        embed = self.pre.embed
        named = [] if embed in (None, "auto") else list(embed)
        specs = [self._spec(self._columns[name], named, source) for name in columns]
        self.pre.columns_ = specs
        return self.pre

    def _spec(self, col: _Column, named: list[str], source: str) -> dict[str, Any]:
        name, impute = col.name, self.pre.impute
        if col.missing == col.rows:
            raise DataError(
                f"Column {name!r} in '{source}' has no values at all; drop it with drop=[{name!r}]."
            )
        if col.missing and impute == "error":
            raise DataError(
                f"Column {name!r} in '{source}' has {col.missing} missing values (first in data "
                f"row {col.first_missing}); fill them, or pass impute='mean'."
            )
        if col.numeric:
            fill = col.moments.mean if impute == "mean" else None
            # Filled with the mean, the missing rows add 0 to M2 but count in N.
            scale = col.moments.std(col.rows if fill is not None else None)
            mean = col.moments.mean
            return {
                "name": name,
                "kind": "numeric",
                "mean": mean,
                "scale": scale if scale > 0 else 1.0,
                "fill": fill,
            }
        keys = sorted(col.keys)
        if name in named or (embed_auto(self.pre.embed) and len(keys) > EMBED_AUTO_LEVELS):
            if len(keys) > MAX_EMBEDDED_CATEGORIES:
                raise DataError(
                    f"Column {name!r} in '{source}' has {len(keys)} distinct text values, more "
                    f"than an embedding takes ({MAX_EMBEDDED_CATEGORIES}); drop it."
                )
            return {"name": name, "kind": "embedded", "categories": keys}
        if len(keys) > MAX_CATEGORIES:
            raise DataError(
                f"Column {name!r} in '{source}' has {len(keys)} distinct text values, too many "
                f"to one-hot encode (limit {MAX_CATEGORIES}); it looks like an identifier, so "
                f"drop it with drop=[{name!r}], or embed it with embed=[{name!r}]."
            )
        return {"name": name, "kind": "categorical", "categories": keys}


def embed_auto(embed: Any) -> bool:
    return isinstance(embed, str) and embed == "auto"


@dataclass
class TargetEncoding:
    """What training needs to know of the target: task, classes or mean and scale."""

    task: str
    classes: list[Any] | None = None
    mean: float = 0.0
    scale: float = 1.0


class StreamingTargetFit:
    """The target column's task, classes (or mean and scale), from chunks, in one pass.

    Parameters
    ----------
    name : str
        The target column.
    task : {"classification", "regression"} or None
        ``None`` infers it as :func:`~chainrule.tabular.targets.infer_task` does.
    """

    def __init__(self, name: str, task: str | None) -> None:
        if task is not None and task not in TASKS:
            raise DataError(f"Unknown task {task!r}; choose classification or regression.")
        self.name, self.task = name, task
        self.rows = 0
        self.numeric = True
        self.boolean = False
        self.whole = True
        self.raw: dict[str, Any] = {}  # value key -> first raw value seen (for the class list)
        self.moments = Moments()

    def add(self, column: pd.Series, start: int, source: str) -> None:
        """Merge one chunk of the target; ``start`` is its first row's 0-based index."""
        from pandas.api import types

        check_column(column, self.name, source, "Target column")
        missing = column.isna().to_numpy()
        if missing.any():
            row = start + int(np.flatnonzero(missing)[0]) + 1
            raise DataError(
                f"Target column {self.name!r} in '{source}' has missing values (first in data "
                f"row {row}); remove those rows."
            )
        self.rows += len(column)
        self.boolean |= bool(types.is_bool_dtype(column))
        self.numeric &= is_numeric_column(column)
        if self.numeric and not self.boolean:
            numbers = column.to_numpy(dtype=np.float64)
            self.whole &= bool(np.all(numbers == np.round(numbers)))
            self.moments.add(numbers)
        if self.task != "regression" and len(self.raw) <= MAX_STREAMED_CLASSES:
            for v in column.unique():
                self.raw.setdefault(value_key(v), v)

    def result(self, source: str) -> TargetEncoding:
        """The task and the target's encoding, with the in-memory checks and messages."""
        task = self.task
        if task is None:
            small = len(self.raw) <= MAX_CLASSES_INFERRED
            if self.boolean or not self.numeric or (self.whole and small):
                task = "classification"
            else:
                task = "regression"
        if task == "regression":
            if self.boolean or not self.numeric:
                raise DataError(
                    f"Target column {self.name!r} in '{source}' holds non-numeric values; "
                    "regression needs numbers, so use task='classification'."
                )
            return TargetEncoding(task, None, self.moments.mean, self.moments.std() or 1.0)
        return TargetEncoding(task, self._classes(source))

    def _classes(self, source: str) -> list[Any]:
        import pandas as pd

        if len(self.raw) > MAX_STREAMED_CLASSES:
            raise DataError(
                f"Target column {self.name!r} in '{source}' has more than "
                f"{MAX_STREAMED_CLASSES} distinct values, too many to be classes; use "
                "task='regression'."
            )
        classes = _class_list(pd.Series(list(self.raw.values()), dtype=object))
        if len(classes) < 2:
            raise DataError(
                f"Target column {self.name!r} in '{source}' has a single class "
                f"({classes[0]!r}); classification needs at least two."
            )
        if self.numeric and len(classes) > max(50, 0.5 * self.rows):
            raise DataError(
                f"Target column {self.name!r} in '{source}' has {len(classes)} distinct numeric "
                "values, too many to be classes; use task='regression'."
            )
        return classes


def fit_chunks(
    chunks: Iterable[tuple[int, pd.DataFrame]],
    target: str,
    features: Sequence[str],
    *,
    task: str | None = None,
    impute: str = "error",
    embed: str | list[str] | None = None,
    source: str = "the data",
) -> tuple[TablePreprocessor, TargetEncoding, int]:
    """One pass over ``(start_row, frame)`` chunks: the preprocessor, target encoding, row count.

    Equals ``TablePreprocessor(impute, embed).fit(whole, features)`` and the target encoding
    of :meth:`TabularModel.fit <chainrule.tabular.model.TabularModel.fit>` on the
    concatenated chunks, to float64 rounding.
    """
    pre_fit = StreamingPreprocessorFit(impute, embed)
    target_fit = StreamingTargetFit(target, task)
    rows = 0
    for start, frame in chunks:
        target_fit.add(frame[target], start, source)
        pre_fit.add(frame, features, start, source)
        rows += len(frame)
    if rows == 0:
        raise DataError(f"Data file '{source}' has a header but no data rows.")
    return pre_fit.result(features, source), target_fit.result(source), rows
