"""The client side of distributed training: shards, the tree reduction, the two solvers.

Both solvers plug into the one :class:`~chainrule.training.trainer.Trainer` through
:meth:`~chainrule.training.trainer.Trainer.fit_remote`; only weights, gradients, optimizer
states and a few numbers travel between the client and the workers.

* :func:`distributed_objective` — ``θ ↦ (J(θ), ∇J(θ))`` for the Trainer's L-BFGS solver.
  :math:`\\theta` is sent once to every worker, each partition returns its unnormalised loss
  and gradient (:func:`~chainrule.dask._worker.value_and_grad`), and pairwise additions on
  the workers reduce them in :math:`\\lceil \\log_2 P \\rceil` rounds (a tree, as Spark's
  ``treeAggregate``); the client receives one vector. With :math:`S = \\sum_p s_p`:

  .. math:: J(\\theta) = \\frac{1}{S}\\sum_p \\sum_{n \\in p} w_n \\ell_n
            + \\frac{\\alpha}{2S}\\sum_W \\lVert W \\rVert_F^2

  — the objective the single-machine estimator minimises, so L-BFGS takes the same steps.
* :class:`DataParallel` — synchronous *local SGD with model averaging*: each round every
  partition takes ``sync_every`` mini-batch steps from the same :math:`\\theta` and optimizer
  state, and the client averages the parameters (and the optimizer states) weighted by rows
  stepped on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.dask import _worker
from chainrule.extras import require
from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback
from chainrule.training.solvers import FitJob, MiniBatch, Objective, ParamVector


class WorkerLostError(RuntimeError):
    """Dask gave up on a task (its workers kept dying); the fit stops with this one error."""


def get_client(client: Any = None) -> Any:
    """``client``, or the current Dask client (:func:`distributed.get_client`)."""
    require("dask", "distributed", purpose="chainrule.dask")
    if client is not None:
        return client
    import distributed

    try:
        return distributed.get_client()
    except ValueError as exc:
        raise ValueError(
            "No Dask client: pass client=distributed.Client(...) or create one first."
        ) from exc


def gather(client: Any, futures: Any) -> Any:
    """``client.gather`` that turns Dask's worker-loss errors into one :class:`WorkerLostError`."""
    import distributed

    try:
        return client.gather(futures)
    except (distributed.KilledWorker, distributed.client.FutureCancelledError) as exc:
        raise WorkerLostError(
            f"Dask lost the workers holding the training data and could not recompute it "
            f"({type(exc).__name__}: {exc}); the fit stopped, the estimator is unchanged."
        ) from exc


def scatter(client: Any, values: list[Any], attempts: int = 20) -> list[Any]:
    """Copies of ``values`` on every worker (small things: weights, a network template).

    A worker that dies while it receives them makes the broadcast fail; the scheduler soon
    drops it, so the broadcast is retried on the workers left (or restarted), then given up
    as :class:`WorkerLostError`.
    """
    import time

    for attempt in range(attempts):
        try:
            return client.scatter(values, broadcast=True, hash=False)
        except OSError as exc:  # CommClosedError and friends
            if attempt == attempts - 1:
                raise WorkerLostError(
                    f"Could not reach the Dask workers ({exc}); the fit stopped."
                ) from exc
            time.sleep(0.5)
    raise AssertionError("unreachable")


@dataclass
class Shards:
    """The training partitions, each a future of ``(X_p, Y_p, w_p)`` held on a worker.

    Attributes
    ----------
    client : distributed.Client
    futures : list of Future
        One per partition; the rows never leave their worker.
    rows : list of int
        :math:`n_p` per partition.
    total_weight : float
        :math:`S = \\sum_p s_p` (the row count without sample weights).
    """

    client: Any
    futures: list[Any]
    rows: list[int]
    total_weight: float

    @classmethod
    def compute(cls, client: Any, pieces: Sequence[Any], what: str = "X") -> Shards:
        """Materialise delayed ``(X_p, Y_p, w_p)`` pieces on the workers and count them."""
        futures = client.compute(list(pieces))
        stats = gather(client, [client.submit(_worker.shard_stats, f) for f in futures])
        if not all(finite for _, _, finite in stats):
            raise ValueError(f"{what} or y holds NaN or infinite values; remove or fill them.")
        rows = [n for n, _, _ in stats]
        total = math.fsum(s for _, s, _ in stats)
        if sum(rows) == 0:
            raise ValueError("Cannot train on an empty data set (0 rows).")
        if not total > 0:
            raise ValueError("sample_weight sums to 0; at least one weight must be positive.")
        return cls(client, futures, rows, total)

    @property
    def n_rows(self) -> int:
        """:math:`N = \\sum_p n_p`."""
        return sum(self.rows)


def tree_sum(client: Any, futures: list[Any]) -> np.ndarray:
    """:math:`\\sum_p v_p` by pairwise additions on the workers; the client gets one vector."""
    while len(futures) > 1:
        paired = [
            client.submit(_worker.add, futures[i], futures[i + 1], pure=False)
            for i in range(0, len(futures) - 1, 2)
        ]
        futures = paired + ([futures[-1]] if len(futures) % 2 else [])
    return gather(client, futures[0])


def penalty(
    network: Sequential, vector: ParamVector, theta: np.ndarray, c: float
) -> tuple[float, np.ndarray]:
    """scikit-learn's L2 penalty :math:`\\tfrac{c}{2}\\sum_W\\lVert W\\rVert^2` and its gradient
    :math:`cW` (zero for biases) in the layout of :math:`\\theta`; :math:`c = \\alpha / S`."""
    grad = np.zeros_like(theta)
    value = 0.0
    for k in vector.names:
        if k.endswith(".W"):
            part = theta[vector.slices[k]]
            value += 0.5 * c * float(part @ part)
            grad[vector.slices[k]] = c * part
    return value, grad


def distributed_objective(
    shards: Shards, network: Sequential, loss: Loss, alpha: float
) -> Objective:
    """``θ ↦ (J, ∇J)`` over every partition, for ``lbfgs(objective=...)`` (module docstring).

    Parameters
    ----------
    shards : Shards
        The training partitions on the workers.
    network : Sequential
        The client's network (its layout defines :math:`\\theta`; it is sent once).
    loss : Loss
        The data loss with mean reduction (no penalty: it is added here with the global
        :math:`S`, as the single-machine fit does).
    alpha : float
        :math:`\\alpha \\ge 0`.
    """
    client = shards.client
    vector = ParamVector(network)
    [template] = scatter(client, [network])
    [loss_f] = scatter(client, [loss])
    total = shards.total_weight
    stats = {"evaluations": 0}

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        [theta_f] = scatter(client, [np.asarray(theta, np.float64)])
        parts = [
            client.submit(_worker.value_and_grad, template, loss_f, theta_f, f, pure=False)
            for f in shards.futures
        ]
        summed = tree_sum(client, parts) / total
        value, grad = float(summed[0]), summed[1:]
        if alpha:
            extra, extra_grad = penalty(network, vector, theta, alpha / total)
            value, grad = value + extra, grad + extra_grad
        stats["evaluations"] += 1
        return value, grad

    value_and_grad.stats = stats  # type: ignore[attr-defined]
    return value_and_grad


def average(states: Sequence[Any], weights: np.ndarray) -> Any:
    """The row-weighted mean of optimizer states (NamedTuples, dicts, arrays); counts: the max."""
    first = states[0]
    if isinstance(first, np.ndarray) or isinstance(first, float):
        return sum(w * s for w, s in zip(weights, states, strict=True))
    if isinstance(first, int | np.integer) or first is None:
        return max(states) if first is not None else None
    if isinstance(first, dict):
        return {k: average([s[k] for s in states], weights) for k in first}
    if isinstance(first, tuple):
        parts = [average([s[i] for s in states], weights) for i in range(len(first))]
        return type(first)(*parts) if hasattr(first, "_fields") else tuple(parts)
    return first  # anything else (a schedule's constant) is the same on every worker


class DataParallel(MiniBatch):
    """Synchronous data-parallel mini-batch training: local steps, then model averaging.

    One epoch of partition :math:`p` is its own shuffled pass in batches of ``batch_size``.
    A round sends :math:`(\\theta, s)` (parameters, optimizer state) to every partition
    that has batches left, each takes up to ``sync_every`` steps of the lecture's loop
    (:func:`~chainrule.dask._worker.local_steps`) and returns :math:`(\\theta_p, s_p)`; the
    client sets :math:`\\theta \\leftarrow \\sum_p r_p\\theta_p / \\sum_p r_p` (and the same for
    the moments of Adam), :math:`r_p` the rows stepped on. Communication per round is
    :math:`2P(|\\theta| + |s|)` numbers, independent of the rows.

    Equivalence: with one partition it *is* the single-machine run (one round per epoch,
    same batches). With ``sync_every=1``, plain SGD and :math:`P` equal partitions, one round
    is one step of single-machine SGD on the union batch of :math:`P \\cdot` ``batch_size`` rows
    (the average of the updates is the update of the average gradient). Larger ``sync_every``
    trades that equivalence for :math:`1/\\text{sync\\_every}` of the communication (local
    SGD), the usual choice across machines.

    Parameters
    ----------
    optimizer : GradientTransformation
        Update rule run on the workers.
    shards : Shards
    loss : Loss
        Data loss (mean reduction).
    penalty : callable or None
        ``penalty(loss, net) -> (loss, callbacks)`` run on the workers (the estimators pass
        scikit-learn's L2 penalty, scaled per batch as on one machine).
    batch_size : int
    sync_every : int or None
        Local steps between averages; ``None``: one pass over each partition per round.
    seed : int
        Seeds every partition's batch order (a new order every epoch when ``shuffle``).
    shuffle : bool
    validation : Shards, optional
        Held-out partitions whose loss is logged as ``val_loss`` after every epoch.
    """

    name = "data_parallel"

    def __init__(
        self,
        optimizer: GradientTransformation,
        shards: Shards,
        loss: Loss,
        penalty: Callable[..., Any] | None,
        batch_size: int,
        sync_every: int | None,
        seed: int,
        shuffle: bool = True,
        validation: Shards | None = None,
    ) -> None:
        super().__init__(optimizer)
        self.shards, self.loss, self.penalty = shards, loss, penalty
        self.batch_size, self.sync_every, self.seed = int(batch_size), sync_every, int(seed)
        self.shuffle, self.validation = bool(shuffle), validation
        self.rounds = 0

    def run(self, trainer: Any, job: FitJob) -> None:
        """Every epoch: rounds of local steps and averaging, then ``trainer.end_epoch``."""
        client = self.shards.client
        network = trainer.network
        if trainer.opt_state is None:
            trainer.opt_state = self.optimizer.init(network.params)
        vector = ParamVector(network)
        [template] = scatter(client, [network])
        [loss_f] = scatter(client, [self.loss])
        [opt_f] = scatter(client, [self.optimizer])
        steps = [math.ceil(n / self.batch_size) for n in self.shards.rows]
        per_round = self.sync_every or max(steps)
        begin_hooks = job.hooks("on_epoch_begin")
        for epoch in job.epochs:
            for cb in begin_hooks:
                cb.on_epoch_begin(trainer, epoch)
            loss_sum, seen = self._epoch(
                epoch, vector, trainer, (template, loss_f, opt_f), steps, per_round
            )
            logs = {"loss": loss_sum / max(seen, 1)}
            if self.validation is not None:
                logs["val_loss"] = self._validation_loss(network)
            if not math.isfinite(logs["loss"]):
                trainer.stop_reason = "non_finite"
                return
            trainer.end_epoch(epoch, logs, job)
            if job.interrupt.raised and trainer.stop_reason is None:
                trainer.stop_reason = "interrupted"
            if trainer.stop_reason is not None:
                return

    def _epoch(
        self,
        epoch: int,
        vector: ParamVector,
        trainer: Any,
        shared: tuple[Any, Any, Any],
        steps: list[int],
        per_round: int,
    ) -> tuple[float, int]:
        client = self.shards.client
        theta, state = vector.get(), trainer.opt_state
        loss_sum, seen = 0.0, 0
        for start in range(0, max(steps), per_round):
            [theta_f, state_f] = scatter(client, [theta, state])
            futures = [
                client.submit(
                    _worker.local_steps,
                    *shared,
                    theta_f,
                    state_f,
                    shard,
                    (self._seed(epoch, p), start, per_round, self.batch_size, self.shuffle),
                    self.penalty,
                    pure=False,
                )
                for p, shard in enumerate(self.shards.futures)
                if steps[p] > start
            ]
            results = [r for r in gather(client, futures) if r[3] > 0]
            rows = np.array([r[3] for r in results], np.float64)
            weights = rows / rows.sum()
            theta = average([r[0] for r in results], weights)
            state = average([r[1] for r in results], weights)
            loss_sum += math.fsum(r[2] for r in results)
            seen += int(rows.sum())
            self.rounds += 1
        vector.set(theta)
        trainer.opt_state = state
        return loss_sum, seen

    def _seed(self, epoch: int, partition: int) -> int:
        # One stream per (run seed, epoch, partition): reproducible, independent orders.
        seq = np.random.SeedSequence([self.seed, epoch, partition])
        return int(seq.generate_state(1)[0])

    def _validation_loss(self, network: Sequential) -> float:
        objective = distributed_objective(self.validation, network, self.loss, 0.0)
        value, _ = objective(ParamVector(network).get())
        return value


class NoImprovement(Callback):
    """scikit-learn's rule: stop after ``patience`` epochs whose loss is not ``tol`` below the best.

    Sets ``stop_reason = "converged"`` (``n_iter_no_change`` epochs without progress).
    """

    def __init__(self, tol: float, patience: int | float, key: str = "loss") -> None:
        self.tol, self.patience, self.key = float(tol), patience, key
        self.best, self.count = math.inf, 0

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        value = logs[self.key]
        self.count = self.count + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        if self.count >= self.patience:
            trainer.stop_reason = "converged"
