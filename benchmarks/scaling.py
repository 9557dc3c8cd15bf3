"""Epoch time against the number of samples at small width: it should grow linearly.

chainrule trains a 20-32-1 ReLU regression network (batch 128, SGD, shuffled index batches) for
one epoch on 1e4, 1e5 and 1e6 float32 rows. The slope of log(time) against log(rows), fitted by
least squares, is 1 for linear growth; per-epoch costs that do not depend on the rows (or copies
of the whole set) would push it away from 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .timing import Row, Setup, interleaved

SIZES = (10_000, 100_000, 1_000_000)
SLOPE_RANGE = (0.9, 1.1)


def _trainer(X: np.ndarray, y: np.ndarray) -> Setup:
    import chainrule as cr

    def setup() -> Any:
        net = cr.Sequential(
            [
                cr.Dense(20, 32, rng=0, dtype="float32"),
                cr.ReLU(),
                cr.Dense(32, 1, rng=1, dtype="float32"),
            ]
        )
        trainer = cr.Trainer(net, cr.MSE(), cr.sgd(0.01))
        return lambda: trainer.fit(X, y, epochs=1, batch_size=128, rng=2)

    return setup


def run(quick: bool = False) -> list[Row]:
    """Rows with the epoch time per size and the fitted log-log slope."""
    sizes = tuple(s // 100 for s in SIZES) if quick else SIZES
    gen = np.random.default_rng(0)
    X = gen.standard_normal((sizes[-1], 20), dtype=np.float32)
    y = X[:, :1] * np.float32(0.5) + X[:, 1:2]
    contenders = {f"{n:,} rows": _trainer(X[:n], y[:n]) for n in sizes}
    # Seven repetitions: the 1e4 case lasts a few ms, where one scheduling hiccup would decide.
    medians = interleaved(contenders, 1 if quick else 7)
    seconds = [medians[f"{n:,} rows"] for n in sizes]
    slope = float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])
    rows = [
        Row("scaling", f"{n:,} rows", s, note=f"{s / n * 1e6:.2f} µs per row")
        for n, s in zip(sizes, seconds, strict=True)
    ]
    low, high = SLOPE_RANGE
    verdict = "met" if low <= slope <= high else "MISSED"
    rows.append(
        Row("scaling", "log-log slope", None, note=f"{slope:.3f} (target {low}–{high}): {verdict}")
    )
    return rows
