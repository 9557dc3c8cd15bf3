"""The playground's built-in data sets, each drawn from an explicit ``numpy.random.Generator``.

The shapes follow TensorFlow Playground (points in the square ``[-6, 6]²``, 500 of them, a
``noise`` in ``[0, 0.5]``), plus chainrule's own two: the lecture's 500 standard-normal points
labelled ``x₁ + x₂ > 0`` and scikit-learn-style two moons, and a three-class set. Every
function returns ``(X, y)`` with ``X`` of shape ``(n, 2)`` and ``y`` class indices ``(n,)``
(classification) or values ``(n,)`` (regression).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chainrule.lecture import SEED, lecture_data

N_POINTS = 500
"""Points per built-in data set (TensorFlow Playground's and the lecture's 500)."""

Dataset = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def circle(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 inside radius 2.5, class 0 on the ring from 3.5 to 5; noise moves points."""
    inner = n // 2
    radius = np.concatenate([gen.uniform(0, 2.5, inner), gen.uniform(3.5, 5.0, n - inner)])
    angle = gen.uniform(0, 2 * np.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    X += gen.uniform(-5, 5, (n, 2)) * noise
    y = (np.hypot(X[:, 0], X[:, 1]) < 3.0).astype(np.int64)  # labelled after the noise
    return X, y


def xor(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 where ``x₁·x₂ > 0`` (first and third quadrants); points kept off the axes."""
    X = gen.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)  # a small gap along both axes, as in Playground
    X += gen.uniform(-5, 5, (n, 2)) * noise
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X, y


def gaussian(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters at (2, 2) (class 1) and (−2, −2) (class 0); noise widens them."""
    sd = 0.5 + 4.0 * noise
    half = n // 2
    X = np.concatenate(
        [gen.normal(2.0, sd, (half, 2)), gen.normal(-2.0, sd, (n - half, 2))], axis=0
    )
    y = np.concatenate([np.ones(half, np.int64), np.zeros(n - half, np.int64)])
    return X, y


def spiral(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, one per class."""
    half = n // 2
    parts, labels = [], []
    for label, delta, count in ((1, 0.0, half), (0, np.pi, n - half)):
        t = np.arange(count) / count
        r = 5.0 * t
        angle = 1.75 * t * 2 * np.pi + delta
        pts = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        parts.append(pts + gen.uniform(-1, 1, (count, 2)) * noise * 5.0)
        labels.append(np.full(count, label, np.int64))
    return np.concatenate(parts), np.concatenate(labels)


def lecture(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's 500 points: ``RandomState(42).randn(500, 2)``, labelled ``x₁ + x₂ > 0``.

    The points are the lecture's exactly (its own seed, whatever the playground's); ``noise``
    adds Gaussian jitter of standard deviation ``noise`` drawn from ``gen`` after labelling.
    """
    X, labels = lecture_data(np.random.RandomState(SEED))  # the lecture's stream, no global state
    y = labels.astype(np.int64)
    if noise:
        X = X + gen.normal(0.0, noise, X.shape)
    return X, y


def moons(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons``), scaled by 2.5 to fill the plane."""
    half = n // 2
    t0 = np.linspace(0, np.pi, half)
    t1 = np.linspace(0, np.pi, n - half)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    X = (np.concatenate([upper, lower]) - [0.5, 0.25]) * 2.5
    X += gen.normal(0.0, noise * 1.5, X.shape) if noise else 0.0
    y = np.concatenate([np.zeros(half, np.int64), np.ones(n - half, np.int64)])
    return X, y


def blobs3(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian clusters on a circle of radius 3.5, one class each."""
    centres = 3.5 * np.array(
        [[np.cos(a), np.sin(a)] for a in (np.pi / 2, 7 * np.pi / 6, 11 * np.pi / 6)]
    )
    y = np.arange(n) % 3
    X = centres[y] + gen.normal(0.0, 0.6 + 3.0 * noise, (n, 2))
    return X, y.astype(np.int64)


def plane(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression: ``y = (x₁ + x₂) / 10`` with uniform noise."""
    X = gen.uniform(-6, 6, (n, 2))
    y = (X[:, 0] + X[:, 1]) / 10.0 + gen.uniform(-1, 1, n) * noise
    return X, y


def multi_gaussian(n: int, noise: float, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression: a sum of signed Gaussian bumps, as Playground's "multi Gaussian"."""
    X = gen.uniform(-6, 6, (n, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(n)
    for cx, cy, sign in bumps:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2.0)
    return X, y + gen.uniform(-1, 1, n) * noise


CLASSIFICATION: dict[str, Dataset] = {
    "circle": circle,
    "xor": xor,
    "gaussian": gaussian,
    "spiral": spiral,
    "lecture": lecture,
    "moons": moons,
    "blobs3": blobs3,
}
"""Classification data sets by name (the page lists them in this order)."""

REGRESSION: dict[str, Dataset] = {"plane": plane, "multigauss": multi_gaussian}
"""Regression data sets by name."""


def make_dataset(
    name: str, noise: float = 0.0, seed: int = 0, n: int = N_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a built-in data set.

    Parameters
    ----------
    name : str
        A key of :data:`CLASSIFICATION` or :data:`REGRESSION`.
    noise : float
        In ``[0, 0.5]``, as in Playground.
    seed : int
        Seed of the ``numpy.random.Generator`` the points are drawn from.
    n : int
        Number of points.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
        Class indices (int64) or regression targets (float64).
    """
    table = {**CLASSIFICATION, **REGRESSION}
    if name not in table:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(table)}.")
    gen = np.random.default_rng(seed)
    return table[name](n, float(noise), gen)


def split(n: int, train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and test parts, shuffled by ``default_rng([seed, 2])``."""
    order = np.random.default_rng([seed, 2]).permutation(n)
    n_train = min(n - 1, max(1, round(n * train_fraction)))
    return np.sort(order[:n_train]), np.sort(order[n_train:])
