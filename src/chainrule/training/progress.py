"""Progress for training: a tqdm bar updated every batch on a terminal (a widget in Jupyter),
plain lines everywhere else.

Why tqdm and not a hand-written bar (measured by ``python -m benchmarks.progress``; docs/design.md,
"Choices of libraries"): tqdm redraws at most ten times a second however many batches arrive, so an
update costs a counter increment (≈0.3 µs) where a bar redrawn on every update costs ≈8 µs
and a terminal write; it sizes the line to the terminal as it is resized, and
``tqdm.auto`` draws a notebook widget in Jupyter. The line puts what matters first, so a
narrow terminal cuts the least useful part (the last metrics), never the rate or the ETA::

    epoch 3/10 |██████▏   | 186/300 00:01<00:00 152.3batch/s, loss=0.2412 val_loss=0.2801

``verbose`` (Keras' meaning, :meth:`Trainer.fit <chainrule.training.trainer.Trainer.fit>`):
0 silent, 1 this bar (plain lines when the stream is not a terminal), 2 one line per epoch;
``"auto"`` is 1 on a terminal and 0 otherwise.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from chainrule.training.callbacks import Callback

if TYPE_CHECKING:
    from chainrule.training.callbacks import Loop

__all__ = ["ProgressBar", "format_duration", "verbose_callbacks"]

BAR_FORMAT = "{desc} |{bar}| {n_fmt}/{total_fmt} {elapsed}<{remaining} {rate_fmt}{postfix}"
"""Epoch, bar, batches, time and rate first: a narrow terminal trims the metrics at the end."""

MIN_BAR = 10
"""Columns the bar itself keeps; metrics that do not fit beside it are left off the line."""

POSTFIX_EVERY_S = 0.1
"""Seconds between updates of the running loss shown on the bar (tqdm's own redraw rate)."""


def format_duration(seconds: float) -> str:
    """``"1:02:03"``, ``"2:03"`` or ``"4.2s"``."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 10:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _columns() -> int:
    """The terminal's width less one: a line as wide as the terminal parks the cursor past
    its edge (and wraps on some terminals). ``COLUMNS`` first, as ``shutil`` reads it."""
    return max(shutil.get_terminal_size((80, 24)).columns - 1, 20)


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _shown(logs: dict[str, float]) -> Iterable[tuple[str, float]]:
    return ((k, v) for k, v in logs.items() if k != "lr" and not k.startswith("grad_norm/"))


class ProgressBar(Callback):
    """Show the epoch, a per-batch bar with rate and time left, and the losses and metrics.

    On a terminal (or in Jupyter) a tqdm bar runs over all the batches of the ``fit`` call,
    updated after every batch and never wider than the terminal; when the stream is not a
    terminal (a log file, a pipe, CI) — or with ``per_epoch=True`` — one plain line is
    printed every ``every`` epochs instead, so logs stay readable.

    Parameters
    ----------
    epochs : int, optional
        Total epochs of the run, for the bar and the time left (the ``fit`` call's by default).
    stream : file, optional
        Where to write (``sys.stderr`` by default, so standard output stays clean for data).
    every : int
        Epochs between plain lines.
    per_epoch : bool
        Plain lines even on a terminal (Keras' ``verbose=2``).
    """

    def __init__(
        self,
        epochs: int | None = None,
        stream: TextIO | None = None,
        every: int = 1,
        per_epoch: bool = False,
    ) -> None:
        self.epochs, self.stream, self.every = epochs, stream, max(1, every)
        self.per_epoch = per_epoch
        self._bar: Any = None
        self._start = 0.0
        self._first = 0
        self._total = 0
        self._running = (0.0, 0)
        self._postfix_at = 0.0
        self._epoch_logs: dict[str, float] = {}

    @property
    def _out(self) -> TextIO:
        return self.stream or sys.stderr

    def on_train_begin(self, trainer: Loop) -> None:
        self._start = time.perf_counter()
        self._first = trainer.first_epoch
        if self.epochs is None and trainer.last_epoch is not None:
            self._total = trainer.last_epoch - trainer.first_epoch + 1
        else:
            self._total = self.epochs or 0
        self._bar, self._epoch_logs = None, {}
        if self.per_epoch or not _is_tty(self._out):
            return
        from tqdm.auto import tqdm  # a base dependency; imported here to keep `import` light

        steps = getattr(trainer, "steps_per_epoch", None)
        self._bar = tqdm(
            total=steps * self._total if steps and self._total else None,
            file=self._out,
            ncols=_columns(),
            bar_format=BAR_FORMAT,
            unit="batch",
            leave=True,
            desc=self._desc(self._first),
        )

    def _desc(self, epoch: int) -> str:
        return f"epoch {epoch + 1}" + (f"/{self._first + self._total}" if self._total else "")

    def on_epoch_begin(self, trainer: Loop, epoch: int) -> None:
        if self._bar is not None:
            self._bar.ncols = _columns()  # follow a terminal resized during training
            self._bar.set_description_str(self._desc(epoch), refresh=False)
            self._running = (0.0, 0)

    def on_batch_end(self, trainer: Loop, batch: int, logs: dict[str, float]) -> None:
        if self._bar is None:
            return
        total, seen = self._running
        size = logs.get("size", 1)
        self._running = (total + logs["loss"] * size, seen + size)
        now = time.perf_counter()
        if now - self._postfix_at >= POSTFIX_EVERY_S:  # formatting text every batch costs 6 µs
            self._postfix_at = now
            running = {"loss": self._running[0] / max(self._running[1], 1), **self._epoch_logs}
            self._bar.set_postfix_str(self._postfix(running), refresh=False)
        self._bar.update(1)

    def _postfix(self, values: dict[str, float]) -> str:
        """``loss=… val_loss=… <metrics>``, as many as leave the bar ``MIN_BAR`` columns."""
        bar = self._bar
        total = len(str(bar.total or bar.n))
        # desc, " |", "| n/total ", "00:00<00:00 ", "12345.67batch/s", ", " (tqdm's)
        fixed = len(bar.desc) + 2 + 2 * total + 3 + 12 + 15 + 2
        room = (bar.ncols or 80) - fixed
        order = sorted(values, key=lambda k: (k not in ("loss", "val_loss"), k.startswith("val_")))
        parts: list[str] = []
        for key in order:
            part = f"{key}={values[key]:.4g}"
            # the losses may narrow the bar to 2 columns; other metrics must leave it MIN_BAR
            budget = room - (2 if key in ("loss", "val_loss") else MIN_BAR)
            if len(" ".join([*parts, part])) > budget:
                break
            parts.append(part)
        return " ".join(parts)

    def line(self, epoch: int, logs: dict[str, float]) -> str:
        """The plain line printed after ``epoch``."""
        done = epoch - self._first + 1
        elapsed = time.perf_counter() - self._start
        left = elapsed / done * (self._total - done) if self._total else math.nan
        parts = [self._desc(epoch)]
        parts += [f"{key} {value:.4g}" for key, value in _shown(logs)]
        parts.append(f"{format_duration(elapsed)} elapsed")
        if self._total:
            parts.append(f"{format_duration(left)} left")
        return "  ".join(parts)

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        if self._bar is not None:
            # the epoch's validation values stay on the bar during the next epoch
            self._epoch_logs = {k: v for k, v in _shown(logs) if k.startswith("val_")}
            self._bar.set_postfix_str(self._postfix(dict(_shown(logs))), refresh=False)
            if self._bar.total is None and epoch == self._first:  # streamed: total known now
                self._bar.total = self._bar.n * self._total if self._total else None
            self._bar.refresh()
        elif (epoch - self._first) % self.every == 0 or epoch == trainer.last_epoch:
            print(self.line(epoch, logs), file=self._out, flush=True)

    def on_train_end(self, trainer: Loop) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if trainer.stop_reason:
            print(f"stopped: {trainer.stop_reason}", file=self._out, flush=True)


def verbose_callbacks(
    verbose: int | str, callbacks: list[Callback], stream: TextIO | None = None
) -> list[Callback]:
    """The progress callback Keras' ``verbose`` asks for, unless ``callbacks`` has one already.

    Parameters
    ----------
    verbose : {"auto", 0, 1, 2}
        ``"auto"``: 1 when ``stream`` (standard error) is a terminal, else 0; 0: nothing;
        1: :class:`ProgressBar`; 2: one line per epoch.
    """
    if verbose not in ("auto", 0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}.")
    if verbose == "auto":
        verbose = 1 if _is_tty(stream or sys.stderr) else 0
    if verbose == 0 or any(isinstance(cb, ProgressBar) for cb in callbacks):
        return []
    return [ProgressBar(stream=stream, per_epoch=verbose == 2)]
