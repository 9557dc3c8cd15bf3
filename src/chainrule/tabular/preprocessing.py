"""Turning a table into the matrix a network takes: standardize numbers, one-hot encode text.

A :class:`TablePreprocessor` is fitted on the training table and its whole state is plain JSON,
so it travels inside the model file and is applied again, unchanged, at prediction.

For a numeric column :math:`x` with training mean :math:`\\mu` and standard deviation
:math:`s` (population, ``ddof=0``; a constant column gets :math:`s = 1`):

.. math:: x' = (x - \\mu) / s

A categorical column (text, or pandas ``category``) with training categories
:math:`c_1 < \\dots < c_m` (sorted) becomes :math:`m` indicator columns
:math:`[x = c_1], \\dots, [x = c_m]`. A value never seen in training, or a missing one, is the
all-zero row.

**Embedded columns.** A text column named in ``embed`` (or, with ``embed="auto"``, any text
column with more than :data:`EMBED_AUTO_LEVELS` levels) is not one-hot encoded: it becomes
*one* column of integer codes, stored as floats, for a
:class:`~chainrule.network.embedding.ColumnEmbedding` first layer to look up. With training
categories :math:`c_1 < \\dots < c_m`, value :math:`c_i` has code :math:`i` (1-based) and
**code 0 is reserved** for a value never seen in training or a missing one, so the table has
:math:`m + 1` rows and an unseen value gets its own learned vector (the row trained on
nothing, or on the missing values when imputation is on). An embedded column may have up to
:data:`MAX_EMBEDDED_CATEGORIES` levels.

Missing numbers are an error unless ``impute`` is ``"mean"`` or ``"median"``, which fill
them with the *training* mean or median before scaling.

**Robust scaling** (``scale="robust"``, :class:`~chainrule.tabular.model.TabularModel`'s
default, after RealMLP-TD): a numeric column is centred on its training median
:math:`m` and divided by its interquartile range :math:`q_{75} - q_{25}` (its standard
deviation when the quartiles coincide, as in a column that is mostly zeros; 1 for a constant
column), then
*smoothly clipped*,

.. math:: z = (x - m) / s, \\qquad x' = z / \\sqrt{1 + (z / c)^2}, \\quad c = 3,

so a skewed amount or an outlier no longer dominates: :math:`|x'| < c`, and
:math:`x' \\approx z` for :math:`|z| \\ll c`.

**Missing indicators** (``indicator=True``, the model's default): a numeric column with
missing training values gets a second column :math:`[x \\text{ missing}]` after it (what
``SimpleImputer(add_indicator=True)`` adds), and a text column with missing training values
gets a level of its own, ``<missing>`` (the last indicator column, or code :math:`m + 1` of
an embedded column) instead of the all-zero row an unseen value gets.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.tabular.columns import check_column, check_finite
from chainrule.tabular.data import DataError, problems_of, raise_problems, require_columns

if TYPE_CHECKING:
    import pandas as pd

IMPUTE_CHOICES = ("error", "mean", "median")
"""How missing values are handled: refuse them, or fill numbers with the mean / median."""

MAX_CATEGORIES = 200
"""More distinct text values than this in one column is almost surely an identifier."""

EMBED_AUTO_LEVELS = 10
"""``embed="auto"`` embeds the text columns with more levels than this (one-hot below)."""

MAX_EMBEDDED_CATEGORIES = 100_000
"""Most levels an embedded column may have (its table has one more row, code 0)."""

UNSEEN_CODE = 0
"""The code of a value not seen in training (or missing) in an embedded column."""

SCALE_CHOICES = ("standard", "robust")
"""Numeric scaling: mean and standard deviation, or median, IQR and a smooth clip."""

SMOOTH_CLIP = 3.0
""":math:`c` of the smooth clip :math:`z / \\sqrt{1 + (z/c)^2}` after robust scaling."""

MISSING_LEVEL = "<missing>"
"""The level a missing text value gets when the training column had missing values."""


def value_key(value: Any) -> str:
    """A text key for a category or class value that survives a CSV round trip.

    ``1``, ``1.0`` and ``"1"`` all become ``"1"``; ``True`` becomes ``"True"``.
    """
    if isinstance(value, float | np.floating) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def is_numeric_column(series: pd.Series) -> bool:
    """Whether a column is numbers (booleans count as 0/1), not text or categories."""
    from pandas.api import types

    return bool(types.is_bool_dtype(series) or types.is_numeric_dtype(series))


def _first_missing_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1  # 1-based data row, as a spreadsheet user counts


def _missing_values(name: str, source: str, missing: np.ndarray, *, trained: bool) -> DataError:
    """The one refusal of missing values with ``impute="error"``, at fit or at prediction.

    ``missing`` ``(N,)`` marks the column's missing rows; ``trained`` says the model was fitted
    without imputation (prediction) rather than being fitted now.
    """
    where = (
        f"Column {name!r} in '{source}' has {int(missing.sum())} missing values "
        f"(first in data row {_first_missing_row(missing)})"
    )
    if trained:
        where += " and the model was trained without imputation"
    fix = "retrain with" if trained else "pass"
    return DataError(
        f"{where}; fill them, or {fix} impute='median' (numbers get the median and a missing "
        f"indicator, text a level of its own, {MISSING_LEVEL})."
    )


class TablePreprocessor:
    """Standardize numeric columns and one-hot encode categorical ones.

    Parameters
    ----------
    impute : {"error", "mean", "median"}
        What to do with missing numbers (see the module docstring).
    embed : "auto", list of str or None
        Text columns to encode as codes for an embedding instead of one-hot: the named ones,
        or with ``"auto"`` those with more than :data:`EMBED_AUTO_LEVELS` levels.
    scale : {"standard", "robust"}
        Numeric scaling: :math:`(x - \\mu)/s`, or median / IQR with a smooth clip.
    indicator : bool
        Add a missing indicator after each numeric column, and a ``<missing>`` level to each
        text column, that had missing values in training (needs ``impute`` other than error).

    Attributes
    ----------
    columns_ : list of dict
        One entry per input column, in order: ``{"name", "kind": "numeric", "mean", "scale",
        "fill"}`` (optionally ``"clip"``: :math:`c`, and ``"indicator": True``), ``{"name",
        "kind": "categorical", "categories"}`` or ``{"name", "kind": "embedded",
        "categories"}`` (optionally ``"missing": True``).
    """

    def __init__(
        self,
        impute: str = "error",
        embed: str | list[str] | None = None,
        scale: str = "standard",
        indicator: bool = False,
    ) -> None:
        if impute not in IMPUTE_CHOICES:
            raise DataError(
                f"Unknown imputation {impute!r}; choose one of {', '.join(IMPUTE_CHOICES)}."
            )
        if scale not in SCALE_CHOICES:
            raise DataError(f"Unknown scaling {scale!r}; choose one of {', '.join(SCALE_CHOICES)}.")
        self.impute = impute
        self.embed = embed
        self.scale = scale
        self.indicator = bool(indicator) and impute != "error"
        self.columns_: list[dict[str, Any]] = []

    # -- fitting ----------------------------------------------------------------------------
    def fit(
        self, frame: pd.DataFrame, columns: list[str], source: str = "the data"
    ) -> TablePreprocessor:
        """Learn means, scales and categories of ``columns`` from the training ``frame``."""
        if not columns:
            raise DataError(f"'{source}' has no feature columns besides the target.")
        named = [] if self.embed in (None, "auto") else list(self.embed)
        require_columns(frame, named, source, "given to embed=")
        specs: list[dict[str, Any]] = []
        problems: list[str] = []  # every column's problem, reported together
        for name in columns:
            try:
                self._fit_column(frame[name], name, named, source, specs)
            except DataError as exc:
                problems.extend(problems_of(exc))
        raise_problems(problems)
        self.columns_ = specs
        return self

    def _fit_column(
        self,
        series: pd.Series,
        name: str,
        named: list[str],
        source: str,
        specs: list[dict[str, Any]],
    ) -> None:
        """Append the encoding of one column to ``specs``; :class:`DataError` if it cannot be."""
        missing = series.isna().to_numpy()
        if missing.all():
            raise DataError(
                f"Column {name!r} in '{source}' has no values at all; drop it with drop=[{name!r}]."
            )
        check_column(series, name, source)  # no type guessing, no ±inf: tabular/columns.py
        if is_numeric_column(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if missing.any() and self.impute == "error":
                raise _missing_values(name, source, missing, trained=False)
            specs.append(self._numeric_spec(name, values, missing))
        else:
            if missing.any() and self.impute == "error":
                raise _missing_values(name, source, missing, trained=False)
            keys = sorted({value_key(v) for v in series[~missing]})
            level = {"missing": True} if self.indicator and missing.any() else {}
            auto = self.embed == "auto" and len(keys) > EMBED_AUTO_LEVELS
            if name in named or auto:
                if len(keys) > MAX_EMBEDDED_CATEGORIES:
                    raise DataError(
                        f"Column {name!r} in '{source}' has {len(keys)} distinct text values, "
                        f"more than an embedding takes ({MAX_EMBEDDED_CATEGORIES}); drop it."
                    )
                specs.append({"name": name, "kind": "embedded", "categories": keys, **level})
                return
            if len(keys) > MAX_CATEGORIES:
                raise DataError(
                    f"Column {name!r} in '{source}' has {len(keys)} distinct text values, too "
                    f"many to one-hot encode (limit {MAX_CATEGORIES}); it looks like an "
                    f"identifier, so drop it with drop=[{name!r}], or embed it with "
                    f"embed=[{name!r}]."
                )
            specs.append({"name": name, "kind": "categorical", "categories": keys, **level})

    def _numeric_spec(self, name: str, values: np.ndarray, missing: np.ndarray) -> dict[str, Any]:
        """Fill, centre, scale (and clip, indicator) of one numeric column ``values`` ``(N,)``."""
        present = values[~missing]
        fill = None
        if self.impute == "mean":
            fill = float(np.mean(present))
        elif self.impute == "median":
            fill = float(np.median(present))
        spec: dict[str, Any] = {"name": name, "kind": "numeric"}
        if self.scale == "robust":
            q25, median, q75 = np.percentile(present, [25, 50, 75])
            # Quartiles that coincide: a column that is mostly one value (counts of rare
            # events). Its standard deviation keeps 0, 1, 2 … apart; half its range would
            # squash them together next to an outlier (141 visits: 1 visit → 0.014).
            spread = float(q75 - q25) or float(np.std(present))
            spec.update(mean=float(median), scale=spread or 1.0, clip=SMOOTH_CLIP)
        else:
            if fill is not None:
                values = np.where(missing, fill, values)
            std = float(np.std(values))
            spec.update(mean=float(np.mean(values)), scale=std if std > 0 else 1.0)
        spec["fill"] = fill  # a constant column stays 0
        if self.indicator and missing.any():
            spec["indicator"] = True
        return spec

    # -- applying ---------------------------------------------------------------------------
    @property
    def input_columns(self) -> list[str]:
        """The table columns the preprocessor reads, in order."""
        return [c["name"] for c in self.columns_]

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: ``"age"`` for numbers, ``"color=red"`` for indicators."""
        names: list[str] = []
        for c in self.columns_:
            if c["kind"] in ("numeric", "embedded"):  # embedded: one column of codes
                names.append(c["name"])
                if c.get("indicator"):
                    names.append(f"{c['name']}={MISSING_LEVEL}")
            else:
                names.extend(f"{c['name']}={k}" for k in self.levels(c))
        return names

    @staticmethod
    def levels(column: dict[str, Any]) -> list[str]:
        """A one-hot column's indicator levels: its categories, then ``<missing>`` if learned."""
        return list(column["categories"]) + ([MISSING_LEVEL] if column.get("missing") else [])

    @staticmethod
    def width(column: dict[str, Any]) -> int:
        """How many encoded columns one input column becomes."""
        if column["kind"] == "categorical":
            return len(column["categories"]) + bool(column.get("missing"))
        return 1 + bool(column.get("indicator"))

    @property
    def n_features(self) -> int:
        """Width ``d`` of the encoded matrix."""
        return len(self.feature_names)

    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Encode ``frame`` into a float64 matrix of shape ``(N, n_features)``.

        Raises
        ------
        DataError
            A column is missing, holds text where numbers were trained, or has missing values
            that the preprocessor was not fitted to fill.
        """

        require_columns(frame, self.input_columns, source, "needed by the model")
        blocks = []
        for c in self.columns_:
            series = frame[c["name"]]
            missing = series.isna().to_numpy()
            if c["kind"] == "numeric":
                values = self._numbers(series, c["name"], source)
                check_finite(values, c["name"], source)  # predicting on ±inf is refused
                if missing.any():
                    if c["fill"] is None:
                        raise _missing_values(c["name"], source, missing, trained=True)
                    values = np.where(missing, c["fill"], values)
                z = (values - c["mean"]) / c["scale"]
                if c.get("clip"):
                    z = z / np.sqrt(1.0 + (z / c["clip"]) ** 2)  # smooth clip, |x'| < c
                blocks.append(z[:, None])
                if c.get("indicator"):
                    blocks.append(missing.astype(np.float64)[:, None])
            else:
                if missing.any() and self.impute == "error":
                    raise _missing_values(c["name"], source, missing, trained=True)
                if c["kind"] == "embedded":
                    codes = self._codes(series, missing, c["categories"])
                    if c.get("missing"):  # a learned level of its own, after the categories
                        codes[missing] = len(c["categories"]) + 1
                    blocks.append(codes[:, None])
                    continue
                index = {k: i for i, k in enumerate(c["categories"])}
                onehot = np.zeros((len(series), self.width(c)))
                for row, value in enumerate(series.to_numpy(dtype=object)):
                    j = None if missing[row] else index.get(value_key(value))
                    if j is not None:  # unseen, or missing without a level: the all-zero row
                        onehot[row, j] = 1.0
                if c.get("missing"):
                    onehot[missing, -1] = 1.0
                blocks.append(onehot)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))

    @staticmethod
    def _codes(series: pd.Series, missing: np.ndarray, categories: list[str]) -> np.ndarray:
        """Codes ``1 … m`` of the training categories, :data:`UNSEEN_CODE` for the rest, as floats."""
        index = {k: i + 1 for i, k in enumerate(categories)}
        values = series.to_numpy(dtype=object)
        codes = [
            UNSEEN_CODE if m else index.get(value_key(v), UNSEEN_CODE)
            for v, m in zip(values, missing, strict=True)
        ]
        return np.asarray(codes, dtype=np.float64)

    def embedded(self) -> tuple[list[int], list[int]]:
        """Positions of the code columns in the encoded matrix and their table sizes :math:`m + 1`."""
        positions, sizes, j = [], [], 0
        for c in self.columns_:
            if c["kind"] == "embedded":
                positions.append(j)
                sizes.append(len(c["categories"]) + 1 + bool(c.get("missing")))  # + code 0
            j += self.width(c)
        return positions, sizes

    @staticmethod
    def _numbers(series: pd.Series, name: str, source: str) -> np.ndarray:
        from pandas.api import types

        if types.is_bool_dtype(series):  # true/false would silently become 1/0
            raise DataError(
                f"Column {name!r} in '{source}' holds true/false but the model was trained on "
                "numbers there; write them as 1 and 0 if that is what they mean."
            )
        if is_numeric_column(series):
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        import pandas as pd

        coerced = pd.to_numeric(series, errors="coerce")
        bad = coerced.isna() & series.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Column {name!r} in '{source}' holds text such as {series.iloc[row]!r} (data row "
                f"{row + 1}) but the model was trained on numbers there; fix the column."
            )
        return coerced.to_numpy(dtype=np.float64, na_value=np.nan)

    def affine(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(fill, mean, scale)`` over the encoded columns, for graphs that redo the encoding.

        For numeric column ``j``: ``z_j = (fill_j if x_j is NaN else x_j - mean_j) / scale_j``
        (``fill_j`` is NaN when no imputation was fitted), then the smooth clip of
        :meth:`inverse_clip`; indicator and code columns pass through (fill 0, mean 0, scale 1).
        """
        fill, mean, scale = [], [], []
        for c in self.columns_:
            n = self.width(c)
            if c["kind"] == "numeric":
                fill.append(np.nan if c["fill"] is None else c["fill"])
                mean.append(c["mean"])
                scale.append(c["scale"])
                n -= 1  # its missing indicator, if any, passes through
            fill += [0.0] * n
            mean += [0.0] * n
            scale += [1.0] * n
        return np.array(fill), np.array(mean), np.array(scale)

    def inverse_clip(self) -> np.ndarray:
        """:math:`1/c` per encoded column (0 where no clip): :math:`x' = z / \\sqrt{1 + (z/c)^2}`."""
        inverse: list[float] = []
        for c in self.columns_:
            inverse.append(1.0 / c["clip"] if c.get("clip") else 0.0)
            inverse += [0.0] * (self.width(c) - 1)
        return np.array(inverse)

    def numeric_positions(self) -> list[tuple[int, str]]:
        """``(encoded column, input column)`` of each numeric column's scaled value."""
        positions, j = [], 0
        for c in self.columns_:
            if c["kind"] == "numeric":
                positions.append((j, c["name"]))
            j += self.width(c)
        return positions

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (which columns are embedded is each column's ``kind``)."""
        return {"impute": self.impute, "columns": [dict(c) for c in self.columns_]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TablePreprocessor:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed state."""
        pre = cls(state["impute"])
        columns = []
        for c in state["columns"]:
            if c["kind"] == "numeric":
                fill = c.get("fill")
                numeric = {
                    "name": str(c["name"]),
                    "kind": "numeric",
                    "mean": float(c["mean"]),
                    "scale": float(c["scale"]),
                    "fill": None if fill is None else float(fill),
                }
                if c.get("clip"):
                    numeric["clip"] = float(c["clip"])
                if c.get("indicator"):
                    numeric["indicator"] = True
                columns.append(numeric)
            elif c["kind"] in ("categorical", "embedded"):
                cats = [str(k) for k in c["categories"]]
                text = {"name": str(c["name"]), "kind": c["kind"], "categories": cats}
                if c.get("missing"):
                    text["missing"] = True
                columns.append(text)
            else:
                raise ValueError(f"unknown column kind {c['kind']!r}")
        pre.columns_ = columns
        return pre

    def describe(self) -> str:
        """A plain-text table of columns and what happens to each."""
        rows = [("column", "kind", "encoding")]
        for c in self.columns_:
            if c["kind"] == "numeric":
                how = f"(x − {c['mean']:.4g}) / {c['scale']:.4g}"
                if c.get("clip"):
                    how += f", smooth clip ±{c['clip']:g}"
                if c["fill"] is not None:
                    how += f", missing → {c['fill']:.4g}"
                if c.get("indicator"):
                    how += " + missing indicator"
            else:
                cats = self.levels(c)
                shown = ", ".join(cats[:6]) + (f", … ({len(cats)})" if len(cats) > 6 else "")
                how = (
                    "embedded codes 1…, 0 unseen: " if c["kind"] == "embedded" else "one-hot: "
                ) + shown
            rows.append((c["name"], c["kind"], how))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )
