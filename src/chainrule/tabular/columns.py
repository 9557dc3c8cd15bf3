"""What a column may hold: no silent guessing of its type, no non-finite numbers.

* A column of text in which most values read as numbers is a numeric column with stray
  tokens (``"?"``, ``"n/a"``): an error naming the column and the tokens, not a one-hot
  categorical column of numbers-as-text.
* Dates, durations, nested values (lists, dicts, structs) and raw bytes have no encoding here:
  an error naming the column and how to convert it.
* ``inf`` and ``-inf`` in a numeric column are an error naming the column and the row count
  (missing values — NaN — are handled by imputation instead).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from chainrule.tabular.data import DataError

if TYPE_CHECKING:
    import pandas as pd

STRAY_FRACTION = 0.5
"""A text column whose values read as numbers more often than this is taken as numeric."""


def _unsupported_reason(series: pd.Series) -> str | None:
    import pandas as pd
    from pandas.api import types

    if types.is_datetime64_any_dtype(series):
        return "dates or times; convert them to numbers (e.g. days since a reference date)"
    if types.is_timedelta64_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        return "durations or periods; convert them to numbers of seconds or days"
    if types.is_object_dtype(series):
        present = series.dropna()
        if len(present):
            first = present.iloc[0]
            if isinstance(first, list | tuple | dict | set | np.ndarray):
                return "nested values (lists or structs); flatten them into separate columns"
            if isinstance(first, bytes | bytearray):
                return "raw bytes; decode them to text or numbers"
            if hasattr(first, "isoformat"):
                return "dates or times; convert them to numbers (e.g. days since a reference date)"
    return None


def check_column(series: pd.Series, name: str, source: str, role: str = "Column") -> None:
    """Raise :class:`DataError` when ``series`` cannot be encoded without guessing.

    Parameters
    ----------
    series : Series
        The column.
    name, source : str
        Column and file names, for the message.
    role : str
        ``"Column"`` or ``"Target column"``.
    """
    reason = _unsupported_reason(series)
    if reason is not None:
        raise DataError(f"{role} {name!r} in '{source}' holds {reason}, or drop it.")
    from pandas.api import types

    if types.is_object_dtype(series) or types.is_string_dtype(series):
        _check_stray_tokens(series, name, source, role)
    elif types.is_numeric_dtype(series) and not types.is_bool_dtype(series):
        check_finite(series.to_numpy(dtype=np.float64, na_value=np.nan), name, source, role)


def _check_stray_tokens(series: pd.Series, name: str, source: str, role: str) -> None:
    import pandas as pd

    present = series.dropna()
    if not len(present):
        return
    coerced = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    numbers = int(coerced.notna().sum())
    if numbers == 0:
        return  # text: categories
    if numbers <= STRAY_FRACTION * len(present):  # mostly text: categories, but say so
        warnings.warn(
            f"{role} {name!r} in '{source}' holds {numbers} numbers among "
            f"{len(present) - numbers} text values; it is treated as categories (one-hot), "
            "each number a category of its own.",
            UserWarning,
            stacklevel=4,
        )
        return
    stray = present[coerced.isna().to_numpy()]
    if not len(stray):
        return  # all numbers written as text: read as numbers by the encoder
    tokens = sorted({str(v) for v in stray})
    shown = ", ".join(repr(t) for t in tokens[:5]) + (" …" if len(tokens) > 5 else "")
    row = int(np.flatnonzero(series.notna().to_numpy())[np.flatnonzero(coerced.isna())[0]]) + 1
    raise DataError(
        f"{role} {name!r} in '{source}' holds numbers but also {len(stray)} text value(s) "
        f"{shown} (first in data row {row}); mark them as missing with "
        f"na_values=[{tokens[0]!r}] or clean the column."
    )


def check_finite(values: np.ndarray, name: str, source: str, role: str = "Column") -> None:
    """Raise :class:`DataError` naming the column when ``values`` holds ``±inf``."""
    infinite = np.isinf(values)
    if infinite.any():
        raise DataError(
            f"{role} {name!r} in '{source}' has {int(infinite.sum())} infinite value(s) (first "
            f"in data row {int(np.flatnonzero(infinite)[0]) + 1}); replace or remove those rows."
        )


MIN_ROWS_FOR_IDENTIFIER = 20
"""Fewer rows than this and a column of distinct values is not taken for an identifier."""


def identifier_reason(series: pd.Series) -> str | None:
    """Why ``series`` looks like a row identifier rather than a feature, or ``None``.

    Two shapes are taken for identifiers, both common and both useless to a model that has
    to predict rows it has not seen: a text (or integer-coded text) column with a different
    value in every row, and an integer column that counts the rows — its values, sorted,
    are :math:`k, k+1, \\dots, k+N-1`. A float column is never an identifier (measurements
    are often all distinct), nor is a column with missing values.
    """
    from pandas.api import types

    n = len(series)
    if n < MIN_ROWS_FOR_IDENTIFIER or series.isna().any() or _unsupported_reason(series):
        return None  # dates, nested values…: check_column names them instead
    if types.is_bool_dtype(series) or types.is_float_dtype(series):
        return None
    if types.is_integer_dtype(series):
        values = np.sort(series.to_numpy(dtype=np.int64))
        if values[-1] - values[0] == n - 1 and np.all(np.diff(values) == 1):
            return "its values count the rows"
        return None
    if series.nunique() < n:
        return None
    import pandas as pd

    numbers = pd.to_numeric(series.astype(str).str.strip(), errors="coerce").notna().mean()
    if numbers > STRAY_FRACTION:  # numbers written as text: check_column's business
        return None
    return "it has a different value in every row"


def identifier_columns(frame: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    """``{column: reason}`` for the columns of ``frame`` that look like row identifiers.

    All of ``columns`` is never returned: a table whose every feature looks like an
    identifier keeps them (there would be nothing left to learn from).
    """
    found = {}
    for name in columns:
        reason = identifier_reason(frame[name])
        if reason is not None:
            found[name] = reason
    return {} if len(found) == len(columns) else found
