"""The array namespace the engine computes in.

Every formula in chainrule is written against an *array namespace* ``xp`` (the Python array
API standard), found from the arrays it is given. NumPy arrays get the ``numpy`` module itself,
which implements the standard since NumPy 2.0 and is the fastest path; anything else (CuPy,
PyTorch, ``array_api_strict``) goes through ``array_api_compat``.

Finding a namespace through ``array_api_compat`` costs about 10 µs, as much as a whole epoch
of the lecture's network, so NumPy inputs are recognised by their type first.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

Array = Any
"""Any array the array API standard describes (NumPy, CuPy, PyTorch, array_api_strict…)."""

_NUMPY_IS_STANDARD = int(np.__version__.split(".")[0]) >= 2


def namespace(*arrays: Array) -> ModuleType:
    """Return the array namespace shared by ``arrays``.

    Parameters
    ----------
    *arrays : array
        Arrays (or ``None``, which is skipped).

    Returns
    -------
    module
        ``numpy`` when every array is a NumPy array, else the namespace
        ``array_api_compat.array_namespace`` finds.
    """
    # A plain loop, not all(<generator>): this runs several times per batch.
    for a in arrays:
        if type(a) is not np.ndarray and a is not None:
            break
    else:
        if _NUMPY_IS_STANDARD:
            return np
    import array_api_compat

    return array_api_compat.array_namespace(*(a for a in arrays if a is not None))


def array_sum(x: Array, axis: int | None = None) -> Array:
    """:math:`\\sum` of ``x`` over ``axis`` (all elements when ``None``): ``xp.sum(x, axis=axis)``.

    For a NumPy array this is ``np.add.reduce``, the reduction ``np.sum`` itself runs, called
    without ``np.sum``'s Python wrapper: the same values, a few microseconds sooner, which is
    most of the cost on the lecture's arrays. The one place chainrule spells a sum for speed.
    """
    if type(x) is np.ndarray:
        return np.add.reduce(x, axis=axis)
    return namespace(x).sum(x, axis=axis)


def to_numpy(x: Array) -> np.ndarray:
    """Copy-free where possible conversion of any array API array to NumPy."""
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except (TypeError, RuntimeError, ValueError):
        # array_api_strict and GPU arrays refuse the buffer protocol; DLPack or a CPU
        # round trip always works.
        if hasattr(x, "cpu"):
            return np.asarray(x.cpu())
        return np.from_dlpack(x)


def from_numpy(x: np.ndarray, xp: ModuleType, like: Array | None = None) -> Array:
    """Move a NumPy array into namespace ``xp`` (on the device of ``like``, if given)."""
    if xp is np:
        return x
    device = None
    if like is not None:
        import array_api_compat

        device = array_api_compat.device(like)
    try:
        return xp.asarray(x, device=device) if device is not None else xp.asarray(x)
    except TypeError:
        return xp.from_dlpack(x)


def dtype_name(dtype: Any) -> str:
    """``'float32'`` / ``'float64'`` for a dtype of any namespace."""
    text = str(dtype)
    for name in ("float16", "float32", "float64", "int32", "int64", "bool"):
        if name in text:
            return name
    return text


def is_floating(x: Array) -> bool:
    """Whether ``x`` holds real floating-point numbers."""
    return dtype_name(x.dtype) in ("float16", "float32", "float64")
