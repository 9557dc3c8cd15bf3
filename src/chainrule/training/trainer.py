"""The one training driver: :class:`Trainer` prepares a run, a solver runs its epochs.

``Trainer.fit`` does what every way of training shares — bring the data into the network's
namespace and dtype, hold out the validation rows, gather the callbacks, catch Ctrl-C and
NumPy's overflow warnings — then hands the epochs to its solver
(:mod:`chainrule.training.solvers`):

* :class:`~chainrule.training.solvers.MiniBatch` (any optimizer: ``sgd``, ``adam``…) runs the
  lecture's loop, forward, loss, backward and update per batch (``batch_size=None`` is the
  lecture's full batch);
* :class:`~chainrule.training.solvers.LBFGS` (``optimizer="lbfgs"`` or ``lbfgs(...)``) runs
  SciPy's L-BFGS-B over the flattened parameters, one iteration per epoch, on the same
  forward, loss, backward and gradient hooks; its ``objective=`` lets a distributed engine
  supply ``θ ↦ (J(θ), ∇J(θ))`` itself.

Every solver closes each epoch with :meth:`Trainer.end_epoch`: validation loss and metrics,
one :class:`History` entry, the ``on_epoch_end`` callbacks, then the one best-weights snapshot
(by :attr:`Trainer.monitor`, ``val_loss`` else ``loss`` unless a caller asks otherwise). The
run stops cleanly on Ctrl-C (at the next batch or iteration) and on divergence — a loss NaN,
infinite or above :data:`DIVERGENCE_FACTOR` times its start, tested in one place,
``end_epoch``, for every solver — keeping the last good weights; every ``stop_reason`` is
listed in :class:`History`.

The trainer keeps the last finite weights: the network's parameters at the start of
``fit`` until an epoch ends with finite parameters, then those. Whatever ends the run — a
divergence, Ctrl-C, an exception in a callback — they are put back if the weights are
not all finite.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from chainrule import devices
from chainrule.backend import Array
from chainrule.network import losses as losses_module
from chainrule.network import metrics as metrics_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.containers import Sequential
from chainrule.network.initializers import RandomSource, as_generator
from chainrule.network.losses import Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.training import checkpoint, data, solvers
from chainrule.training.callbacks import Callback, Monitor, overrides
from chainrule.training.data import params_finite
from chainrule.training.history import History
from chainrule.training.progress import verbose_callbacks
from chainrule.training.protocol import TrainedModel

DIVERGENCE_FACTOR = 1e4
"""An epoch whose mean training loss exceeds this many times the loss at the start of
training has diverged (:meth:`Trainer.end_epoch`). A sane run's loss rarely rises tenfold;
Adam at a learning rate of 10^6 reaches 10^26 times it in one epoch."""


@contextlib.contextmanager
def ctrl_c_flag() -> Iterator[SimpleNamespace]:
    """Turn the first Ctrl-C into a flag (``.raised``) the solvers read after each batch.

    A second Ctrl-C raises ``KeyboardInterrupt`` at once. Outside the main thread, where
    Python delivers no signals, the flag simply stays down.
    """
    flag = SimpleNamespace(raised=False)

    def handle(signum: int, frame: Any) -> None:
        if flag.raised:  # a second Ctrl-C means "now"
            raise KeyboardInterrupt
        flag.raised = True

    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class Trainer:
    """Trains a :class:`~chainrule.layers.Sequential` with a loss and an optimizer.

    The trainer keeps the optimizer state and the :class:`History` between ``fit`` calls, so
    calling ``fit(..., epochs=1)`` repeatedly continues training (``partial_fit``).

    Parameters
    ----------
    network : Sequential
        The network (``trainer.network``).
    loss : Loss or str
        E.g. ``MSE()``, ``CrossEntropy()``, ``"mse"``.
    optimizer : GradientTransformation, solver or str
        E.g. ``sgd(0.1)``, ``adam()``, ``"adam"`` (run by the mini-batch solver), or
        ``"lbfgs"`` / ``lbfgs(max_fun=..., tol=...)`` for full-batch L-BFGS
        (:mod:`chainrule.training.solvers`).
    metrics : sequence of str or callable
        Recorded per epoch on the training batches (and on validation data).
    callbacks : sequence of Callback
        Run at every ``fit``.
    monitor : str or Monitor
        The logged quantity whose best epoch the trainer snapshots (``"val_loss"``, falling
        back to ``"loss"`` without validation data; lower is better). A callback that logs its
        own score passes e.g. ``Monitor("val_score", "max")``.
    device : str, optional
        Where to train (:mod:`chainrule.devices`): ``"cpu"`` (NumPy), ``"torch"``,
        ``"torch:cuda"``, ``"torch:cpu"`` or ``"cupy"``. The data moves there once per ``fit``,
        an epoch waits for the device once; the weights stay there. Default: the inputs'.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import Sequential, Dense, Sigmoid, MSE, sgd, Trainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 2)); y = (X.sum(1) > 0).astype(float)
    >>> net = Sequential([Dense(2, 4, rng=rng), Sigmoid(), Dense(4, 1, rng=rng), Sigmoid()])
    >>> history = Trainer(net, MSE(), sgd(1.0)).fit(X, y, epochs=50)
    >>> len(history)
    50
    """

    def __init__(
        self,
        network: Sequential,
        loss: Loss | str = "mse",
        optimizer: GradientTransformation | solvers.LBFGS | str = "sgd",
        *,
        metrics: Sequence[Any] = (),
        callbacks: Sequence[Callback] = (),
        monitor: str | Monitor = "val_loss",
        device: str | devices.Device | None = None,
    ) -> None:
        self.network = network
        self.loss = loss if isinstance(loss, Loss) else losses_module.get(loss)
        self.solver = solvers.get(optimizer)
        self.metrics = [metrics_module.get(m) for m in metrics]
        self.callbacks = list(callbacks)
        self.monitor = Monitor(monitor, "min", 0.0) if isinstance(monitor, str) else monitor
        self.opt_state: Any = None
        self.history = History()
        self.stop_reason: str | None = None
        self.first_epoch: int = 0
        self.last_epoch: int | None = None
        self.best_params: dict[str, Array] | None = None
        self.steps_per_epoch: int | None = None  # batches per epoch, for progress displays
        self.rng: RandomSource | None = None  # the shuffle generator, continued by later fits
        # The last finite weights (see the module docstring): a snapshot, or the
        # best-weights snapshot when the last finite epoch was also the best.
        self._last_finite: dict[str, Array] | None = None
        self._last_finite_is_best = False
        self.loss_reference: float | None = None  # the start's loss, for end_epoch's test
        self.device = None if device is None else devices.get(device)

    @property
    def optimizer(self) -> GradientTransformation | None:
        """The mini-batch solver's update rule (``None`` for L-BFGS)."""
        return self.solver.optimizer

    def trained_model(self) -> TrainedModel:
        """The network, loss and history (see :mod:`chainrule.training.protocol`)."""
        return TrainedModel(
            self.network,
            self.loss,
            self.history,
            optimizer=self.optimizer,
            optimizer_state=self.opt_state,
        )

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON to resume training from, for :func:`chainrule.save` (``resume.py``)."""
        return checkpoint.trainer_state(self)

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Trainer:
        """Rebuild a trainer from :meth:`state`'s output; ``fit`` then carries on exactly."""
        return checkpoint.trainer_from_state(cls, tensors, meta)

    # -- data preparation ---------------------------------------------------------------------
    def prepare(self, X: Array, y: Array | None = None) -> tuple[Array, Array | None]:
        """Bring ``X`` (and ``y``) into the network's namespace and dtype (:func:`arrays.prepare`)."""
        return data.prepare(self.network, self.loss, X, y)

    # -- weights snapshots -------------------------------------------------------------------
    def snapshot(
        self,
        into: dict[str, Array] | None = None,
        params: dict[str, Array] | None = None,
    ) -> dict[str, Array]:
        """Copy every parameter and buffer (into ``into``'s arrays when given: no allocation).

        The network's buffers (``BatchNorm``'s running statistics, by full name) travel with
        its weights, so every restored snapshot — the best epoch, ``EarlyStopping``'s best
        weights, the last finite weights — predicts as the network did when it was taken.
        ``params`` (a dict of arrays) copies those arrays alone.
        """
        if params is not None:
            return _copy_arrays(params, into)
        taken = _copy_arrays(self.network.params, into)
        buffers = self.network.buffers
        if buffers:
            _copy_arrays(buffers, taken)
        return taken

    def restore(self, saved: dict[str, Array]) -> None:
        """Put back parameters saved by :meth:`snapshot`."""
        self.network.set_params(saved)

    # -- the loop ----------------------------------------------------------------------------
    def fit(
        self,
        X: Array,
        y: Array | None = None,
        *,
        epochs: int = 1,
        batch_size: int | None = None,
        shuffle: bool = True,
        rng: RandomSource | int | None = None,
        validation_data: tuple[Array, Array] | tuple[Array, Array, Array] | None = None,
        validation_split: float = 0.0,
        sample_weight: Array | None = None,
        callbacks: Iterable[Callback] = (),
        verbose: int | str = "auto",
        check_inputs: bool = True,
    ) -> History:
        """Train for ``epochs`` epochs and return the (cumulative) :class:`History`.

        Parameters
        ----------
        X : array, shape (N, d), or a stream of batches
            Inputs; or, with ``y`` left out, an iterable of ``(X_b, y_b[, w_b])`` batches or
            a callable returning one epoch of them (:mod:`chainrule.training.data`).
        y : array, shape (N,) or (N, K)
            Targets (class indices or one-hot for ``CrossEntropy``).
        epochs : int
            Passes over the training data.
        batch_size : int or None
            ``None`` is full-batch gradient descent, the lecture's.
        shuffle : bool
            Draw a new batch order every epoch (through index batches: ``X`` is never copied).
        rng : Generator, int or None
            Source of the shuffles and of the validation split. ``None`` continues the
            trainer's generator from the previous ``fit`` (or a loaded checkpoint), or draws
            fresh entropy the first time.
        validation_data : (X_val, y_val[, w_val]), optional
            Scored after every epoch, never trained on.
        validation_split : float
            Fraction of rows (drawn with ``rng``) held out as validation data instead.
        sample_weight : array, shape (N,), optional
            Per-sample weights for the loss.
        callbacks : iterable of Callback
            Extra callbacks for this call only.
        verbose : {"auto", 0, 1, 2}
            Keras' meaning: 0 silent, 1 a progress bar updated every batch (plain lines when
            standard error is not a terminal), 2 one line per epoch; ``"auto"`` is 1 on a
            terminal and 0 otherwise. Ignored when ``callbacks`` hold a ``ProgressBar``.
        check_inputs : bool
            Run :func:`~chainrule.training.data.check_fit_inputs` (a pass over ``X``); callers
            that already did (the estimators: ``validate_data``) pass ``False``.
        """
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}.")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}.")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")
        gen = self.rng if rng is None and self.rng is not None else as_generator(rng)
        self.rng = gen
        if data.is_stream(X, y):  # batches from a source, never all in memory
            make = data.stream_job(self, X, epochs, gen, validation_data, validation_split)
            self.steps_per_epoch = None  # unknown until the source runs dry
            return self._run(epochs, make, callbacks, verbose)
        if y is None:
            raise ValueError("y is required with array inputs.")
        make = data.array_job(
            self,
            X,
            y,
            sample_weight,
            batch_size,
            shuffle,
            gen,
            validation_data,
            validation_split,
            check_inputs=check_inputs,
        )
        return self._run(epochs, make, callbacks, verbose)

    def fit_remote(
        self,
        *,
        epochs: int = 1,
        rng: RandomSource | int | None = None,
        callbacks: Iterable[Callback] = (),
        verbose: bool | int | str = 0,
    ) -> History:
        """Train with a solver that reaches its rows itself; no rows pass through here.

        For distributed engines (:mod:`chainrule.dask`): the solver is an
        :class:`~chainrule.training.solvers.LBFGS` with an ``objective`` or a solver whose
        ``run`` computes on remote partitions, and its job has ``X = y = w = None``. Epochs,
        history, callbacks, the best-weights snapshot, Ctrl-C and the finite-weights guard are
        those of :meth:`fit`.
        """
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}.")
        if isinstance(self.solver, solvers.LBFGS) and self.solver.objective is None:
            raise ValueError("fit_remote needs an L-BFGS solver with an objective= callable.")
        gen = as_generator(rng)
        none = (None, None, None, None, None, False, gen)
        make = functools.partial(solvers.FitJob, *none, validation=None)
        self.steps_per_epoch = None
        return self._run(epochs, make, callbacks, verbose)

    def _run(
        self,
        epochs: int,
        make_job: Callable[..., solvers.FitJob],  # (epochs=, callbacks=, interrupt=) -> job
        callbacks: Iterable[Callback],
        verbose: Any,
    ) -> History:
        """Run the solver on the job ``make_job`` builds (arrays or a stream: the same run)."""
        run_callbacks = [*self.callbacks, *callbacks]
        if verbose:  # 0: silent; otherwise Keras' progress display (verbose_callbacks)
            run_callbacks += verbose_callbacks(verbose, run_callbacks)
        first = self.history.epoch[-1] + 1 if self.history.epoch else 0
        self.first_epoch, self.last_epoch = first, first + epochs - 1
        self.stop_reason = None
        # Divergence is reported as stop_reason="non_finite", not as a stream of NumPy overflow
        # warnings; one errstate for the whole run keeps the per-batch path free of it.
        # Whatever ends the loop — a divergence, Ctrl-C, an exception in a callback — the
        # weights left are finite: the last finite ones are put back otherwise.
        finite_at_start = params_finite(self.network.params.values())
        self._last_finite = self.snapshot() if finite_at_start else None
        self._last_finite_is_best = False
        with ctrl_c_flag() as interrupt, np.errstate(over="ignore", invalid="ignore"):
            try:
                job = make_job(
                    epochs=range(first, first + epochs),
                    callbacks=run_callbacks,
                    interrupt=interrupt,
                )
                # The divergence test's reference (end_epoch): the history's first epoch; on
                # a first fit the solver sets it (MiniBatch: the first batch's loss, at the
                # starting weights), else end_epoch takes the first epoch's.
                first_loss = self.history.history.get("loss", [])[:1]
                self.loss_reference = next(
                    (v for v in first_loss if math.isfinite(v) and v > 0), None
                )
                for cb in job.callbacks:
                    if overrides(cb, "on_train_begin"):  # the loop calls hooks that do work
                        cb.on_train_begin(self)
                self.solver.run(self, job)
                if self.stop_reason == "non_finite":  # whatever the solver: the last good
                    self.rewind()  # epoch's weights, as a device run's (finite or not)
            finally:
                if not params_finite(self.network.params.values()):
                    self.rewind()

        if self.stop_reason in ("non_finite", "interrupted") and self.best_params is not None:
            if self.stop_reason == "interrupted" or not params_finite(self.network.params.values()):
                self.restore(self.best_params)
        self.history.stop_reason = self.stop_reason
        for cb in job.callbacks:
            if overrides(cb, "on_train_end"):
                cb.on_train_end(self)
        return self.history

    def end_epoch(self, epoch: int, logs: dict[str, float], job: solvers.FitJob) -> None:
        """What every solver does after an epoch: validation, history, best weights, callbacks.

        ``logs`` holds the solver's ``loss`` (and training metrics); this adds ``val_<name>``
        for the validation data and ``lr`` for optimizers that have a rate, asks
        :attr:`monitor` for the epoch's value (a monitor may log more, e.g. a score), records
        the epoch, snapshots the weights if the monitor improved — the run's one best-weights
        copy — and runs ``on_epoch_end``.
        """
        # The one divergence test, whatever the solver: a NaN or infinite loss (a solver may
        # also stop before the epoch ends), or a finite one above DIVERGENCE_FACTOR times the
        # loss at the start of training — Adam's bounded steps run away to 10^26 without ever
        # reaching infinity.
        loss, reference = logs["loss"], self.loss_reference
        if reference is None and math.isfinite(loss):
            self.loss_reference = loss if loss > 0 else None
        elif not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * reference:
            self.stop_reason = "non_finite"
            return  # not recorded, not a candidate for the best weights; _run rewinds
        if job.validation is not None:
            for k, v in self.evaluate(*job.validation, prepared=True).items():
                logs[f"val_{k}"] = v
        if self.opt_state is not None:
            logs["lr"] = optimizers_module.current_learning_rate(self.opt_state) or 0.0
        watch = self.monitor
        value = watch.measure(self, logs)
        self.history.append(epoch, logs)
        finite = params_finite(self.network.params.values())
        improved = finite and watch.improved(value)
        if improved:
            watch.best = value
            self.best_params = self.snapshot(self.best_params)
            self.history.best_epoch = epoch
        if finite:  # the last finite weights: the best snapshot if just taken, else a copy
            self._last_finite_is_best = improved
            if not improved:
                self._last_finite = self.snapshot(self._last_finite)
        for cb in job.epoch_end_hooks:
            cb.on_epoch_end(self, epoch, logs)

    def rewind(self) -> None:
        """Put back the last finite weights now (a device run learns of a bad epoch at its end).

        They are the best epoch's snapshot when that epoch was the last finite one, else the
        copy ``end_epoch`` took, else the weights ``fit`` started from.
        """
        if self._last_finite_is_best and self.best_params is not None:
            self.restore(self.best_params)
        elif self._last_finite is not None:
            self.restore(self._last_finite)

    # -- inference ---------------------------------------------------------------------------
    def predict(self, X: Array, batch_size: int | None = 8192) -> Array:
        """The model's output after the loss's link (probabilities for logit losses).

        On a :attr:`device`, NumPy input is predicted there and comes back as NumPy.
        """
        host = self.device is not None and isinstance(X, np.ndarray)
        X, _ = self.prepare(X if self.device is None else self.device.put(X))
        out = self.loss.link(self.network.predict(X, batch_size))
        return devices.to_host(out) if host else out

    def evaluate(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        batch_size: int | None = 8192,
        prepared: bool = False,
    ) -> dict[str, float]:
        """Loss and metrics on ``(X, y)`` at inference (dropout off)."""
        if not prepared:
            if self.device is not None:
                X, y, sample_weight = self.device.put_all(X, y, sample_weight)
            X, y = self.prepare(X, y)
        out = self.network.predict(X, batch_size)
        value, _ = self.loss(out, y, sample_weight)
        results = {"loss": value}
        if self.metrics:
            pred = self.loss.link(out)
            for name, fn in self.metrics:
                results[name] = fn(y, pred)
        if self.device is None:
            return results  # NumPy: floats already
        return devices.to_floats(results)  # on a device: one transfer for them all


def fit(
    network: Sequential,
    X: Array,
    y: Array,
    *,
    loss: Loss | str = "mse",
    optimizer: GradientTransformation | str = "sgd",
    metrics: Sequence[Any] = (),
    callbacks: Sequence[Callback] = (),
    **fit_kwargs: Any,
) -> History:
    """Train ``network`` in one call: ``Trainer(network, loss, optimizer, ...).fit(X, y, ...)``."""
    trainer = Trainer(network, loss, optimizer, metrics=metrics, callbacks=callbacks)
    return trainer.fit(X, y, **fit_kwargs)


def _copy_arrays(arrays: dict[str, Array], into: dict[str, Array] | None) -> dict[str, Array]:
    """Copy ``arrays`` into ``into``'s arrays of the same name and shape (new copies otherwise).

    Returns ``into`` (or a new dict when it is None), holding the copies under the same names.
    """
    if into is None:
        return {k: v + 0 for k, v in arrays.items()}
    for k, v in arrays.items():
        kept = into.get(k)
        if kept is None or type(kept) is not type(v) or kept.shape != v.shape:
            into[k] = v + 0
        else:
            kept[...] = v
    return into
