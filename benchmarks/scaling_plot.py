"""``python -m benchmarks.scaling_plot [OUT.png]``: time per epoch against rows and width, with the floor.

Left: a 784 → 64 → 10 ReLU network (float32, batch 128, SGD) for one epoch on 10⁴, 10⁵ and
10⁶ rows. Right: 10⁴ rows through 784 → w → 10 for w from 64 to 4096. The *floor* drawn under
each curve is the epoch's matrix products alone, batch by batch (forward ``x·W₁``, ``h·W₂``;
backward ``hᵀ·δ₂``, ``δ₂·W₂ᵀ``, ``xᵀ·δ₁``), the cost no implementation of this network avoids.
chainrule and its floor are timed interleaved (:func:`timing.interleaved`); medians of 3.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .timing import Setup, interleaved

FEATURES, CLASSES, BATCH = 784, 10, 128
ROWS = (10_000, 100_000, 1_000_000)
WIDTHS = (64, 256, 1024, 4096)


def _epoch(X: np.ndarray, y: np.ndarray, width: int) -> Setup:
    import chainrule as cr

    def setup() -> Any:
        net = cr.Sequential(
            [
                cr.Dense(FEATURES, width, rng=0, dtype="float32"),
                cr.ReLU(),
                cr.Dense(width, CLASSES, rng=1, dtype="float32"),
            ]
        )
        trainer = cr.Trainer(net, "cross_entropy", cr.sgd(0.01))
        return lambda: trainer.fit(X, y, epochs=1, batch_size=BATCH, rng=2)

    return setup


def _floor(X: np.ndarray, width: int) -> Setup:
    def setup() -> Any:
        gen = np.random.default_rng(0)
        W1 = gen.standard_normal((FEATURES, width), dtype=np.float32)
        W2 = gen.standard_normal((width, CLASSES), dtype=np.float32)
        d2 = np.ones((BATCH, CLASSES), np.float32)

        def run() -> None:
            for start in range(0, X.shape[0] - BATCH + 1, BATCH):
                x = X[start : start + BATCH]
                h = x @ W1
                h @ W2
                h.T @ d2
                d1 = d2 @ W2.T
                x.T @ d1

        return run

    return setup


def measure(rows: tuple[int, ...], widths: tuple[int, ...], repeats: int) -> dict[str, Any]:
    gen = np.random.default_rng(0)
    X = gen.standard_normal((max(rows), FEATURES), dtype=np.float32)
    y = gen.integers(0, CLASSES, max(rows))
    by_rows = []
    for n in rows:
        m = interleaved({"c": _epoch(X[:n], y[:n], 64), "f": _floor(X[:n], 64)}, repeats)
        by_rows.append((n, m["c"], m["f"]))
        print(f"rows {n:>9,}: chainrule {m['c']:.3f} s, floor {m['f']:.3f} s", flush=True)
    by_width = []
    n = rows[0]
    for w in widths:
        m = interleaved({"c": _epoch(X[:n], y[:n], w), "f": _floor(X[:n], w)}, repeats)
        by_width.append((w, m["c"], m["f"]))
        print(f"width {w:>5}: chainrule {m['c']:.3f} s, floor {m['f']:.3f} s", flush=True)
    return {"rows": by_rows, "width": by_width}


def plot(results: dict[str, Any], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in zip(
        axes, ("rows", "width"), ("rows (784 → 64 → 10)", "hidden width (10⁴ rows)"), strict=True
    ):
        x, c, f = (np.array(v) for v in zip(*results[key], strict=True))
        ax.loglog(x, c, "o-", label="chainrule Trainer")
        ax.loglog(x, f, "s--", label="floor: its matrix products alone")
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Time per epoch, float32, ReLU, batch 128, SGD (NumPy CPU)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    out = next((a for a in argv if a.endswith(".png")), "docs/scaling.png")
    rows, widths = ((2_000, 4_000), (64, 128)) if quick else (ROWS, WIDTHS)
    plot(measure(rows, widths, 1 if quick else 3), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
