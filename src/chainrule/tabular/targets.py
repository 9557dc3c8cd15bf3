"""The target column: which task it implies, its classes, and its values checked and encoded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.tabular.data import DataError
from chainrule.tabular.preprocessing import is_numeric_column, value_key

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("classification", "regression")
MAX_CLASSES_INFERRED = 20
"""A target of integers with at most this many distinct values is taken as classes."""


def infer_task(target: pd.Series) -> str:
    """Guess the task from the target column.

    Text, categories and booleans are classes; integers (or whole-number floats) with at most
    :data:`MAX_CLASSES_INFERRED` distinct values are classes; anything else is regression.
    """
    from pandas.api import types

    values = target.dropna()
    if types.is_bool_dtype(values) or not is_numeric_column(values):
        return "classification"
    numbers = values.to_numpy(dtype=np.float64)
    whole = bool(np.all(numbers == np.round(numbers)))
    if whole and len(np.unique(numbers)) <= MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def _python_value(value: Any) -> Any:
    """A JSON-able Python scalar for a class label (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value == int(value):
        return int(value)  # 1.0 read from a CSV is the class 1
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _class_list(target: pd.Series) -> list[Any]:
    values = {value_key(v): _python_value(v) for v in target.dropna().unique()}
    labels = list(values.values())
    try:
        return sorted(labels)
    except TypeError:  # mixed types: order by text
        return sorted(labels, key=value_key)


def check_classification_target(column: pd.Series, name: str, source: str) -> list[Any]:
    classes = _class_list(column)
    if len(classes) < 2:
        raise DataError(
            f"Target column {name!r} in '{source}' has a single class ({classes[0]!r}); "
            "classification needs at least two."
        )
    if is_numeric_column(column) and len(classes) > max(50, 0.5 * len(column)):
        raise DataError(
            f"Target column {name!r} in '{source}' has {len(classes)} distinct numeric values, "
            "too many to be classes; use task='regression'."
        )
    return classes


def class_indices(column: pd.Series, classes: Sequence[Any], name: str, source: str) -> np.ndarray:
    index = {value_key(c): i for i, c in enumerate(classes)}
    keys = [value_key(v) for v in column.to_numpy(dtype=object)]
    unknown = [k for k in keys if k not in index]
    if unknown:
        shown = ", ".join(repr(c) for c in list(classes)[:10])
        raise DataError(
            f"Target column {name!r} in '{source}' has the value {unknown[0]!r}, which is not one "
            f"of the model's classes ({shown})."
        )
    return np.array([index[k] for k in keys], dtype=np.int64)


def check_regression_target(column: pd.Series, name: str, source: str) -> np.ndarray:
    from pandas.api import types

    if types.is_bool_dtype(column) or not is_numeric_column(column):
        sample = column.dropna().iloc[0] if column.notna().any() else None
        raise DataError(
            f"Target column {name!r} in '{source}' holds non-numeric values such as {sample!r}; "
            "regression needs numbers, so use task='classification'."
        )
    numbers = column.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(numbers)):
        raise DataError(f"Target column {name!r} in '{source}' has infinite values; remove them.")
    return numbers
