"""What the page draws, computed from the network: the surface, every neuron's map, the weights.

One forward pass over a grid of the plane (the network's own layers, dropout off) gives the
output surface and, on the way, what each hidden neuron computes. Maps travel as base64 bytes
(one byte per grid cell), which keeps a frame a few kilobytes and cheap to build: the page
draws them straight into canvases.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from chainrule.network.activations import Activation
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.playground.config import FEATURES, feature_matrix
from chainrule.playground.datasource import Points

GRID = 40
"""Cells per side of the grid the surface and the neuron maps are computed on."""
CURVE_POINTS = 300
"""Most points of each loss curve sent to the page."""


def _bytes(values: np.ndarray) -> str:
    """Values in [0, 1] as base64 of one byte each (0 … 255)."""
    values = np.nan_to_num(values, nan=0.5, posinf=1.0, neginf=0.0)  # a diverged network
    q = np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _signed(values: np.ndarray) -> tuple[str, float]:
    """A map scaled by its largest magnitude into [0, 1] (0.5 is zero), and that scale."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if not np.isfinite(scale) or scale == 0:
        return _bytes(np.full(values.shape, 0.5)), 0.0
    scaled = values / scale
    return _bytes(0.5 + 0.5 * scaled), scale


class Grid:
    """The plane's grid and the network inputs on it (other table columns at their mean, 0).

    Parameters
    ----------
    points : Points
        The session's data (for the drawn range and the number of extra columns).
    features : list of str
        The switched-on features.
    """

    def __init__(self, points: Points, features: list[str]) -> None:
        (x_lo, x_hi), (y_lo, y_hi) = points.domain
        xs = np.linspace(x_lo, x_hi, GRID)
        ys = np.linspace(y_hi, y_lo, GRID)  # row 0 is the top of the picture
        gx, gy = np.meshgrid(xs, ys)
        self.x1, self.x2 = gx.ravel(), gy.ravel()
        extra = np.zeros((self.x1.shape[0], points.extra.shape[1]))
        self.inputs = feature_matrix(self.x1, self.x2, features, extra)


def hidden_outputs(network: Sequential, inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Each hidden layer's activations ``(n, units)`` and the network's output, dropout off."""
    hidden, a = [], inputs
    layers = list(network)
    for i, layer in enumerate(layers):
        a = layer.forward(a, training=False)
        if isinstance(layer, Activation) and i > 0 and isinstance(layers[i - 1], Dense):
            hidden.append(a)
    return hidden, a


def surface(output: np.ndarray, problem: str, n_classes: int, y_range: float) -> dict[str, Any]:
    """The output over the grid: P(class 1), the winning class and its probability, or the value."""
    if problem == "regression":
        return {"kind": "regression", "data": _bytes(0.5 + 0.5 * output[:, 0] / y_range)}
    output = np.nan_to_num(output)
    z = output - output.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    if n_classes == 2:
        return {"kind": "binary", "data": _bytes(p[:, 1])}
    winner = p.argmax(axis=1)
    return {
        "kind": "multi",
        "data": base64.b64encode(winner.astype(np.uint8).tobytes()).decode("ascii"),
        "conf": _bytes((p.max(axis=1) - 1.0 / n_classes) / (1.0 - 1.0 / n_classes)),
    }


def weights(network: Sequential) -> list[dict[str, Any]]:
    """Every Dense layer's ``W`` (in, out) and ``b``, rounded for the drawing."""
    return [
        {
            "W": np.round(layer.params["W"], 4).tolist(),
            "b": np.round(layer.params["b"], 4).tolist() if "b" in layer.params else [],
        }
        for layer in network
        if isinstance(layer, Dense)
    ]


def thin(values: list[float]) -> list[float]:
    """At most :data:`CURVE_POINTS` evenly spaced values of a curve, always keeping the last."""
    if len(values) > CURVE_POINTS:
        idx = np.linspace(0, len(values) - 1, CURVE_POINTS).round().astype(int)
        values = [values[i] for i in idx]
    return [finite(v) for v in values]


def finite(value: float) -> float | None:
    """``value`` rounded for the page, or ``None`` (JSON ``null``) when it is not finite."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def frame(network: Sequential, grid: Grid, points: Points, problem: str) -> dict[str, Any]:
    """The moving parts of one screen update (the caller adds epoch and losses)."""
    hidden, output = hidden_outputs(network, grid.inputs)
    y_range = float(np.max(np.abs(points.y))) if problem == "regression" else 1.0
    neurons = [[_signed(h[:, j])[0] for j in range(h.shape[1])] for h in hidden]
    return {
        "surface": surface(output, problem, len(points.classes), y_range or 1.0),
        "neurons": neurons,
        "weights": weights(network),
    }


def static(points: Points, grid: Grid, features: list[str], problem: str) -> dict[str, Any]:
    """What changes only with the set-up: the points, the inputs' maps, the axes, the classes."""

    def rows(idx: np.ndarray) -> list[list[float]]:
        return np.round(
            np.column_stack([points.x1[idx], points.x2[idx], points.y[idx]]), 5
        ).tolist()

    a, b = points.axis_names
    every = [
        {
            "key": key,
            "label": label.replace("x₁", a).replace("x₂", b),
            "map": _signed(fn(grid.x1, grid.x2))[0],
            "on": key in features,
        }
        for key, (label, _, fn) in FEATURES.items()
    ]
    return {
        "train": rows(points.train),
        "test": rows(points.test),
        "domain": points.domain,
        "grid": GRID,
        "features": every,
        "extra": points.extra_names,
        "axes": points.axis_names,
        "classes": points.classes,
        "problem": problem,
        "y_range": float(np.max(np.abs(points.y))) if problem == "regression" else 1.0,
    }
