"""Callbacks that leave files behind: :class:`ModelCheckpoint` and :class:`CSVLogger` (Keras').

A checkpoint is the whole :class:`~chainrule.training.trainer.Trainer` — weights, optimizer
state, history, random generators (:mod:`chainrule.training.resume`) — written atomically
(temporary file, fsync, rename: :mod:`chainrule.io.atomic`), so a crash or Ctrl-C mid-write
leaves the previous checkpoint intact. ``chainrule.load(path)`` gives back a trainer whose
``fit`` continues exactly where the checkpoint was taken.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from chainrule.extras import require
from chainrule.io.container import write_state
from chainrule.training.callbacks import Callback
from chainrule.training.resume import trainer_state

if TYPE_CHECKING:
    from chainrule.training.loop import Loop

__all__ = ["CSVLogger", "ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Save the trainer every ``every`` epochs and/or whenever the monitored value improves.

    Parameters
    ----------
    path : str or path
        Destination; may contain ``{epoch}`` (1-based, as people count) to keep one file per
        checkpoint, e.g. ``"run/epoch{epoch:03d}.safetensors"``.
    every : int, optional
        Save after every ``every``-th epoch (epochs ``every``, ``2·every``, … counting from 1).
        With neither ``every`` nor ``save_best`` it saves after every epoch.
    save_best : bool
        Save after each epoch that improves the trainer's monitored value (``val_loss``, else
        ``loss``: :attr:`Trainer.monitor <chainrule.training.trainer.Trainer.monitor>`), so the
        file holds the best weights seen.

    Attributes
    ----------
    saved : list of Path
        The files written, in order.

    Examples
    --------
    >>> ModelCheckpoint("best.safetensors", save_best=True)  # doctest: +SKIP
    >>> trainer = chainrule.load("best.safetensors"); trainer.fit(X, y, epochs=5)  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike[str], *, every: int | None = None, save_best: bool = False
    ) -> None:
        require("safetensors", purpose="Writing checkpoints")
        if every is not None and every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every!r}.")
        self.path = str(path)
        self.every = every if every is not None or save_best else 1
        self.save_best = save_best
        self.saved: list[Path] = []

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        shown = epoch + 1
        periodic = self.every is not None and shown % self.every == 0
        best = self.save_best and trainer.history.best_epoch == epoch
        if periodic or best:
            tensors, meta = trainer_state(trainer)
            target = Path(self.path.format(epoch=shown))
            target.parent.mkdir(parents=True, exist_ok=True)
            self.saved.append(write_state(target, tensors, {**meta, "kind": "Trainer"}))


class CSVLogger(Callback):
    """Append one row per epoch — ``epoch`` (1-based) and every logged value — to a CSV file.

    Parameters
    ----------
    path : str or path
        The CSV file.
    append : bool
        Add to an existing file (a resumed run) instead of starting it afresh; the header is
        written only when the file is new or empty.
    separator : str
        Field separator.

    Notes
    -----
    The columns are fixed by the first epoch written (``loss``, ``val_loss``, metrics, ``lr``);
    a value missing later is left empty. Each row is flushed, so ``tail -f`` follows the run.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, append: bool = False, separator: str = ","
    ) -> None:
        self.path, self.append, self.separator = Path(path), append, separator
        self._file: TextIO | None = None
        self._writer: csv.DictWriter | None = None
        self._header_needed = True

    def on_train_begin(self, trainer: Loop) -> None:
        existing = self.append and self.path.exists() and self.path.stat().st_size > 0
        self._header_needed = not existing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None
        if existing:  # keep the columns the file already has
            with open(self.path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            if header:
                self._writer = self._make_writer(header)
        self.append = True  # a later fit of the same run continues the file

    def _make_writer(self, fields: list[str]) -> csv.DictWriter:
        assert self._file is not None
        return csv.DictWriter(
            self._file, fieldnames=fields, delimiter=self.separator, extrasaction="ignore"
        )

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        if self._file is None:
            return
        if self._writer is None:
            self._writer = self._make_writer(["epoch", *logs])
        if self._header_needed:
            self._writer.writeheader()
            self._header_needed = False
        self._writer.writerow({"epoch": epoch + 1, **{k: repr(float(v)) for k, v in logs.items()}})
        self._file.flush()

    def on_train_end(self, trainer: Loop) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
