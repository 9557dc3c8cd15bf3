"""A progress display for training: a live bar on a terminal, plain lines everywhere else."""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import TYPE_CHECKING, TextIO

from chainrule.training.callbacks import Callback

if TYPE_CHECKING:
    from chainrule.training.trainer import Trainer


def format_duration(seconds: float) -> str:
    """``"1:02:03"``, ``"2:03"`` or ``"4.2s"``."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar(Callback):
    """Show epoch, training loss, validation loss and metrics, and the time left.

    On a terminal the line is redrawn in place with a bar; when the stream is not a terminal
    (a log file, a pipe, CI) one plain line is printed every ``every`` epochs instead, so logs
    stay readable.

    Parameters
    ----------
    epochs : int, optional
        Total epochs of the run, for the bar and the time left (the ``fit`` call's by default).
    stream : file, optional
        Where to write (``sys.stderr`` by default, so standard output stays clean for data).
    every : int
        Epochs between plain lines when not on a terminal.
    width : int
        Characters of the bar.
    """

    def __init__(
        self,
        epochs: int | None = None,
        stream: TextIO | None = None,
        every: int = 1,
        width: int = 24,
    ) -> None:
        self.epochs, self.stream, self.every, self.width = epochs, stream, max(1, every), width
        self._start = 0.0
        self._first = 0
        self._drawn = ""

    @property
    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def _is_tty(self) -> bool:
        isatty = getattr(self._out, "isatty", None)
        return bool(isatty and isatty())

    def on_train_begin(self, trainer: Trainer) -> None:
        self._start = time.perf_counter()
        self._first = trainer.first_epoch
        if self.epochs is None and trainer.last_epoch is not None:
            self._total = trainer.last_epoch - trainer.first_epoch + 1
        else:
            self._total = self.epochs or 0
        self._drawn = ""

    def line(self, epoch: int, logs: dict[str, float]) -> str:
        """The text shown after ``epoch`` (without the bar)."""
        done = epoch - self._first + 1
        elapsed = time.perf_counter() - self._start
        left = elapsed / done * (self._total - done) if self._total else math.nan
        parts = [f"epoch {epoch + 1}" + (f"/{self._first + self._total}" if self._total else "")]
        for key, value in logs.items():
            if key in ("lr",) or key.startswith("grad_norm/"):
                continue
            parts.append(f"{key} {value:.4g}")
        parts.append(f"{format_duration(elapsed)} elapsed")
        if self._total:
            parts.append(f"{format_duration(left)} left")
        return "  ".join(parts)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        text = self.line(epoch, logs)
        if self._is_tty():
            done = epoch - self._first + 1
            fraction = min(1.0, done / self._total) if self._total else 0.0
            filled = round(fraction * self.width)
            bar = "█" * filled + "·" * (self.width - filled)
            self._drawn = f"{bar} {text}"
            self._redraw(self._drawn)
            self._out.flush()
        elif (epoch - self._first) % self.every == 0 or epoch == trainer.last_epoch:
            print(text, file=self._out, flush=True)

    def _redraw(self, line: str) -> None:
        # A line longer than the terminal would wrap and leave a trail of half-redrawn lines.
        # Three columns spare: a full-width line parks the cursor past the edge, and a Ctrl-C
        # echoed by the terminal ("^C") must fit after the line too.
        columns = shutil.get_terminal_size((120, 24)).columns
        self._out.write("\r\x1b[2K" + line[: max(columns - 3, 20)])

    def on_train_end(self, trainer: Trainer) -> None:
        if self._drawn:
            self._out.write("\n")
            self._out.flush()
        if trainer.stop_reason:
            print(f"stopped: {trainer.stop_reason}", file=self._out, flush=True)
