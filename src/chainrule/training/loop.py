"""The training loop as its parts see it: what solvers, callbacks and checkpoints may use.

:class:`~chainrule.training.trainer.Trainer` is the one implementation. The modules below it
(solvers, callbacks, progress, checkpoints, resume, streaming) are written against this
protocol instead of the class, so they depend on the loop's surface, not on the module that
builds it — and the imports run one way: the trainer imports them, never the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chainrule.backend import Array
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

    def snapshot(self, into: dict[str, Array] | None = None) -> dict[str, Array]: ...

    def restore(self, saved: dict[str, Array]) -> None: ...

    def rewind(self) -> None: ...

    def prepare(self, X: Array, y: Array | None = None) -> tuple[Array, Array | None]: ...

    def predict(self, X: Array, batch_size: int | None = 8192) -> Array: ...

    def evaluate(self, X: Array, y: Array, *args: Any, **kwargs: Any) -> dict[str, float]: ...

    def end_epoch(self, epoch: int, logs: dict[str, float], job: Any) -> None: ...

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> History: ...
