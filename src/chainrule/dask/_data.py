"""Dask collections in, per-partition pieces out; preprocessing statistics by Dask reductions.

:func:`pieces` lines up ``X``, ``y`` and ``sample_weight`` partition by partition as delayed
``(X_p, Y_p, w_p)`` tuples (never computed here); :class:`~chainrule.dask._engine.Shards`
materialises them on the workers. :func:`fit_preprocessor` learns chainrule's
:class:`~chainrule.tabular.preprocessing.TablePreprocessor` state — means, population
standard deviations, categories — from reductions that return one number (or one small set)
per column, then builds the preprocessor from that state, so a partition is encoded on its
worker exactly as a pandas table would be on one machine.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.dask._watch import compute
from chainrule.tabular.data import DataError
from chainrule.tabular.preprocessing import MAX_CATEGORIES, TablePreprocessor, value_key


def is_frame(obj: Any) -> bool:
    """Whether ``obj`` is a dask DataFrame."""
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame)


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a dask collection (array, DataFrame or Series)."""
    import dask

    return dask.is_dask_collection(obj)


def numeric_columns(frame: Any) -> bool:
    """Whether every column of a (dask or pandas) frame holds numbers or booleans."""
    from pandas.api import types

    return all(types.is_numeric_dtype(t) or types.is_bool_dtype(t) for t in frame.dtypes)


def fit_preprocessor(
    frame: Any, columns: list[str], impute: str = "error", warn_confined: bool = False
) -> TablePreprocessor:
    """A :class:`TablePreprocessor` whose statistics come from Dask reductions on ``frame``.

    For numeric column :math:`x`: :math:`\\mu = \\frac1N\\sum x`,
    :math:`s = \\sqrt{\\frac1N\\sum x^2 - \\mu^2}` (``ddof=0``, 1 for a constant column), from
    the partition sums :math:`\\sum 1, \\sum x, \\sum x^2`; ``impute="mean"`` fills with
    :math:`\\mu` of the present values first (``"median"`` is refused: it is not a reduction).
    Categorical columns: the sorted distinct values (``drop_duplicates`` per partition, then
    once more). Only these numbers travel to the client. With ``warn_confined``, a
    ``UserWarning`` names the text levels found in one partition only (see
    :func:`_warn_confined`).
    """
    import dask

    if impute == "median":
        raise DataError("impute='median' is not available on a Dask cluster; use impute='mean'.")
    if not columns:
        raise DataError("The table has no feature columns besides the target.")
    numeric = [c for c in columns if numeric_columns(frame[[c]])]
    position = {name: i for i, name in enumerate(numeric)}
    text = [c for c in columns if c not in position]
    # One small task per partition: a worker holds its partition and one column's copy,
    # whatever the number of columns, and only sums and distinct values travel.
    summarise = functools.partial(_summary, numeric, text)
    summaries = compute(*[dask.delayed(summarise)(p) for p in frame[columns].to_delayed()])
    totals = np.sum([s[0] for s in summaries], axis=0) if summaries else np.zeros((0, 4))
    state = []
    for name in columns:
        if name in position:
            count, missing, total, squares = totals[position[name]]
        else:
            missing = sum(s[1][name][0] for s in summaries)
        if missing and impute == "error":
            raise DataError(
                f"Column {name!r} has {int(missing)} missing values; fill them, or pass "
                "impute='mean'."
            )
        if name in position:
            state.append(_numeric_state(name, count, missing, total, squares, impute))
            continue
        per_partition = [value_key(v) for s in summaries for v in s[1][name][1]]
        keys = sorted(set(per_partition))
        if warn_confined and frame.npartitions > 1:
            _warn_confined(name, per_partition, frame.npartitions)
        if len(keys) > MAX_CATEGORIES:
            raise DataError(
                f"Column {name!r} has {len(keys)} distinct text values, too many to one-hot "
                f"encode (limit {MAX_CATEGORIES}); drop it."
            )
        state.append({"name": name, "kind": "categorical", "categories": keys})
    return TablePreprocessor.from_dict({"impute": impute, "columns": state})


def _summary(
    numeric: list[str], text: list[str], part: Any
) -> tuple[np.ndarray, dict[str, tuple[int, list[str]]]]:
    """One pandas partition summarised: ``(k, 4)`` per numeric column its count of values, of
    missing values, :math:`\\sum x` and :math:`\\sum x^2` (missing values left out); per
    text column its missing count and its distinct values as text."""
    sums = np.zeros((len(numeric), 4))
    for i, name in enumerate(numeric):
        x = part[name].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(x)
        count = int(present.sum())
        x = x[present] if count < len(x) else x
        sums[i] = count, len(present) - count, float(x.sum()), float(x @ x)
    levels = {}
    for name in text:
        col = part[name]
        present = col.dropna()
        levels[name] = (len(col) - len(present), list(present.astype(str).drop_duplicates()))
    return sums, levels


def _numeric_state(
    name: str, count: int, missing: int, total: float, squares: float, impute: str
) -> dict[str, Any]:
    if count == 0:
        raise DataError(f"Column {name!r} has no values at all; drop it.")
    mean = total / count
    if missing and impute == "mean":  # filled values sit at the mean: they add 0 to the spread
        var = (squares - count * mean * mean) / (count + missing)
        fill: float | None = mean
    else:
        var, fill = squares / count - mean * mean, None
    scale = float(np.sqrt(max(var, 0.0)))
    return {"name": name, "kind": "numeric", "mean": float(mean), "fill": fill,
            "scale": scale if scale > 1e-12 * max(1.0, abs(mean)) else 1.0}  # fmt: skip


def frame_blocks(frame: Any, encode: Callable[[Any], np.ndarray]) -> list[Any]:
    """Delayed ``encode(partition)`` per partition of a dask DataFrame or Series."""
    import dask

    return [dask.delayed(encode)(part) for part in frame.to_delayed()]


def array_blocks(X: Any) -> list[Any]:
    """Delayed row blocks of a 1-D or 2-D dask array (columns joined into one block)."""
    if X.ndim == 2:
        X = X.rechunk({1: -1})
        return list(X.to_delayed()[:, 0])
    return list(X.to_delayed())


def blocks(obj: Any, encode: Callable[[Any], np.ndarray]) -> list[Any]:
    """Delayed per-partition NumPy blocks of ``obj`` (dask array, DataFrame or Series)."""
    import dask.array as da

    if isinstance(obj, da.Array):
        return [dask_apply(encode, b) for b in array_blocks(obj)]
    return frame_blocks(obj, encode)


def dask_apply(fn: Callable[..., Any], *args: Any) -> Any:
    """``dask.delayed(fn)(*args)``: one more lazy step on a partition."""
    import dask

    return dask.delayed(fn)(*args)


def pieces(
    X: Any,
    y: Any,
    w: Any,
    encode_x: Callable[[Any], np.ndarray],
    encode_y: Callable[[Any], np.ndarray],
) -> list[Any]:
    """Delayed ``(X_p, Y_p, w_p)`` per partition; ``X`` and ``y`` must be partitioned alike.

    A DataFrame ``X`` with Series ``y`` (and weights) is first joined into one frame: Dask
    may repartition a projection of one column differently from the whole table, and one
    frame keeps every row's features, target and weight in the same partition.
    """
    if is_frame(X) and is_frame_like(y) and (w is None or is_frame_like(w)):
        columns = [str(c) for c in X.columns]
        joined = X.assign(**{TARGET: y} if w is None else {TARGET: y, WEIGHT: w})
        split = functools.partial(_split, columns, encode_x, encode_y, w is not None)
        return [dask_apply(split, part) for part in joined.to_delayed()]
    xs, ys = blocks(X, encode_x), blocks(y, encode_y)
    ws = [None] * len(xs) if w is None else blocks(w, as_float_vector)
    if not len(xs) == len(ys) == len(ws):
        raise ValueError(
            f"X has {len(xs)} partitions but y has {len(ys)}"
            + ("" if w is None else f" and sample_weight {len(ws)}")
            + "; split them alike (e.g. y = frame[target] of the same DataFrame, or the same "
            "row chunks)."
        )
    return [dask_apply(_check_piece, x, t, v) for x, t, v in zip(xs, ys, ws, strict=True)]


TARGET, WEIGHT = "__chainrule_target__", "__chainrule_weight__"
"""Column names under which a target and weights join the features' partitions."""


def is_frame_like(obj: Any) -> bool:
    """Whether ``obj`` is a dask DataFrame or Series."""
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame | dd.Series)


def _split(
    columns: list[str],
    encode_x: Callable[[Any], np.ndarray],
    encode_y: Callable[[Any], np.ndarray],
    weighted: bool,
    part: Any,
) -> tuple[Any, Any, Any]:
    w = as_float_vector(part[WEIGHT]) if weighted else None
    return encode_x(part[columns]), encode_y(part[TARGET]), w


def _warn_confined(name: str, per_partition: list[str], partitions: int) -> None:
    """Warn when levels of column ``name`` occur in only one of the ``partitions``.

    ``per_partition`` holds each partition's distinct levels, one after another, so a level's
    count is the number of partitions it occurs in. Data-parallel Adam and SGD average the
    partitions' steps: a level one partition alone holds learns at about 1/P of the rate and
    ends underfit (its rows predicted far from their targets, with no other sign).
    """
    counts = Counter(per_partition)
    confined = sorted(level for level, n in counts.items() if n == 1)
    if confined:
        shown = ", ".join(repr(c) for c in confined[:3]) + (" …" if len(confined) > 3 else "")
        warnings.warn(
            f"Column {name!r}: {len(confined)} level(s) ({shown}) occur in only one of "
            f"{partitions} partitions, where data-parallel training learns them at about 1/"
            f"{partitions} of the rate and underfits them; shuffle the rows across partitions "
            "(e.g. ddf.shuffle) or use solver='lbfgs'.",
            UserWarning,
            stacklevel=5,
        )


def distinct(series: Any, merge: bool = True) -> list[Any]:
    """The distinct non-missing values of a dask Series or array: unique per partition on the
    workers, then once more here (a small set travels, not the rows). ``merge=False``: each
    partition's distinct values one after another, without the last step."""
    if is_frame_like(series):
        per_part = series.dropna().map_partitions(_distinct_block, meta=series._meta.dropna())
    else:
        per_part = series.map_blocks(np.unique, chunks=(np.nan,), dtype=series.dtype)
    (values,) = compute(per_part)
    return list(pd_unique(np.asarray(values))) if merge else list(np.asarray(values))


def _distinct_block(block: Any) -> Any:
    return block.drop_duplicates()


def pd_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique``; object arrays of mixed text compared as text)."""
    try:
        return np.unique(values)
    except TypeError:
        return np.unique(values.astype(str))


def _check_piece(X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> tuple[Any, Any, Any]:
    if X.shape[0] != Y.shape[0] or (w is not None and w.shape[0] != X.shape[0]):
        raise ValueError(
            f"A partition has {X.shape[0]} rows of X but {Y.shape[0]} of y; partition them alike."
        )
    return X, Y, w


def as_float_matrix(block: Any, dtype: str = "float64") -> np.ndarray:
    """A partition of numeric features as a C-contiguous ``(n_p, d)`` matrix of ``dtype``."""
    values = block.to_numpy(dtype=dtype) if hasattr(block, "to_numpy") else block
    values = np.asarray(values, dtype=dtype)
    # the width from the shape, not -1: an empty partition (0 rows) has no size to infer it from
    width = math.prod(values.shape[1:]) if values.ndim > 1 else 1
    return np.ascontiguousarray(values.reshape(values.shape[0], width))


def class_codes(classes: np.ndarray, block: Any) -> np.ndarray:
    """A partition of labels as integer codes ``(n_p,)``: the index of each label in the
    sorted ``classes`` (the smallest integer type that holds them)."""
    values = as_vector(block)
    codes = np.searchsorted(classes, values) if len(values) else np.zeros(0, np.intp)
    codes = np.minimum(codes, len(classes) - 1)
    if len(values) and not np.array_equal(classes[codes], values):
        unknown = values[classes[codes] != values][0]
        raise ValueError(f"y holds the label {unknown!r}, not among the classes {list(classes)}.")
    return codes.astype(np.min_scalar_type(len(classes) - 1))


def weigh_classes(table: np.ndarray, piece: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    """``(X_p, codes_p, w_p)`` with ``w_p`` multiplied by the class weight ``table[codes_p]``."""
    X, codes, w = piece
    weights = table[codes]
    return X, codes, weights if w is None else w * weights


def holdout(seed: int, fraction: float, keep_validation: bool, piece: Any) -> Any:
    """The rows of ``piece = (X_p, Y_p, w_p)`` a seeded draw holds out (``keep_validation``)
    or keeps for training: each row held out with probability ``fraction``."""
    X, Y, w = piece
    held = np.random.default_rng(seed).random(X.shape[0]) < fraction
    rows = held if keep_validation else ~held
    return X[rows], Y[rows], None if w is None else w[rows]


def row_count(obj: Any) -> float:
    """Rows of a dask array (its known shape, else NaN) or DataFrame (one counting pass)."""
    import dask.array as da

    if isinstance(obj, da.Array):
        return float(obj.shape[0])
    (rows,) = compute(obj.map_partitions(len).sum())
    return float(rows)


def largest_partition(obj: Any, rows: float) -> float:
    """Rows of the largest partition: a dask array's known chunks, else (a DataFrame, whose
    partitions are not counted one by one) the mean :math:`N / P`."""
    import dask.array as da

    if isinstance(obj, da.Array) and all(math.isfinite(c) for c in obj.chunks[0]):
        return float(max(obj.chunks[0], default=0))
    return rows / max(int(obj.npartitions), 1)


def as_float_vector(block: Any) -> np.ndarray:
    """A partition of weights or targets as float64 ``(n_p,)``."""
    values = block.to_numpy() if hasattr(block, "to_numpy") else block
    return np.asarray(values, dtype=np.float64).reshape(-1)


def class_counts(y: Any, classes: np.ndarray) -> np.ndarray:
    """Rows per class ``(K,)`` of a dask Series or array, by one Dask reduction."""
    import dask.array as da

    labels = y.to_dask_array() if is_frame_like(y) else y
    values, counts = da.unique(labels, return_counts=True)
    values, counts = (np.asarray(a) for a in compute(values, counts))
    return np.array([counts[values == c].sum() for c in classes], dtype=np.float64)


def as_vector(block: Any) -> np.ndarray:
    """A partition of labels as ``(n_p,)`` (dtype kept) or ``(n_p, L)`` indicator rows."""
    values = block.to_numpy() if hasattr(block, "to_numpy") else block
    return np.asarray(values)
