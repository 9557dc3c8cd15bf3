"""The lecture's network (GRA 4160, lecture 9), reproduced by chainrule line for line.

The lecture seeds NumPy's global generator with 42, draws 500 points from a standard normal,
labels them ``x0 + x1 > 0``, and trains a 2-4-1 sigmoid network by full-batch gradient descent
(learning rate 0.1, 1000 epochs) on the summed gradient ``y_pred - y_true``. chainrule draws
from a ``RandomState(42)`` instead of the global one — the same stream, without global state —
and expresses the update as ``MSE(reduction="sum")`` at learning rate 0.05, which is the
lecture's arithmetic bit for bit (see :mod:`chainrule.losses`).
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from typing import TextIO

import numpy as np

TEST_POINTS = np.array([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]])
"""The lecture's four test points."""


def lecture_in_chainrule():
    import numpy as np

    import chainrule as cr

    rng = np.random.RandomState(42)  # the lecture's np.random.seed(42), without global state
    X = rng.randn(500, 2)
    y = (X[:, 0] + X[:, 1]) > 0
    print(X[0:5])
    print(y[0:5])

    net = cr.Sequential([
        cr.Dense(2, 4, weight_init="normal", rng=rng), cr.Sigmoid(),  # h = σ(x·W1 + b1)
        cr.Dense(4, 1, weight_init="normal", rng=rng), cr.Sigmoid(),  # ŷ = σ(h·W2 + b2)
    ])  # fmt: skip
    # The lecture's step W -= 0.1 * Σ (ŷ − y)·… is the summed squared error at half the rate.
    trainer = cr.Trainer(net, cr.MSE(reduction="sum"), cr.sgd(0.05), metrics=["mse"])
    trainer.fit(X, y, epochs=1000, callbacks=[cr.PrintEvery(100, "Epoch {epoch}, Loss: {mse:.4f}")])

    test_points = np.array([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]])
    print("Test predictions:", (net.predict(test_points) > 0.5).astype(int).reshape(-1))
    return net, trainer


def snippet() -> str:
    """The body of :func:`lecture_in_chainrule`: the code that printed the demo's lines."""
    source = inspect.getsource(lecture_in_chainrule)
    body = source.split("\n", 1)[1]
    body = body.rsplit("    return", 1)[0].replace("  # fmt: skip", "")  # a formatter's note
    return textwrap.dedent(body).strip() + "\n"


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
