"""The two worked examples ``chainrule explain`` brings: the lecture's network and Mazur's."""

from __future__ import annotations

import numpy as np

from chainrule.lecture import SEED, lecture_data, lecture_network
from chainrule.network.activations import Sigmoid
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense


def lecture_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """The lecture's 2-4-1 sigmoid network at its initial weights, with its data.

    Built by :mod:`chainrule.lecture` (the one definition): a ``RandomState(42)`` draws
    ``data = randn(500, 2)``, labels ``data[:, 0] + data[:, 1] > 0``, then ``W1 = randn(2, 4)``
    and ``W2 = randn(4, 1)`` with zero biases. Explain it with the lecture's loss and rate,
    :func:`chainrule.lecture.lecture_loss` at :data:`chainrule.lecture.LEARNING_RATE` (the
    defaults of :func:`~chainrule.explain.explain_step`).

    Returns
    -------
    network : Sequential
        ``Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()`` at the lecture's initial weights.
    X : ndarray, shape (500, 2)
        The lecture's data.
    y : ndarray, shape (500, 1)
        Its labels as floats, as the lecture's ``labels.reshape(-1, 1)``.
    """
    rng = np.random.RandomState(SEED)
    X, labels = lecture_data(rng)
    network = lecture_network(rng)
    return network, X, labels.astype(np.float64).reshape(-1, 1)


MAZUR_URL = "https://mattmazur.com/2015/03/17/a-step-by-step-backpropagation-example/"
"""Matt Mazur, "A Step by Step Backpropagation Example" (2015)."""


def mazur_example() -> tuple[Sequential, np.ndarray, np.ndarray]:
    """Matt Mazur's 2-2-2 sigmoid network, with his input and target.

    Weights ``w1 … w8 = .15 .20 .25 .30 .40 .45 .50 .55`` with
    :math:`net_{h1} = w_1 i_1 + w_2 i_2 + b_1` (and ``w3, w4`` for ``h2``, ``w5, w6`` for
    ``o1``, ``w7, w8`` for ``o2``), so in chainrule's ``W`` shaped ``(in, out)`` the weights
    into one neuron form a column: ``W1 = [[w1, w3], [w2, w4]]``, ``W2 = [[w5, w7], [w6, w8]]``.
    Biases ``b1 = .35`` and ``b2 = .60`` are shared by a layer's neurons and not updated
    (frozen). Train it with :class:`~chainrule.network.losses.HalfSumSquaredError` at learning
    rate 0.5 (his :math:`E = \\sum \\tfrac12 (t - o)^2`), or ``MSE(reduction="sum")`` at 0.25.

    Returns
    -------
    network : Sequential
        ``Dense(2, 2), Sigmoid(), Dense(2, 2), Sigmoid()`` with biases frozen.
    x : ndarray, shape (1, 2)
        ``[[0.05, 0.10]]``.
    y : ndarray, shape (1, 2)
        ``[[0.01, 0.99]]``.
    """
    network = Sequential([Dense(2, 2), Sigmoid(), Dense(2, 2), Sigmoid()])
    network.set_params(
        {
            "dense1.W": np.array([[0.15, 0.25], [0.20, 0.30]]),
            "dense1.b": np.array([0.35, 0.35]),
            "dense2.W": np.array([[0.40, 0.50], [0.45, 0.55]]),
            "dense2.b": np.array([0.60, 0.60]),
        }
    )
    network.freeze("dense1.b", "dense2.b")
    return network, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
