"""The lecture's network (GRA 4160, lecture 9), defined once and reproduced line for line.

The lecture seeds NumPy's global generator with 42, draws 500 points from a standard normal,
labels them ``x0 + x1 > 0``, and trains a 2-4-1 sigmoid network by full-batch gradient descent
(learning rate 0.1, 1000 epochs) on the summed gradient ``y_pred - y_true``. Everything that
names the lecture — ``chainrule demo``, :func:`chainrule.explain.lecture_example` and the
tests — takes it from here:

:data:`SEED`, :data:`N_POINTS`, :func:`lecture_data`
    a ``RandomState(42)`` instead of the global generator: the same stream, without global
    state; ``X`` ``(500, 2)`` and the boolean labels ``x0 + x1 > 0`` ``(500,)``;
:func:`lecture_network`
    ``Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()`` drawn from the same stream after the
    data (``W1 = randn(2, 4)`` then ``W2 = randn(4, 1)``, zero biases);
:func:`lecture_loss`, :data:`LEARNING_RATE`
    :class:`~chainrule.network.losses.HalfSumSquaredError` at 0.1: its gradient
    :math:`\\partial L/\\partial \\hat y = \\hat y - y` is the lecture's ``mse_derivative`` and
    0.1 its rate, so the update is the lecture's arithmetic bit for bit. The equivalent is
    ``MSE(reduction="sum")`` at 0.05: twice the gradient at half the rate, the same bits,
    since scaling by 2 is exact in floating point;
:data:`TEST_POINTS`
    the lecture's four test points.

:func:`snippet` returns the code of this module that ``chainrule demo`` runs, so what the demo
shows is what printed its lines.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from typing import TextIO

import numpy as np

from chainrule.network.activations import Sigmoid
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.network.losses import HalfSumSquaredError
from chainrule.network.optimizers import sgd
from chainrule.training.callbacks import PrintEvery
from chainrule.training.trainer import Trainer

# -- the lecture, in chainrule (shown by the demo from here to the end marker) -----------------
SEED = 42  # the lecture's np.random.seed(42), as a RandomState without global state
N_POINTS = 500
EPOCHS = 1000
LEARNING_RATE = 0.1  # the lecture's; equivalently MSE(reduction="sum") at 0.05
TEST_POINTS = np.array([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]])


def lecture_data(rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """``X`` ``(500, 2)`` from a standard normal and its labels ``x0 + x1 > 0`` ``(500,)``."""
    X = rng.randn(N_POINTS, 2)
    y = (X[:, 0] + X[:, 1]) > 0
    return X, y


def lecture_network(rng: np.random.RandomState) -> Sequential:
    """The 2-4-1 sigmoid network, its weights drawn from ``rng`` after the data."""
    return Sequential([
        Dense(2, 4, weight_init="normal", rng=rng), Sigmoid(),  # h = σ(x·W1 + b1)
        Dense(4, 1, weight_init="normal", rng=rng), Sigmoid(),  # ŷ = σ(h·W2 + b2)
    ])  # fmt: skip


def lecture_loss() -> HalfSumSquaredError:
    """½ Σ (ŷ − y)², whose gradient ŷ − y is the lecture's mse_derivative."""
    return HalfSumSquaredError()


def lecture_in_chainrule() -> tuple[Sequential, Trainer]:
    """Train the lecture's network and print the lecture's lines."""
    rng = np.random.RandomState(SEED)
    X, y = lecture_data(rng)
    print(X[0:5])
    print(y[0:5])
    net = lecture_network(rng)
    trainer = Trainer(net, lecture_loss(), sgd(LEARNING_RATE), metrics=["mse"])
    trainer.fit(
        X,
        y,
        epochs=EPOCHS,
        callbacks=[PrintEvery(100, "Epoch {epoch}, Loss: {mse:.4f}")],
        verbose=0,
    )
    print("Test predictions:", (net.predict(TEST_POINTS) > 0.5).astype(int).reshape(-1))
    return net, trainer


# -- end of the code the demo shows ------------------------------------------------------------
_BEGIN = "# -- the lecture, in chainrule"
_END = "# -- end of the code the demo shows"


def snippet() -> str:
    """The code that printed the demo's lines: this module's imports and its lecture section.

    It runs on its own (``exec``) and ends by calling :func:`lecture_in_chainrule`.
    """
    source = inspect.getsource(sys.modules[__name__])
    _, rest = source.split("\nimport numpy as np\n", 1)
    imports = "import numpy as np\n" + rest.split("\n\n", 1)[0] + "\n"
    section = source.split(_BEGIN, 1)[1].split("\n", 1)[1].split(_END, 1)[0]
    section = section.replace("  # fmt: skip", "")  # a formatter's note
    call = "net, trainer = lecture_in_chainrule()\n"
    return textwrap.dedent(imports + "\n" + section.strip() + "\n\n\n" + call)


def run_demo(stream: TextIO | None = None) -> None:
    """Train the lecture's network with chainrule, print the lecture's lines, then the code."""
    out = stream or sys.stdout
    previous, sys.stdout = sys.stdout, out
    try:
        lecture_in_chainrule()
    finally:
        sys.stdout = previous
    rule = "-" * 72
    print(
        f"\n{rule}\nThe lines above are the lecture's output, computed by this chainrule code:",
        file=out,
    )
    print(rule, file=out)
    print(snippet(), end="", file=out)
    print(rule, file=out)
