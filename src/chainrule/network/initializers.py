"""Weight initializers, each drawing from an explicit random generator.

An initializer is a function ``init(shape, rng) -> numpy.ndarray`` (float64). ``rng`` is a
``numpy.random.Generator``; a legacy ``numpy.random.RandomState`` also works, which is how the
lecture's ``np.random.seed(42)`` / ``np.random.randn`` stream is reproduced draw for draw.

For a weight matrix of shape ``(fan_in, fan_out)``:

============== ============================================ =====================
name           distribution                                 scale
============== ============================================ =====================
normal         :math:`\\mathcal N(0, 1)` (the lecture's)    —
glorot_uniform :math:`U(-a, a)`                             :math:`a=\\sqrt{6/(n_{in}+n_{out})}`
glorot_normal  :math:`\\mathcal N(0, s^2)`                   :math:`s=\\sqrt{2/(n_{in}+n_{out})}`
he_uniform     :math:`U(-a, a)`                             :math:`a=\\sqrt{6/n_{in}}`
he_normal      :math:`\\mathcal N(0, s^2)`                   :math:`s=\\sqrt{2/n_{in}}`
lecun_uniform  :math:`U(-a, a)`                             :math:`a=\\sqrt{3/n_{in}}`
lecun_normal   :math:`\\mathcal N(0, s^2)`                   :math:`s=\\sqrt{1/n_{in}}`
zeros          0                                            —
============== ============================================ =====================
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

RandomSource = np.random.Generator | np.random.RandomState
Initializer = Callable[[tuple[int, ...], RandomSource], np.ndarray]


def as_generator(rng: RandomSource | int | None) -> RandomSource:
    """Turn a seed (or ``None`` for fresh entropy) into a ``Generator``; pass generators through.

    Parameters
    ----------
    rng : Generator, RandomState, int or None
        The random source. ``None`` draws fresh OS entropy (not reproducible); an ``int`` seeds a
        new ``numpy.random.default_rng``.
    """
    if isinstance(rng, np.random.Generator | np.random.RandomState):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, a RandomState or an integer seed, "
        f"not {type(rng).__name__}."
    )


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(fan_in, fan_out)`` (or a vector)."""
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[-1]


def normal(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """Standard normal :math:`W_{ij} \\sim \\mathcal N(0, 1)`, as ``np.random.randn`` in the lecture."""
    return np.asarray(rng.standard_normal(shape), dtype=np.float64)


def glorot_uniform(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """Glorot/Xavier uniform, :math:`U(-a, a)` with :math:`a = \\sqrt{6 / (n_{in} + n_{out})}`."""
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """Glorot/Xavier normal, :math:`\\mathcal N(0, 2 / (n_{in} + n_{out}))`."""
    fan_in, fan_out = _fans(shape)
    return rng.standard_normal(shape) * math.sqrt(2.0 / (fan_in + fan_out))


def he_uniform(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """He/Kaiming uniform for ReLU layers, :math:`U(-a, a)` with :math:`a = \\sqrt{6 / n_{in}}`."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def he_normal(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """He/Kaiming normal for ReLU layers, :math:`\\mathcal N(0, 2 / n_{in})`."""
    fan_in, _ = _fans(shape)
    return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)


def lecun_uniform(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """LeCun uniform, :math:`U(-a, a)` with :math:`a = \\sqrt{3 / n_{in}}` (unit variance)."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def lecun_normal(shape: tuple[int, ...], rng: RandomSource) -> np.ndarray:
    """LeCun normal, :math:`\\mathcal N(0, 1 / n_{in})`."""
    fan_in, _ = _fans(shape)
    return rng.standard_normal(shape) * math.sqrt(1.0 / fan_in)


def zeros(shape: tuple[int, ...], rng: RandomSource | None = None) -> np.ndarray:
    """All zeros (the lecture's biases); draws nothing from ``rng``."""
    return np.zeros(shape, dtype=np.float64)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
    "zeros": zeros,
}


def get(name: str | Initializer) -> Initializer:
    """Look an initializer up by name (or pass a callable through)."""
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown initializer {name!r}; choose one of {', '.join(sorted(INITIALIZERS))}."
        ) from None


def name_of(init: str | Initializer) -> str:
    """The registry name of an initializer (for model files)."""
    if isinstance(init, str):
        return init
    for key, fn in INITIALIZERS.items():
        if fn is init:
            return key
    return getattr(init, "__name__", "custom")
