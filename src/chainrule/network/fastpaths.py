"""NumPy spellings chosen for speed: where two calls give the same bits, the faster one.

On the lecture's arrays NumPy costs about a microsecond per call whatever the size, and some
calls take slow paths on narrow shapes. The functions here are what the layers, activations and
losses call on NumPy arrays; each says which plainer spelling it equals and why it is faster,
and the tests hold it to that spelling (``tests/test_flatparams.py``, ``tests/test_lecture.py``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

try:  # what np.einsum calls when not optimising, without its Python layer (0.9 µs a call)
    from numpy._core._multiarray_umath import c_einsum as _c_einsum
except ImportError:  # a NumPy that moved it: the public function, a little slower
    _c_einsum = np.einsum

_EXP_LIMITS: dict[Any, float] = {}


def exp_limit(xp: Any, dtype: Any) -> float:
    """Largest ``t`` with ``exp(t)`` finite in ``dtype`` (709 for float64, 88 for float32)."""
    # The namespace's name comes first, so a dtype is only ever compared with dtypes of its own
    # namespace (array_api_strict warns when its dtypes meet NumPy's); str(dtype) would be safe
    # too but costs as much as the sigmoid itself.
    key = (xp.__name__, dtype)
    try:
        return _EXP_LIMITS[key]
    except KeyError:
        limit = math.floor(math.log(float(xp.finfo(dtype).max)))
        _EXP_LIMITS[key] = limit
        return limit


class NumpyConstants(NamedTuple):
    """``0``, ``1`` and the exponent's floor (:func:`exp_limit`) as 0-d arrays of one dtype."""

    zero: np.ndarray
    one: np.ndarray
    exp_limit: np.ndarray


_NUMPY_CONSTANTS: dict[str, NumpyConstants] = {}


def numpy_constants(dtype: np.dtype) -> NumpyConstants:
    """:class:`NumpyConstants` of ``dtype``, made once per dtype.

    A Python number in a NumPy call is converted on every call (about 0.4 µs, as much as the
    operation itself on the lecture's arrays). These hold the same values, so results are bit
    for bit those of the numbers written out.
    """
    try:
        return _NUMPY_CONSTANTS[dtype.char]
    except KeyError:
        made = NumpyConstants(
            np.array(0, dtype=dtype),
            np.array(1, dtype=dtype),
            np.array(exp_limit(np, dtype), dtype=dtype),
        )
        _NUMPY_CONSTANTS[dtype.char] = made
        return made


KEPT_UP_TO = 1 << 16
"""Largest input (in elements) :func:`kept_full` keeps an operand for; above, memory is the cost."""


def kept_full(owner: Any, name: str, like: Any, value: Any) -> np.ndarray | None:
    """An array of ``like``'s shape and dtype filled with ``value``, kept on ``owner`` as ``name``.

    NumPy's binary ufuncs are not vectorised against a 0-d operand: ``maximum(z, 0)`` on a
    128×256 float32 batch takes 13 µs, against an array of zeros 4 µs; ``minimum`` alike. A
    layer passes the kept array instead of the scalar (the same values, so the same bits); it
    is made again only when the input's shape or dtype changes. ``None`` for inputs that are
    not NumPy floats or have more than :data:`KEPT_UP_TO` elements (use the scalar).
    """
    if type(like) is not np.ndarray or like.size > KEPT_UP_TO or like.dtype.kind != "f":
        return None
    kept = owner.__dict__.get(name)
    if kept is None or kept.shape != like.shape or kept.dtype != like.dtype:
        kept = np.full(like.shape, value, dtype=like.dtype)
        setattr(owner, name, kept)
    return kept


SMALL_PRODUCT = 1 << 14
"""Operands with at most this many elements together go to ``np.dot``, larger ones to ``np.matmul``."""


def product(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """:math:`a \\cdot b` of 2-D NumPy arrays, by whichever of NumPy's two calls is faster here.

    Both hand 2-D floats to the same BLAS routine and agree bit for bit. On small operands
    ``np.dot`` dispatches faster (the lecture's ``(500, 1)·(1, 4)``: 1 µs against matmul's
    5 µs, which takes a slow path there); on large ones ``np.matmul`` is as fast or faster
    (``xᵀ·δ`` for a 128×784 batch: np.dot copies the transposed operand, 5–25 % slower).
    """
    if a.size + b.size <= SMALL_PRODUCT:
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def column_sums(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """:math:`\\sum_n a_{n\\cdot}` of a NumPy ``(N, K)`` array, shape ``(K,)``: ``np.sum(a, axis=0)``.

    On a C-ordered array with ``2 <= K < 128`` columns, ``np.sum(a, axis=0)`` adds the rows one
    after another, as ``np.einsum("nk->k", a)`` does, so the two agree bit for bit (and with
    the lecture's ``np.sum(d_hidden, axis=0)``); there NumPy's reduction pays a loop per row
    (8 µs for the lecture's (500, 4)) where einsum takes 3 µs. Elsewhere (one column: a
    pairwise sum; other layouts; wide rows, where the reduction is faster) it is the reduction.
    ``out``, when given, receives the sums.
    """
    if a.ndim == 2 and 2 <= a.shape[1] < 128 and a.flags.c_contiguous:
        if out is None:  # c_einsum takes no out=None
            return _c_einsum("nk->k", a)
        return _c_einsum("nk->k", a, out=out)
    return np.add.reduce(a, axis=0, out=out)


def bce_logits_numpy(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:class:`~chainrule.network.losses.BinaryCrossEntropy` from logits on NumPy, with one exponential for both results.

    With :math:`e = e^{-|z|} \\in (0, 1]`, never overflowing:

    .. math::
        \\ell = \\log(1 + e) + \\max(z, 0) - z y, \\qquad
        \\sigma(z) = \\frac{1}{1 + e} \\;(z \\ge 0), \\quad \\frac{e}{1 + e} \\;(z < 0)

    so the gradient :math:`\\sigma(z) - y` reuses the loss's :math:`e` (for :math:`z \\ge 0` it is
    the lecture's :math:`1/(1 + e^{-z})` exactly). Each step writes into a buffer of the one
    before: on the lecture's arrays an allocation or an exponential costs as much as the rest.
    """
    zero, one, _ = numpy_constants(z.dtype)
    e = np.abs(z)  # |z|
    np.negative(e, out=e)  # −|z|
    np.exp(e, out=e)  # e = e^{−|z|}
    value = np.log1p(e)  # log(1 + e)
    value += np.maximum(z, zero)  # + max(z, 0)
    value -= z * y  # − z·y
    grad = np.where(z >= zero, one, e)  # numerator of σ(z): 1, or e when z < 0
    e += one  # 1 + e
    grad /= e  # σ(z)
    grad -= y  # σ(z) − y
    return value, grad


def contiguous_views(arrays: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """Copies of ``arrays`` laid end to end in one new 1-D buffer, as views of it, by name.

    ``None`` unless they are NumPy float arrays of one dtype (they then stay where they are).
    One buffer lets one call update, check or copy them all (``training/flatparams.py``).
    """
    values = list(arrays.values())
    if not values or any(type(v) is not np.ndarray for v in values):
        return None
    dtype = values[0].dtype
    if dtype.kind != "f" or any(v.dtype != dtype for v in values):
        return None
    buffer = np.empty(sum(v.size for v in values), dtype=dtype)
    views, offset = {}, 0
    for k, v in arrays.items():
        views[k] = buffer[offset : offset + v.size].reshape(v.shape)
        views[k][...] = v
        offset += v.size
    return views
