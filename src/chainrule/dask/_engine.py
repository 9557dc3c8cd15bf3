"""The client side of distributed training: shards, the tree reduction, the two solvers.

Both solvers plug into the one :class:`~chainrule.training.trainer.Trainer` through
:meth:`~chainrule.training.trainer.Trainer.fit_remote`; only weights, gradients, optimizer
states and a few numbers travel between the client and the workers.

The rows are first merged into one :class:`~chainrule.dask._worker.Shard` per worker
(:class:`Shards`), so every evaluation or round is one task per *worker*, not per partition.

* :func:`distributed_objective` — ``θ ↦ (J(θ), ∇J(θ))`` for the Trainer's L-BFGS solver.
  :math:`\\theta` rides in the task sent to every worker (broadcast once when large), each
  worker returns its shard's unnormalised loss and gradient
  (:func:`~chainrule.dask._worker.value_and_grad`), and a tree of fan-in 8 reduces them
  (:func:`tree_sum`, depth :math:`\\lceil \\log_8 W \\rceil`, as Spark's ``treeAggregate``);
  the client receives at most 8 vectors. With :math:`S = \\sum_p s_p`:

  .. math:: J(\\theta) = \\frac{1}{S}\\sum_p \\sum_{n \\in p} w_n \\ell_n
            + \\frac{\\alpha}{2S}\\sum_W \\lVert W \\rVert_F^2

  — the objective the single-machine estimator minimises, so L-BFGS takes the same steps.
* :class:`DataParallel` — synchronous *local SGD with model averaging*: each round every
  worker's shard takes ``sync_every`` mini-batch steps from the same :math:`\\theta` and optimizer
  state, and the client averages the parameters (and the optimizer states) weighted by rows
  stepped on.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.dask import _worker
from chainrule.dask._watch import ScatteredDataLost, WorkerLostError, gather, size
from chainrule.extras import require
from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback
from chainrule.training.solvers import FitJob, MiniBatch, Objective, ParamVector


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


def scatter(client: Any, values: list[Any], attempts: int = 20) -> list[Any]:
    """Copies of ``values`` on every worker (small things: weights, a network template).

    A worker that dies while it receives them makes the broadcast fail; the scheduler soon
    drops it, so the broadcast is retried on the workers left (or restarted), then given up
    as :class:`WorkerLostError`.
    """

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


class Broadcast:
    """Small values (a network template, the loss, the optimizer) copied to every worker
    for the tasks of one fit, and copied again when Dask has lost them.

    Scattered values have no recipe Dask could recompute them from, and Dask keeps only one
    copy of each (its active memory manager drops the spare ones): a worker that dies can take
    the last copy with it, and the next tasks that need it are cancelled. :meth:`run` then
    scatters the values again and reruns the work, which gives the same result because the
    work is a function of the values and of data Dask can recompute.

    Parameters
    ----------
    client : distributed.Client
        The cluster.
    values : list
        The values; ``futures`` holds one future per value, in order.
    """

    def __init__(self, client: Any, values: list[Any]) -> None:
        self.client, self.values = client, values
        self.futures = scatter(client, values)

    def run(self, work: Callable[..., Any], attempts: int = 3) -> Any:
        """``work(*futures)``, rerun with the values scattered again if Dask lost them."""
        for attempt in range(attempts):
            try:
                return work(*self.futures)
            except ScatteredDataLost:
                if attempt == attempts - 1:
                    raise
                self.futures = scatter(self.client, self.values)
        raise AssertionError("unreachable")


@dataclass
class Shards:
    """The training rows as one :class:`~chainrule.dask._worker.Shard` per worker (merged
    and held), or one :class:`~chainrule.dask._worker.Stream` per worker (read again from
    the source on every pass, when the rows do not fit the workers' memory).

    Attributes
    ----------
    client : distributed.Client
    futures : list of Future
        One per worker that held partitions; the rows never leave their worker.
    rows : list of int
        :math:`n_w` per shard.
    total_weight : float
        :math:`S = \\sum_w s_w` (the row count without sample weights).
    partitions : int
        Input partitions merged into the shards.
    partition_rows : list of list of int
        Per shard, the rows of the blocks its batches are drawn from: ``[n_w]`` for a held
        shard, the partitions' :math:`n_p` for a stream.
    streamed : bool
        Whether the shards are streams.
    """

    client: Any
    futures: list[Any]
    rows: list[int]
    total_weight: float
    partitions: int = 0
    partition_rows: list[list[int]] | None = None
    streamed: bool = False

    @classmethod
    def compute(
        cls,
        client: Any,
        pieces: Sequence[Any],
        dtype: str = "float64",
        what: str = "X",
        stream: bool = False,
    ) -> Shards:
        """Compute delayed ``(X_p, Y_p, w_p)`` pieces and merge them once per worker (or, with
        ``stream``, open one :class:`~chainrule.dask._worker.Stream` per worker over them).

        Partition :math:`p` of :math:`P` belongs to worker :math:`\\lfloor pW/P \\rfloor` of
        the :math:`W` workers sorted by address (contiguous runs of partitions): its piece is
        computed there and the worker's pieces are concatenated there by one task (``workers=``
        pins both; if a worker dies, Dask may rerun them elsewhere from their lineage). The
        pieces are then released, so the rows are stored once, in ``dtype``. The assignment
        depends only on the partition order and the workers' count, so two fits on the same
        cluster train on the same shards (the same batches, the same order of sums). A stream
        keeps each partition's own small graph (culled from the collection's) and computes
        the partitions inside its tasks, one at a time, so no partition is stored.
        """
        try:
            workers = sorted(client.scheduler_info().get("workers", {}))
        except OSError as exc:
            raise WorkerLostError(
                f"Could not reach the Dask workers ({exc}); the fit stopped."
            ) from exc
        if not pieces:
            raise ValueError("Cannot train on an empty data set (0 partitions).")
        n_shards = max(1, min(len(workers), len(pieces)))
        groups: list[list[Any]] = [[] for _ in range(n_shards)]
        for p, piece in enumerate(pieces):
            groups[p * n_shards // len(pieces)].append(piece)
        merged = []
        for k, group in enumerate(groups):
            where = {"workers": [workers[k]], "allow_other_workers": True} if workers else {}
            if stream:
                recipes = _worker.Recipes([recipe(piece) for piece in group])
                merged.append(
                    client.submit(_worker.open_stream, dtype, recipes, pure=False, **where)
                )
                continue
            futures = client.compute(group, **where)
            merged.append(client.submit(_worker.merge, dtype, *futures, pure=False, **where))
            del futures  # released once merged: the rows are stored once
        stats = gather(client, [client.submit(_worker.shard_stats, f, pure=False) for f in merged])
        if not all(finite for _, _, finite, _ in stats):
            raise ValueError(f"{what} or y holds NaN or infinite values; remove or fill them.")
        # an empty partition (a filter's leftover) holds nothing to train on: leave it out, so
        # no engine divides by its 0 rows or draws a batch from it
        kept = [i for i, (n, _, _, _) in enumerate(stats) if n > 0]
        if not kept:
            raise ValueError("Cannot train on an empty data set (0 rows).")
        merged = [merged[i] for i in kept]
        rows = [stats[i][0] for i in kept]
        total = math.fsum(stats[i][1] for i in kept)
        if not total > 0:
            raise ValueError("sample_weight sums to 0; at least one weight must be positive.")
        blocks = [stats[i][3] for i in kept]
        return cls(client, merged, rows, total, len(pieces), blocks, stream)

    @property
    def n_rows(self) -> int:
        """:math:`N = \\sum_w n_w`."""
        return sum(self.rows)

    def steps(self, batch_size: int) -> list[int]:
        """Mini-batches per shard and epoch: :math:`\\sum_p \\lceil n_p / B \\rceil`."""
        blocks = self.partition_rows or [[n] for n in self.rows]
        return [sum(math.ceil(n / batch_size) for n in parts) for parts in blocks]


def recipe(piece: Any) -> Any:
    """``piece`` (a Delayed) with its graph culled to the tasks it needs: what a
    :class:`~chainrule.dask._worker.Stream` ships to its worker and computes there.

    Rows already held by the cluster (a persisted collection, whose graph points at futures)
    cannot be read again from a source: :class:`MemoryError`, since streaming them would not
    free anything.
    """
    import distributed
    from dask.delayed import Delayed

    graph = piece.__dask_graph__()
    culled = graph.cull({piece.key}) if hasattr(graph, "cull") else graph
    if any(isinstance(v, distributed.Future) for v in dict(culled).values()):
        raise MemoryError(
            "The rows do not fit the Dask workers' memory limit and are already held by the "
            "cluster (a persisted collection), so they cannot be read again partition by "
            "partition; pass the unpersisted collection (e.g. from dd.read_parquet), add "
            "workers, or raise their memory limit."
        )
    return Delayed(piece.key, dict(culled))


PROCESS_BYTES = 192 * 2**20
"""What a worker process needs besides the rows: Python, NumPy, pandas, Dask and chainrule
(142 MiB measured in a worker after the imports), and room for a chunk's activations."""

PAUSE_FRACTION = 0.8
"""Dask pauses a worker at 80 % of its ``memory_limit`` (then spills, then kills)."""

PARTITION_COPIES = 6
"""Bytes of a partition a worker holds at once while reading and encoding it, in units of its
encoded size: ``pandas.read_parquet`` of a 31 MB (float64) partition was measured to peak
166 MB above the process's base (5.4x), the encoded copy comes on top."""


def check_memory(
    client: Any,
    rows: float,
    bytes_per_row: float,
    what: str = "training",
    partition_rows: float = math.nan,
) -> bool:
    """Whether the rows must be streamed; refuses, before any row is loaded, a fit that
    cannot fit the workers' memory even then.

    With :math:`W` workers, :math:`b` bytes a row and partitions of up to :math:`n_p` rows,
    a worker holds about :math:`n_w = \\max(N / W, n_p)` merged rows, twice while its
    partitions are merged, and reads a partition with up to :math:`6 n_p b` bytes at once
    (:data:`PARTITION_COPIES`). With Dask's pause threshold at 80 % of a worker's
    ``memory_limit`` :math:`M` and 192 MiB for the process itself, holding the rows needs

    .. math:: 2 n_w b + 6 n_p b + 192\\,\\mathrm{MiB} \\le 0.8 M .

    When it does not, the workers stream their partitions from the source
    (:class:`~chainrule.dask._worker.Stream`), which needs
    :math:`6 n_p b + 192\\,\\mathrm{MiB} \\le 0.8 M` (``partition_rows`` unknown: taken
    as fitting). A fit that fits neither way would make Dask pause, spill and kill workers
    over and over; this stops it at once with one sentence naming the memory limit.
    """
    if not math.isfinite(rows):
        return False
    workers = client.scheduler_info().get("workers", {})
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    if not workers or not all(limits):
        return False
    part = partition_rows if partition_rows > 0 else 0.0
    share = max(rows / len(workers), part) * bytes_per_row
    reading = PARTITION_COPIES * part * bytes_per_row
    limit = min(limits)
    if 2 * share + reading + PROCESS_BYTES <= PAUSE_FRACTION * limit:
        return False
    if reading + PROCESS_BYTES <= PAUSE_FRACTION * limit:
        return True
    raise MemoryError(
        f"The {what} rows need about {size(2 * share + reading + PROCESS_BYTES)} per Dask "
        f"worker held and {size(reading + PROCESS_BYTES)} streamed one partition at a time "
        f"({int(rows):,} rows × {bytes_per_row:g} bytes over {len(workers)} workers, "
        f"{_count(partition_rows)} in the largest partition) but a worker's memory limit is "
        f"{size(limit)} (memory_limit); add workers, raise their memory limit, split the data "
        "into smaller partitions, or pass float32 features."
    )


def _count(n: float) -> str:
    return f"{int(n):,}" if math.isfinite(n) else "an unknown number"


def fit_key() -> str:
    """A fresh key naming one fit's networks in the workers' shard caches."""
    import uuid

    return f"chainrule-fit-{uuid.uuid4().hex}"


FAN_IN = 8
"""Vectors one node of the reduction tree adds: the client adds the last ``FAN_IN`` itself."""


def tree_sum(client: Any, futures: list[Any], fan_in: int = FAN_IN) -> np.ndarray:
    """:math:`\\sum_w v_w` by a tree of fan-in ``fan_in``: workers add groups of ``fan_in``
    vectors until at most ``fan_in`` are left, which the client gathers and adds (depth
    :math:`\\lceil \\log_{8} W \\rceil`; 2 workers: the client adds two vectors, no extra
    task). The order of the additions is fixed by shard, so a recomputed shard gives the same
    bits."""
    while len(futures) > fan_in:
        futures = [
            client.submit(_worker.add, *futures[i : i + fan_in], pure=False)
            for i in range(0, len(futures), fan_in)
        ]
    vectors = gather(client, futures)
    total = vectors[0].copy()
    for v in vectors[1:]:
        total += v
    return total


INLINE_BYTES = 2**20
"""Parameter vectors up to this size travel inside the tasks; larger ones are broadcast once."""


def send(client: Any, theta: np.ndarray) -> Any:
    """:math:`\\theta` for the workers' tasks: the array itself when small (it rides in the
    task message, saving the broadcast's round trip), else a broadcast future."""
    theta = np.asarray(theta, np.float64)
    if theta.nbytes <= INLINE_BYTES:
        return theta
    [future] = scatter(client, [theta])
    return future


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
    """``θ ↦ (J, ∇J)`` over every shard, for ``lbfgs(objective=...)`` (module docstring).

    Per evaluation: one task per worker (carrying :math:`\\theta`, :func:`send`) returns its
    shard's unnormalised loss and gradient (:func:`~chainrule.dask._worker.value_and_grad`,
    on the network that worker built for this fit on its first task), and
    :func:`tree_sum` reduces them.

    Parameters
    ----------
    shards : Shards
        The training rows on the workers.
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
    shared = Broadcast(client, [network, loss])
    key = fit_key()
    total = shards.total_weight
    stats = {"evaluations": 0}

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        def evaluate(template: Any, loss_f: Any) -> np.ndarray:
            theta_f = send(client, theta)
            parts = [
                client.submit(_worker.value_and_grad, f, key, template, loss_f, theta_f, pure=False)
                for f in shards.futures
            ]
            return tree_sum(client, parts)

        summed = shared.run(evaluate) / total
        value, grad = float(summed[0]), summed[1:]
        if alpha:
            extra, extra_grad = penalty(network, vector, theta, alpha / total)
            value, grad = value + extra, grad + extra_grad
        stats["evaluations"] += 1
        return value, grad

    value_and_grad.stats = stats  # type: ignore[attr-defined]
    return value_and_grad


def remote_score(shards: Shards, network: Sequential, kind: str) -> Callable[[], float]:
    """A function returning the accuracy (``kind="accuracy"``) or :math:`R^2` (``"r2"``) of
    ``network``'s current weights on ``shards``, computed on the workers from sums
    (:func:`~chainrule.dask._worker.outputs_stats`)."""
    client = shards.client
    vector = ParamVector(network)
    shared = Broadcast(client, [network])
    key = fit_key()

    def score() -> float:
        def sum_outputs(template: Any) -> np.ndarray:
            theta_f = send(client, vector.get())
            parts = [
                client.submit(_worker.outputs_stats, f, key, template, theta_f, kind, pure=False)
                for f in shards.futures
            ]
            return tree_sum(client, parts)

        sums = shared.run(sum_outputs)
        if kind == "accuracy":
            return float(sums[0] / sums[1])
        scores = []
        for k in range(0, len(sums), 4):
            sse, w, wy, wyy = sums[k : k + 4]
            sst = wyy - wy * wy / w
            scores.append(1.0 - sse / sst if sst > 0 else 0.0)
        return float(np.mean(scores))

    return score


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
        self._validation_objective: Objective | None = None

    def run(self, trainer: Any, job: FitJob) -> None:
        """Every epoch: rounds of local steps and averaging, then ``trainer.end_epoch``."""
        client = self.shards.client
        network = trainer.network
        if trainer.opt_state is None:
            trainer.opt_state = self.optimizer.init(network.params)
        vector = ParamVector(network)
        shared = Broadcast(client, [network, self.loss, self.optimizer])
        key = fit_key()
        steps = self.shards.steps(self.batch_size)
        per_round = self.sync_every or max(steps)
        begin_hooks = job.hooks("on_epoch_begin")
        for epoch in job.epochs:
            for cb in begin_hooks:
                cb.on_epoch_begin(trainer, epoch)
            loss_sum, seen = self._epoch(epoch, vector, trainer, key, shared, steps, per_round)
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
        key: str,
        shared: Broadcast,
        steps: list[int],
        per_round: int,
    ) -> tuple[float, int]:
        theta, state = vector.get(), trainer.opt_state
        loss_sum, seen = 0.0, 0
        for start in range(0, max(steps), per_round):
            plan = (epoch, start, per_round, self.batch_size, self.shuffle)
            round_ = functools.partial(self._round, key, steps, plan, theta, state)
            results = [r for r in shared.run(round_) if r[3] > 0]
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

    def _round(
        self,
        key: str,
        steps: list[int],
        plan: tuple[int, int, int, int, bool],
        theta: np.ndarray,
        state: Any,
        template: Any,
        loss_f: Any,
        opt_f: Any,
    ) -> list[tuple[np.ndarray, Any, float, int]]:
        """One round: every shard with batches left from ``plan``'s start runs ``plan``'s
        local steps from :math:`(\\theta, s)`; their results, in shard order."""
        client = self.shards.client
        epoch, start, *rest = plan
        [theta_f, state_f] = scatter(client, [theta, state])
        shared = (key, template, loss_f, opt_f, theta_f, state_f)
        futures = [
            client.submit(
                _worker.local_steps,
                shard,
                *shared,
                (self._seed(epoch, p), start, *rest),
                self.penalty,
                pure=False,
            )
            for p, shard in enumerate(self.shards.futures)
            if steps[p] > start
        ]
        return gather(client, futures)

    def _seed(self, epoch: int, partition: int) -> int:
        # One stream per (run seed, epoch, partition): reproducible, independent orders.
        seq = np.random.SeedSequence([self.seed, epoch, partition])
        return int(seq.generate_state(1)[0])

    def _validation_loss(self, network: Sequential) -> float:
        if self._validation_objective is None:  # built once: the workers keep its network
            self._validation_objective = distributed_objective(
                self.validation, network, self.loss, 0.0
            )
        value, _ = self._validation_objective(ParamVector(network).get())
        return value


class NoImprovement(Callback):
    """scikit-learn's rule: stop after ``patience`` epochs whose loss is not ``tol`` below the
    best (or, for ``key="val_score"``, whose validation score is not ``tol`` above it).

    Sets ``stop_reason = "converged"`` (``n_iter_no_change`` epochs without progress).
    """

    def __init__(self, tol: float, patience: int | float, key: str = "loss") -> None:
        self.tol, self.patience, self.key = float(tol), patience, key
        self.best, self.count = math.inf, 0

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        value = -logs[self.key] if self.key == "val_score" else logs[self.key]
        self.count = self.count + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        if self.count >= self.patience:
            trainer.stop_reason = "converged"
