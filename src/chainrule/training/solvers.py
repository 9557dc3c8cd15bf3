"""Solvers: how :meth:`Trainer.fit <chainrule.training.trainer.Trainer.fit>` turns epochs into updates.

The :class:`~chainrule.training.trainer.Trainer` prepares a run (inputs in the network's dtype,
the validation split, the callbacks) into a :class:`FitJob` and hands the epochs to its
solver. A solver updates the parameters however it likes, and ends every epoch with
``trainer.end_epoch(epoch, logs, job)``, which scores the validation data, appends to the
:class:`~chainrule.training.history.History`, runs the ``on_epoch_end`` callbacks and keeps the
best weights. A callback stops either solver by setting ``trainer.stop_reason``.

* :class:`MiniBatch` — the lecture's loop, one gradient transformation step per batch::

      ŷ = network.forward(X_b)                   # forward pass
      L, ∂L/∂ŷ = loss(ŷ, y_b)                    # value and gradient, from one call
      network.backward(∂L/∂ŷ)                    # chain rule, layer by layer
      state = optimizer.step(params, grads, state)  # θ ← θ + u, u from the rule

* :class:`LBFGS` — full-batch quasi-Newton (SciPy's L-BFGS-B) over the parameters flattened
  into one vector :math:`\\theta` (:class:`ParamVector`). The objective
  :math:`\\theta \\mapsto (J(\\theta), \\nabla J(\\theta))` is, by default, the same forward,
  loss, backward and ``on_gradients`` hooks the mini-batch solver runs, on the whole training
  set; one L-BFGS iteration is one epoch of the history. A distributed engine passes its own
  ``objective`` (e.g. gradients summed over data partitions) and keeps everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import devices
from chainrule.backend import Array, from_numpy, namespace, to_numpy
from chainrule.network import optimizers as optimizers_module
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback
from chainrule.training.data import FitJob, host_epoch

if TYPE_CHECKING:
    from chainrule.network.containers import Sequential
    from chainrule.training.callbacks import Loop


__all__ = ["ParamVector"]


class ParamVector:
    """The trainable parameters as one float64 vector :math:`\\theta`, in ``trainable_names()`` order.

    ``θ = [vec(W₁), vec(b₁), vec(W₂), …]`` (row-major), the layout L-BFGS and any
    :data:`Objective` share.
    """

    def __init__(self, network: Sequential) -> None:
        self.network = network
        params = network.params
        self.names = network.trainable_names()
        self.shapes = {k: tuple(params[k].shape) for k in self.names}
        self.slices: dict[str, slice] = {}
        start = 0
        for k, shape in self.shapes.items():
            size = int(np.prod(shape))
            self.slices[k] = slice(start, start + size)
            start += size
        self.size = start

    def get(self) -> np.ndarray:
        """:math:`\\theta` from the network's current parameters (a new float64 array)."""
        params = self.network.params
        return np.concatenate(
            [np.asarray(to_numpy(params[k]), np.float64).ravel() for k in self.names]
        )

    def set(self, theta: np.ndarray) -> None:
        """Copy :math:`\\theta` into the network's parameters (cast to their dtype)."""
        params = self.network.params
        values = {}
        for k in self.names:
            part = theta[self.slices[k]].reshape(self.shapes[k])
            if not isinstance(params[k], np.ndarray):
                part = from_numpy(part, namespace(params[k]), like=params[k])
            values[k] = part
        self.network.set_params(values)

    def flatten(self, grads: dict[str, Array]) -> np.ndarray:
        """The gradients as one float64 vector in the layout of :math:`\\theta`."""
        return np.concatenate([to_numpy(grads[k]).ravel() for k in self.names]).astype(np.float64)


_isfinite = math.isfinite  # a module global: one lookup per batch, not two

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
"""``θ ↦ (J(θ), ∇J(θ))`` with ``θ`` a float64 vector laid out by :class:`ParamVector`."""


class MiniBatch:
    """The lecture's loop: forward, loss, backward and one optimizer update per batch.

    Parameters
    ----------
    optimizer : GradientTransformation
        The update rule (``sgd(0.1)``, ``adam()``…); its state lives in ``trainer.opt_state``.
    """

    name = "minibatch"

    def __init__(self, optimizer: GradientTransformation) -> None:
        self.optimizer = optimizer

    def step(
        self,
        trainer: Loop,
        job: FitJob,
        xb: Array,
        yb: Array,
        wb: Array | None,
        params: dict[str, Array] | None = None,
    ) -> tuple[float, Array]:
        """Forward, loss, backward and update on one batch; returns the loss and the output.

        The update is skipped when the loss is not finite (the caller then stops). While the
        run has no :attr:`~chainrule.training.callbacks.Loop.loss_reference` (a first fit), the
        batch loss becomes the divergence test's reference: the first batch's, at the starting
        weights, unless it is not positive. On a device the loss is a 0-d array that is not
        looked at here: the epoch's total is checked once, at its end (see :meth:`run`), and
        the first epoch's is the reference.
        """
        network = trainer.network
        out = network.forward(xb, training=True)
        value, grad = trainer.loss(out, yb, wb)
        if type(value) is float:  # a device's 0-d array is looked at at the epoch's end
            if not _isfinite(value):
                return value, out
            if trainer.loss_reference is None and value > 0:
                trainer.loss_reference = value
        network.backward(grad, need_input_grad=False)
        grads = network.grads
        for cb in job.gradient_hooks:
            cb.on_gradients(trainer, grads)
        if params is None:  # the run passes its own, built once: arrays are updated in place
            params = network.params
        trainer.opt_state = self.optimizer.step(params, grads, trainer.opt_state)
        return value, out

    def run(self, trainer: Loop, job: FitJob) -> None:
        """Every epoch: the batches, then ``trainer.end_epoch`` with the epoch's mean loss.

        On NumPy a non-finite batch loss stops the run before its update. On a device the
        losses and metrics are summed there and cross to the host once, at the epoch's end
        (:func:`chainrule.devices.to_floats`); a non-finite epoch is then not recorded and the
        weights go back to the last finite ones (:meth:`Trainer.rewind`).
        """
        if trainer.opt_state is None:
            trainer.opt_state = self.optimizer.init(trainer.network.params)
        batch_hooks = job.hooks("on_batch_end")
        epoch_begin_hooks = job.hooks("on_epoch_begin")
        mean_reduction = trainer.loss.reduction == "mean"
        metrics = trainer.metrics
        step, interrupt, end_epoch = self.step, job.interrupt, trainer.end_epoch  # hoisted
        # Full batch: the one batch is the data itself, with no generator built per epoch.
        whole = ((job.X, job.y, job.w),) if job.batch_size is None and job.X is not None else ()
        for epoch in job.epochs:
            for cb in epoch_begin_hooks:
                cb.on_epoch_begin(trainer, epoch)
            # One dict per epoch (the optimizer updates its arrays in place) when the data was
            # prepared up front; a stream prepares each batch, which may recast the weights.
            params = trainer.network.params if job.X is not None else None
            total, seen = 0.0, 0
            metric_sums = [0.0] * len(metrics)
            for b, (xb, yb, wb) in enumerate(whole or job.batches()):
                value, out = step(trainer, job, xb, yb, wb, params)
                size = xb.shape[0]
                if type(value) is float and not _isfinite(value):  # device: at epoch end
                    trainer.stop_reason = "non_finite"
                    break
                total += value * size if mean_reduction else value
                seen += size
                if metrics:
                    pred = trainer.loss.link(out)
                    for i, (_, fn) in enumerate(metrics):
                        metric_sums[i] += fn(yb, pred) * size
                if batch_hooks:  # no dict per batch when nothing reads it
                    _batch_end(trainer, batch_hooks, b, {"loss": value, "size": size})
                if interrupt.raised:
                    trainer.stop_reason = "interrupted"
                    break
            if trainer.stop_reason in ("non_finite", "interrupted") and seen < job.n_train:
                return  # an unfinished epoch is not recorded
            logs = {"loss": total / seen if mean_reduction else total}
            for (name, _), s in zip(metrics, metric_sums, strict=True):
                logs[name] = s / seen
            if not host_epoch(trainer, logs):
                return
            end_epoch(epoch, logs, job)
            if interrupt.raised and trainer.stop_reason is None:
                trainer.stop_reason = "interrupted"
            if trainer.stop_reason is not None:
                return


def _batch_end(trainer: Loop, hooks: list[Callback], b: int, logs: dict[str, Any]) -> None:
    for cb in hooks:
        cb.on_batch_end(trainer, b, logs)


def full_batch_objective(trainer: Loop, job: FitJob, vector: ParamVector) -> Objective:
    """:math:`J(\\theta)` and :math:`\\nabla J(\\theta)` on the whole training set.

    The network's own ``forward``, the trainer's loss, ``backward`` and the ``on_gradients``
    hooks (so a penalty added there is part of the objective), exactly as one full-batch step
    of :class:`MiniBatch` computes them.
    """
    network = trainer.network

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        vector.set(theta)
        value, grad = trainer.loss(network.forward(job.X, training=True), job.y, job.w)
        network.backward(grad, need_input_grad=False)
        grads = network.grads
        for cb in job.gradient_hooks:
            cb.on_gradients(trainer, grads)
        return float(value), vector.flatten(grads)  # SciPy works on the host

    return value_and_grad


class LBFGS:
    """Full-batch L-BFGS (SciPy's L-BFGS-B, no bounds); one iteration is one epoch.

    ``fit(..., epochs=n)`` allows at most ``n`` iterations. ``stop_reason`` becomes
    ``"converged"`` when the projected gradient falls below ``tol`` (or the relative decrease
    of :math:`J` below SciPy's ``ftol``), ``"max_fun"`` when ``max_fun`` evaluations are spent,
    ``"abnormal"`` when the line search fails (often: the loss is flat to rounding), and stays
    ``None`` when the iterations run out. The raw :class:`scipy.optimize.OptimizeResult` of the
    last run is :attr:`result`.

    Parameters
    ----------
    max_fun : int
        Most evaluations of the objective per ``fit`` call.
    tol : float
        ``gtol``: stop when :math:`\\max_i |\\nabla_i J| \\le` ``tol``.
    objective : callable, optional
        ``θ ↦ (J, ∇J)`` replacing :func:`full_batch_objective` (``θ`` laid out by
        :class:`ParamVector`), for engines that compute the gradient elsewhere.
    """

    name = "lbfgs"
    optimizer = None

    def __init__(
        self, max_fun: int = 15000, tol: float = 1e-5, objective: Objective | None = None
    ) -> None:
        if max_fun < 1:
            raise ValueError(f"max_fun must be a positive integer, got {max_fun}.")
        if tol < 0:
            raise ValueError(f"tol must be non-negative, got {tol}.")
        self.max_fun, self.tol, self.objective = int(max_fun), float(tol), objective
        self.result: Any = None

    def run(self, trainer: Loop, job: FitJob) -> None:
        """Minimise the objective from the current weights, logging every iteration."""
        try:
            import scipy.optimize  # optional: only this solver needs SciPy
        except ImportError as exc:
            raise ImportError(
                "The L-BFGS solver needs SciPy: pip install scipy (or chainrule[sklearn])."
            ) from exc
        if job.batch_size is not None:
            raise ValueError("L-BFGS is a full-batch solver; leave batch_size=None.")
        if not len(job.epochs):
            return
        vector = ParamVector(trainer.network)
        objective = self.objective or full_batch_objective(trainer, job, vector)
        epochs = list(job.epochs)
        done = 0  # iterations finished
        begin_hooks = job.hooks("on_epoch_begin")

        def begin_iteration() -> None:  # an iteration is an epoch: its callbacks open it too
            for cb in begin_hooks:
                cb.on_epoch_begin(trainer, epochs[done])

        def end_iteration(intermediate_result: Any) -> None:
            nonlocal done
            vector.set(intermediate_result.x)  # callbacks see this iteration's weights
            logs = {"loss": float(intermediate_result.fun)}
            if trainer.metrics:
                pred = trainer.predict(job.X)
                for name, fn in trainer.metrics:
                    logs[name] = fn(job.y, pred)
                logs = devices.to_floats(logs)
            trainer.end_epoch(epochs[done], logs, job)
            done += 1
            if done < len(epochs):
                begin_iteration()
            if job.interrupt.raised and trainer.stop_reason is None:
                trainer.stop_reason = "interrupted"
            if trainer.stop_reason is not None:
                raise StopIteration

        begin_iteration()
        self.result = result = scipy.optimize.minimize(
            objective,
            vector.get(),
            method="L-BFGS-B",
            jac=True,
            callback=end_iteration,
            options={"maxfun": self.max_fun, "maxiter": len(job.epochs), "gtol": self.tol},
        )
        vector.set(result.x)
        if not math.isfinite(result.fun):
            trainer.stop_reason = "non_finite"
        elif trainer.stop_reason is None and result.status != 99:
            trainer.stop_reason = _STOP_REASONS.get(result.status, "abnormal")
            if result.status == 1 and result.nit >= len(job.epochs):
                trainer.stop_reason = None  # ran every epoch asked for


# scipy's L-BFGS-B statuses: 0 converged, 1 iteration or evaluation limit, 2 abnormal stop.
_STOP_REASONS = {0: "converged", 1: "max_fun", 2: "abnormal"}


def get(optimizer: GradientTransformation | MiniBatch | LBFGS | str) -> MiniBatch | LBFGS:
    """A solver from what ``Trainer(optimizer=...)`` accepts: a solver, ``"lbfgs"``, or any
    optimizer :func:`chainrule.network.optimizers.get` knows (run by :class:`MiniBatch`)."""
    if isinstance(optimizer, MiniBatch | LBFGS):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower().replace("-", "") == "lbfgs":
        return LBFGS()
    if isinstance(optimizer, GradientTransformation):
        return MiniBatch(optimizer)
    return MiniBatch(optimizers_module.get(optimizer))


def lbfgs(max_fun: int = 15000, tol: float = 1e-5, objective: Objective | None = None) -> LBFGS:
    """The full-batch L-BFGS solver: ``Trainer(net, loss, lbfgs())`` (see :class:`LBFGS`)."""
    return LBFGS(max_fun, tol, objective)
