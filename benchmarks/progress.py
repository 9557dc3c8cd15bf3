"""``python -m benchmarks.progress``: the cost of one progress update, and the line's width.

Compares, per batch update with four logged values, the hand-written bar chainrule had
(one ``\\r`` redraw of the whole line per update) with :class:`chainrule.ProgressBar` on
tqdm (a counter increment; tqdm redraws at most ten times a second), each writing to an
in-memory "terminal" of 80 and 120 columns. A real terminal makes every redraw dearer (a
write system call and the terminal's own drawing), so the in-memory figures favour the
hand-written bar. Prints microseconds per update, redraws, and the widest line drawn.
"""

from __future__ import annotations

import io
import os
import re
import time
from types import SimpleNamespace

from chainrule.training.progress import ProgressBar

UPDATES = 20_000
LOGS = {"loss": 0.123456, "accuracy": 0.91, "val_loss": 0.2, "val_accuracy": 0.88}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _hand_written(columns: int) -> tuple[float, list[str]]:
    """The former bar: redraw bar + text on every update, cut at the terminal's width − 3."""
    out, start = _Terminal(), time.perf_counter()
    t0 = time.perf_counter()
    for i in range(UPDATES):
        filled = round((i + 1) / UPDATES * 24)
        text = f"epoch {i + 1}/{UPDATES}  " + "  ".join(f"{k} {v:.4g}" for k, v in LOGS.items())
        elapsed = time.perf_counter() - start
        text += f"  {elapsed:.1f}s elapsed  {elapsed / (i + 1) * (UPDATES - i - 1):.1f}s left"
        out.write("\r\x1b[2K" + ("█" * filled + "·" * (24 - filled) + " " + text)[: columns - 3])
    per_update = (time.perf_counter() - t0) / UPDATES
    return per_update, [f for f in out.getvalue().split("\r\x1b[2K") if f]


def _tqdm_bar(columns: int) -> tuple[float, list[str]]:
    out = _Terminal()
    trainer = SimpleNamespace(
        first_epoch=0, last_epoch=0, steps_per_epoch=UPDATES, stop_reason=None
    )
    bar = ProgressBar(stream=out)
    bar.on_train_begin(trainer)  # type: ignore[arg-type]
    batch = {"loss": 0.123456, "size": 32}
    t0 = time.perf_counter()
    for i in range(UPDATES):
        bar.on_batch_end(trainer, i, batch)  # type: ignore[arg-type]
    per_update = (time.perf_counter() - t0) / UPDATES
    bar.on_epoch_end(trainer, 0, LOGS)  # type: ignore[arg-type]
    bar.on_train_end(trainer)  # type: ignore[arg-type]
    return per_update, [f for f in re.split(r"[\r\n]", out.getvalue()) if f.strip()]


def main() -> None:
    for columns in (80, 120):
        os.environ["COLUMNS"] = str(columns)
        for name, run in (("hand-written", _hand_written), ("tqdm ProgressBar", _tqdm_bar)):
            per_update, frames = run(columns)
            print(
                f"{columns:>3} columns  {name:<17} {per_update * 1e6:6.2f} µs/update  "
                f"{len(frames):>6} redraws  widest line {max(len(f) for f in frames)}"
            )
            print(f"    {frames[-1]}")


if __name__ == "__main__":
    main()
