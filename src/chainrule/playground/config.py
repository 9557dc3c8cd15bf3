"""The playground's set-up: every choice on the page, validated at the boundary.

The page sends its whole state as JSON (the same state it writes into the URL); :func:`parse`
turns it into a :class:`Config` or raises ``ValueError`` with one sentence saying what is wrong.

The input features (:data:`FEATURES`) are functions of the two plane coordinates ``x₁, x₂``.

As in TensorFlow Playground, the network does not have to see the raw coordinates: any of
``x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂`` can be switched on. Columns of an uploaded table
beyond the two plotted ones enter as extra inputs, unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from chainrule.playground import datasets

FEATURES: dict[str, tuple[str, str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x1": ("x₁", "x1", lambda a, b: a),
    "x2": ("x₂", "x2", lambda a, b: b),
    "x1sq": ("x₁²", "x1**2", lambda a, b: a * a),
    "x2sq": ("x₂²", "x2**2", lambda a, b: b * b),
    "x1x2": ("x₁x₂", "x1 * x2", lambda a, b: a * b),
    "sinx1": ("sin x₁", "np.sin(x1)", lambda a, b: np.sin(a)),
    "sinx2": ("sin x₂", "np.sin(x2)", lambda a, b: np.sin(b)),
}
"""Feature key → (label on the page, NumPy expression in the exported snippet, function)."""


def feature_matrix(
    x1: np.ndarray, x2: np.ndarray, names: Sequence[str], extra: np.ndarray | None = None
) -> np.ndarray:
    """The network's input: the chosen features of ``(x₁, x₂)``, then any extra columns.

    Parameters
    ----------
    x1, x2 : ndarray, shape (n,)
        The plane coordinates.
    names : sequence of str
        Keys of :data:`FEATURES`, in the order the network sees them.
    extra : ndarray, shape (n, m), optional
        Further input columns (an uploaded table's other features).

    Returns
    -------
    ndarray, shape (n, len(names) + m)
    """
    columns = [FEATURES[name][2](x1, x2) for name in names]
    matrix = np.column_stack(columns) if columns else np.empty((x1.shape[0], 0))
    if extra is not None and extra.shape[1]:
        matrix = np.concatenate([matrix, extra], axis=1)
    return np.ascontiguousarray(matrix, dtype=np.float64)


ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity", "leaky_relu", "elu", "gelu")
"""Hidden-layer activations offered on the page (names of :mod:`chainrule.activations`)."""
OPTIMIZERS = ("sgd", "adam", "rmsprop")
PROBLEMS = ("classification", "regression")
UPLOAD = "upload"
"""The data set name that means "the uploaded table"."""
MAX_LAYERS = 6
MAX_NEURONS = 8
MAX_CLASSES = 10
SEED_LIMIT = 2**31


@dataclass
class Config:
    """One playground set-up; its defaults are TensorFlow Playground's.

    Attributes
    ----------
    dataset : str
        A built-in data set (:mod:`chainrule.playground.datasets`) or ``"upload"``.
    noise : float
        Noise of the built-in data sets, in ``[0, 0.5]``.
    train_fraction : float
        Share of the points trained on, in ``[0.1, 0.9]``; the rest is the test set.
    seed, init : int
        Seeds of the data (and its split) and of the initial weights and batch order.
    features : list of str
        Input features (keys of :data:`~chainrule.playground.config.FEATURES`).
    hidden : list of int
        Neurons per hidden layer.
    activation, optimizer : str
        Of the hidden layers; the update rule.
    learning_rate, l1, l2, dropout : float
        Step size; penalties :math:`\\lambda_1\\sum|W|`, :math:`\\tfrac{\\lambda_2}{2}\\sum W^2`
        (as L2 weight decay, :math:`g + \\lambda_2 W`); the dropout rate after each hidden layer.
    batch_size : int
        Rows per gradient step.
    problem : str
        ``"classification"`` or ``"regression"``.
    target, columns, axes : str, list of str, list of str
        For an uploaded table: the target column, the feature columns, and the two of them
        drawn as the plane's axes (``x₁``, ``x₂``).
    """

    dataset: str = "circle"
    noise: float = 0.0
    train_fraction: float = 0.5
    seed: int = 1
    init: int = 1
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 2])
    activation: str = "tanh"
    optimizer: str = "sgd"
    learning_rate: float = 0.03
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    batch_size: int = 10
    problem: str = "classification"
    target: str = ""
    columns: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what :func:`parse` reads back)."""
        return asdict(self)


def _number(raw: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool):  # JSON true is not the number 1
        raise ValueError(f"{key} must be a number, got {value!r}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, got {value!r}.") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{key} must be between {lo:g} and {hi:g}, got {value:g}.")
    return value


def _integer(raw: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = _number(raw, key, default, lo, hi)
    if value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value:g}.")
    return int(value)


def _choice(raw: dict[str, Any], key: str, default: str, options: tuple[str, ...]) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{key} must be one of {', '.join(options)}, got {value!r}.")
    return str(value)


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a column name (a string), got {value!r}.")
    return value


def _strings(raw: dict[str, Any], key: str, default: list[str]) -> list[str]:
    value = raw.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of names.")
    return list(dict.fromkeys(value))  # no duplicates, order kept


def parse(raw: Any) -> Config:
    """Validate the page's state and return a :class:`Config` (defaults for missing keys).

    Raises
    ------
    ValueError
        One sentence naming the bad field and the values it accepts.
    """
    if not isinstance(raw, dict):
        raise ValueError("The set-up must be a JSON object.")
    d = Config()
    problem = _choice(raw, "problem", d.problem, PROBLEMS)
    names = datasets.CLASSIFICATION if problem == "classification" else datasets.REGRESSION
    default_data = next(iter(names))
    dataset = raw.get("dataset", default_data)
    if not isinstance(dataset, str) or (dataset != UPLOAD and dataset not in names):
        raise ValueError(f"dataset must be one of {', '.join([*names, UPLOAD])} for {problem}.")
    features = _strings(raw, "features", d.features)
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"Unknown feature {unknown[0]!r}; choose from {', '.join(FEATURES)}.")
    features = [f for f in FEATURES if f in features]  # the page's fixed order
    hidden = raw.get("hidden", d.hidden)
    if (
        not isinstance(hidden, list)
        or len(hidden) > MAX_LAYERS
        or not all(type(h) is int and 1 <= h <= MAX_NEURONS for h in hidden)
    ):
        raise ValueError(
            f"hidden must list up to {MAX_LAYERS} layers of 1 to {MAX_NEURONS} neurons each."
        )
    config = Config(
        dataset=str(dataset),
        noise=_number(raw, "noise", d.noise, 0.0, 0.5),
        train_fraction=_number(raw, "train_fraction", d.train_fraction, 0.1, 0.9),
        seed=_integer(raw, "seed", d.seed, 0, SEED_LIMIT - 1),
        init=_integer(raw, "init", d.init, 0, SEED_LIMIT - 1),
        features=features,
        hidden=list(hidden),
        activation=_choice(raw, "activation", d.activation, ACTIVATIONS),
        optimizer=_choice(raw, "optimizer", d.optimizer, OPTIMIZERS),
        learning_rate=_number(raw, "learning_rate", d.learning_rate, 1e-6, 10.0),
        l1=_number(raw, "l1", d.l1, 0.0, 1.0),
        l2=_number(raw, "l2", d.l2, 0.0, 1.0),
        dropout=_number(raw, "dropout", d.dropout, 0.0, 0.9),
        batch_size=_integer(raw, "batch_size", d.batch_size, 1, 100_000),
        problem=problem,
        target=_string(raw, "target"),
        columns=_strings(raw, "columns", []),
        axes=_strings(raw, "axes", []),
    )
    if config.dataset == UPLOAD:
        if len(config.axes) != 2:
            raise ValueError("Pick two feature columns to draw as the plane's axes.")
        if not all(a in config.columns for a in config.axes):
            raise ValueError("The two axis columns must be among the chosen feature columns.")
    if not config.features and not (config.dataset == UPLOAD and len(config.columns) > 2):
        raise ValueError("Switch on at least one input feature.")
    return config
