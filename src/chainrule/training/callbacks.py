"""Callbacks: code the training loop runs at fixed points, to print, stop early or steer the rate.

Hooks (override any): ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_gradients(trainer, grads)`` (after backward, before the update, so gradients are intact),
``on_batch_end(trainer, batch, logs)``, ``on_epoch_end(trainer, epoch, logs)`` and
``on_train_end(trainer)``. ``logs`` holds ``loss``, ``val_loss`` (with validation data), every
metric (``val_<metric>`` too) and ``lr``. A callback stops training by setting
``trainer.stop_reason``.

:class:`Loop` is the training run as callbacks, solvers, progress displays and checkpoints
see it; :class:`~chainrule.training.trainer.Trainer` is its one implementation. They are
written against this protocol instead of the class, so the imports run one way: the trainer
imports them, never the reverse.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from chainrule.backend import Array, namespace
from chainrule.network import optimizers

if TYPE_CHECKING:
    from chainrule.network.containers import Sequential
    from chainrule.network.losses import Loss
    from chainrule.training.history import History


class Loop(Protocol):
    """A training run in progress (a :class:`~chainrule.training.trainer.Trainer`).

    Attributes
    ----------
    network, loss : Sequential, Loss
        What is trained, on what objective.
    optimizer, solver, opt_state : object
        The update rule, the solver that runs the epochs, and the rule's state.
    history, monitor, best_params : History, Monitor, dict or None
        The record of epochs, what "best" means, and the best weights so far.
    stop_reason : str or None
        Set by a callback or a solver to end the run (see :class:`History`).
    first_epoch, last_epoch, steps_per_epoch : int or None
        The epochs of this ``fit`` call and its batches per epoch (``None`` when unknown).
    metrics, callbacks, device, rng : object
        Metric functions, the trainer's own callbacks, the device and the shuffle generator.
    loss_reference : float or None
        The loss at the start of training, the divergence test's reference (``None`` until a
        solver or the first epoch sets it).
    """

    network: Sequential
    loss: Loss
    optimizer: Any
    solver: Any
    opt_state: Any
    history: History
    monitor: Any  # a chainrule.training.callbacks.Monitor
    best_params: dict[str, Array] | None
    stop_reason: str | None
    first_epoch: int
    last_epoch: int | None
    steps_per_epoch: int | None
    metrics: list[Any]
    callbacks: list[Any]  # chainrule.training.callbacks.Callback
    device: Any
    rng: Any
    loss_reference: float | None

    def snapshot(self, into: dict[str, Array] | None = None) -> dict[str, Array]: ...

    def restore(self, saved: dict[str, Array]) -> None: ...

    def rewind(self) -> None: ...

    def prepare(self, X: Array, y: Array | None = None) -> tuple[Array, Array | None]: ...

    def predict(self, X: Array, batch_size: int | None = 8192) -> Array: ...

    def evaluate(self, X: Array, y: Array, *args: Any, **kwargs: Any) -> dict[str, float]: ...

    def end_epoch(self, epoch: int, logs: dict[str, float], job: Any) -> None: ...

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> History: ...


class Callback:
    """Base class with every hook doing nothing."""

    def on_train_begin(self, trainer: Loop) -> None:
        """Called once before the first epoch of a ``fit`` call."""

    def on_epoch_begin(self, trainer: Loop, epoch: int) -> None:
        """Called at the start of each epoch."""

    def on_gradients(self, trainer: Loop, grads: dict[str, Array]) -> None:
        """Called after every backward pass, before the optimizer touches ``grads``."""

    def on_batch_end(self, trainer: Loop, batch: int, logs: dict[str, float]) -> None:
        """Called after every update with ``logs = {"loss": batch loss, "size": rows}``."""

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with the epoch's losses and metrics."""

    def on_train_end(self, trainer: Loop) -> None:
        """Called once when ``fit`` ends, however it ends."""


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` implements ``hook`` (so the loop only calls hooks that do work)."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class PrintEvery(Callback):
    """Print a line every ``every`` epochs, formatted from the epoch's logs.

    Parameters
    ----------
    every : int
        Print when ``epoch % every == 0`` (and after the last epoch if ``last`` is true).
    fmt : str
        A format string over ``epoch`` and the logs, e.g. the lecture's
        ``"Epoch {epoch}, Loss: {mse:.4f}"``.
    stream : file, optional
        Where to print (``sys.stdout`` at print time by default).
    """

    def __init__(
        self,
        every: int = 1,
        fmt: str = "Epoch {epoch}, Loss: {loss:.4f}",
        stream: TextIO | None = None,
        last: bool = False,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1.")
        self.every, self.fmt, self.stream, self.last = every, fmt, stream, last
        self._epochs_total: int | None = None

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        final = self.last and epoch == trainer.last_epoch
        if epoch % self.every == 0 or final:
            print(self.fmt.format(epoch=epoch, **logs), file=self.stream or sys.stdout)


class Monitor:
    """Tracks the best value of a logged quantity (lower is better unless ``mode="max"``).

    Parameters
    ----------
    monitor : str
        A key of the epoch's logs; a missing ``"val_<name>"`` falls back to ``"<name>"``.
    mode : {"min", "max"}
        Whether lower or higher is better.
    min_delta : float
        Smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def measure(self, trainer: Loop, logs: dict[str, float]) -> float:
        """The epoch's monitored value, read from ``logs`` (NaN when they do not hold it).

        Without validation data a ``"val_<name>"`` monitor reads the training ``"<name>"``.
        A subclass may compute the value instead (e.g. a score on held-out data) and add it
        to ``logs``; the Trainer calls this before recording the epoch and running the
        callbacks.
        """
        key = self.monitor
        if key not in logs and key.startswith("val_"):
            key = key[4:]
        return logs.get(key, math.nan)

    def improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights.

    Parameters
    ----------
    monitor : str
        A logged quantity; ``"val_loss"`` falls back to ``"loss"`` without validation data.
    patience : int
        Epochs without improvement to tolerate.
    min_delta : float
        Smallest change that counts as an improvement.
    mode : {"min", "max"}
        Whether lower or higher is better.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "min",
        restore_best_weights: bool = True,
    ) -> None:
        self._watch = Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = int(patience), restore_best_weights
        self.wait = 0
        self.best_epoch: int | None = None
        self._best_params: dict[str, Array] | None = None

    @property
    def best(self) -> float:
        """Best monitored value so far."""
        return self._watch.best

    def on_train_begin(self, trainer: Loop) -> None:
        self.wait = 0
        self._watch.best = math.inf if self._watch.mode == "min" else -math.inf
        self._best_params = None

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        value = self._watch.measure(trainer, logs)
        if self._watch.improved(value):
            self._watch.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_params = trainer.snapshot(self._best_params)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_reason = "early_stopping"

    def on_train_end(self, trainer: Loop) -> None:
        if self.restore_best_weights and self._best_params is not None:
            trainer.restore(self._best_params)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Parameters
    ----------
    monitor, mode, min_delta
        As in :class:`EarlyStopping`.
    factor : float
        Multiplier in (0, 1).
    patience : int
        Epochs without improvement before reducing.
    cooldown : int
        Epochs to wait after a reduction before counting again.
    min_lr : float
        Never go below this rate.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        mode: str = "min",
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        if not 0 < factor < 1:
            raise ValueError("factor must be between 0 and 1.")
        self._watch = Monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown, self.min_lr = factor, patience, cooldown, min_lr
        self.wait = self._cooling = 0

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        value = self._watch.measure(trainer, logs)
        if self._cooling > 0:
            self._cooling -= 1
        if self._watch.improved(value):
            self._watch.best, self.wait = value, 0
            return
        if self._cooling > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            lr = optimizers.current_learning_rate(trainer.opt_state)
            if lr is not None and lr > self.min_lr:
                factor = max(self.factor, self.min_lr / lr)
                trainer.opt_state = optimizers.scale_learning_rate(trainer.opt_state, factor)
            self.wait, self._cooling = 0, self.cooldown


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch to ``schedule(epoch)``.

    Meant for optimizers built with a constant rate: it rescales that rate. For per-update
    schedules pass a schedule from :mod:`chainrule.network.optimizers` to the optimizer instead.
    """

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule
        self._base: float | None = None

    def on_epoch_begin(self, trainer: Loop, epoch: int) -> None:
        lr = optimizers.current_learning_rate(trainer.opt_state)
        if lr is None:
            return
        if self._base is None:
            self._base = lr
        target = float(self.schedule(epoch))
        trainer.opt_state = optimizers._map_lr_states(
            trainer.opt_state, lambda s: s._replace(scale=target / self._base, last=target)
        )


class TerminateOnNonFinite(Callback):
    """Documentation marker: the loop itself always stops on a NaN or infinite loss.

    When a batch's loss is not finite, training stops *before* applying that batch's update, so
    the weights stay the last finite ones (and if they are not finite, the best snapshot comes
    back); ``History.stop_reason`` is ``"non_finite"``. Passing this callback changes nothing
    and exists for users who expect to ask for it, as in Keras.
    """


class GradientNorms(Callback):
    """Record :math:`\\lVert \\partial L/\\partial\\theta \\rVert_2` of every parameter, per epoch.

    The norm of each batch's gradient is averaged over the epoch's batches and stored in the
    history as ``"grad_norm/<param>"`` (``"grad_norm/dense1.W"``…). In a deep sigmoid network
    the norms of the first layers are orders of magnitude below the last ones': the vanishing
    gradient made visible.
    """

    def on_epoch_begin(self, trainer: Loop, epoch: int) -> None:
        self._sums: dict[str, float] = {}
        self._batches = 0

    def on_gradients(self, trainer: Loop, grads: dict[str, Array]) -> None:

        for name, g in grads.items():
            xp = namespace(g)
            self._sums[name] = self._sums.get(name, 0.0) + float(xp.sqrt(xp.sum(g * g)))
        self._batches += 1

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        if not self._batches:
            return
        history = trainer.history.history
        for name, total in self._sums.items():
            history.setdefault(f"grad_norm/{name}", []).append(total / self._batches)
