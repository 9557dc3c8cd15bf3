"""What runs on the Dask workers: one merged shard per worker, its networks, its gradients.

A worker's partitions are concatenated once into a :class:`Shard` (features in the network's
dtype, class targets as integer codes), so an evaluation is one task per *worker*, whatever
the number of partitions. The shard also keeps the networks built on it (one per fit, keyed
by the fit's template), so a task only copies :math:`\\theta` into an existing network.
Every function here takes the shard plus small things — :math:`\\theta`, a network template,
the loss — and returns small things: a vector of the size of :math:`\\theta`, a few numbers.
Nothing here returns rows, which is what keeps the rows on the workers.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback
from chainrule.training.solvers import MiniBatch, ParamVector
from chainrule.training.trainer import Trainer

Piece = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""One encoded partition: ``X_p (n_p, d)``, ``Y_p`` (codes ``(n_p,)`` or ``(n_p, K)``), ``w_p``."""

CHUNK_ROWS = 65_536
"""Rows per forward/backward pass inside an evaluation: bounds the activations' memory
(``CHUNK_ROWS × Σ widths`` numbers) whatever the shard's size."""


class Networks:
    """The networks one worker built for its fits (one per fit, keyed by the fit's template).

    Kept with the rows (a :class:`Shard` or a :class:`Stream`), so a task only copies
    :math:`\\theta` into an existing network instead of unpickling a template each time.
    """

    def __init__(self) -> None:
        self._networks: dict[str, tuple[Sequential, ParamVector]] = {}
        self._lock = threading.Lock()

    def network(self, key: str, template: Sequential) -> tuple[Sequential, ParamVector]:
        """The network of fit ``key`` on this worker: a copy of ``template`` made on first use."""
        with self._lock:
            if key not in self._networks:
                net = copy.deepcopy(template)
                self._networks[key] = (net, ParamVector(net))
            return self._networks[key]


class Shard(Networks):
    """The rows one worker trains on, concatenated once, and the networks built on them.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Features in the network's dtype (float32 or float64).
    Y : ndarray, shape (n,) or (n, K)
        Integer class codes ``(n,)`` (a classifier), or float targets ``(n, K)``.
    w : ndarray of shape (n,) or None
        Sample weights (class weights folded in), ``None`` for all ones.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> None:
        super().__init__()
        self.X, self.Y, self.w = X, Y, w

    def __getstate__(self) -> dict[str, Any]:
        # Spilled to disk or moved: the rows travel, the cached networks are rebuilt.
        return {"X": self.X, "Y": self.Y, "w": self.w}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["X"], state["Y"], state["w"])  # type: ignore[misc]

    @property
    def rows(self) -> int:
        """:math:`n`."""
        return int(self.X.shape[0])

    @property
    def weight(self) -> float:
        """:math:`s = \\sum_n w_n` (``n`` unweighted)."""
        return float(self.rows) if self.w is None else float(np.sum(self.w, dtype=np.float64))

    @property
    def width(self) -> int:
        """:math:`d`, the features per row."""
        return int(self.X.shape[1])

    @property
    def dtype(self) -> np.dtype:
        """The features' dtype (the network's)."""
        return self.X.dtype

    @property
    def partition_rows(self) -> list[int]:
        """Rows per block the batches are drawn from: the whole shard is one block."""
        return [self.rows]

    def nbytes(self) -> int:
        """Bytes held by the rows."""
        return self.X.nbytes + self.Y.nbytes + (0 if self.w is None else self.w.nbytes)

    def targets(self, Y: np.ndarray, n_outputs: int) -> np.ndarray:
        """``Y`` rows as the loss takes them: codes for a softmax, a 0/1 column for one logit."""
        return as_targets(Y, n_outputs, self.X.dtype)

    def chunks(self, n_outputs: int, size: int = CHUNK_ROWS) -> Iterator[Piece]:
        """``(X, T, w)`` blocks of at most ``size`` rows, ``T`` as the loss takes it."""
        for start in range(0, self.rows, size):
            stop = min(start + size, self.rows)
            w = None if self.w is None else self.w[start:stop]
            yield self.X[start:stop], self.targets(self.Y[start:stop], n_outputs), w


def as_targets(Y: np.ndarray, n_outputs: int, dtype: Any) -> np.ndarray:
    """``Y`` rows as the loss takes them: codes for a softmax, a 0/1 column for one logit."""
    if Y.ndim == 1 and Y.dtype.kind in "iu":
        if n_outputs == 1:
            return Y.astype(dtype)[:, None]
        return Y
    return Y.reshape(len(Y), -1)


class Recipes:
    """How to compute a worker's partitions from their source: one small Dask graph each.

    A plain holder, so that Dask ships the graphs as they are instead of computing them as
    dependencies of the task that receives them.
    """

    def __init__(self, recipes: list[Any]) -> None:
        self.recipes = recipes


def load(recipe: Any, dtype: str) -> Piece:
    """Compute one partition from its source on this worker (synchronously, in this task's
    thread) and type it as a :class:`Shard` holds it: ``X`` C-contiguous in ``dtype``,
    class codes kept, float targets and weights in ``dtype``."""
    import dask

    (piece,) = dask.compute(recipe, scheduler="synchronous")
    X, Y, w = piece
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = Y if Y.dtype.kind in "iu" else np.asarray(Y, dtype=dtype)
    return X, Y, None if w is None else np.asarray(w, dtype=dtype)


class Stream(Networks):
    """A worker's partitions kept as their recipes, computed again from the source (a
    Parquet or CSV file, a generator) on every pass, one partition at a time.

    What a worker trains on when its share of the rows does not fit its memory: it holds
    one partition (and one chunk's activations) at a time, at the price of reading and
    encoding its partitions on every evaluation (L-BFGS) or epoch (mini-batch solvers). The
    partitions' rows and weights are counted once, when the stream is opened
    (:func:`open_stream`).

    Attributes
    ----------
    recipes : list of Delayed
        One per partition, in order; each computes ``(X_p, Y_p, w_p)``.
    partition_rows : list of int
        :math:`n_p` per partition.
    """

    def __init__(
        self,
        dtype: str,
        recipes: list[Any],
        partition_rows: list[int],
        weight: float,
        width: int,
        finite: bool,
    ) -> None:
        super().__init__()
        self._dtype, self.recipes, self.partition_rows = dtype, recipes, partition_rows
        self._weight, self._width, self.finite = weight, width, finite

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_networks"], state["_lock"]  # rebuilt where the stream lands
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        Networks.__init__(self)
        self.__dict__.update(state)

    @property
    def rows(self) -> int:
        """:math:`n = \\sum_p n_p`."""
        return int(sum(self.partition_rows))

    @property
    def weight(self) -> float:
        """:math:`s = \\sum_n w_n` (``n`` unweighted)."""
        return self._weight

    @property
    def width(self) -> int:
        """:math:`d`."""
        return self._width

    @property
    def dtype(self) -> np.dtype:
        """The features' dtype."""
        return np.dtype(self._dtype)

    def partition(self, p: int) -> Piece:
        """Partition ``p``, computed from its source now."""
        return load(self.recipes[p], self._dtype)

    def chunks(self, n_outputs: int, size: int = CHUNK_ROWS) -> Iterator[Piece]:
        """``(X, T, w)`` blocks of at most ``size`` rows, partition after partition; only the
        partition being read is in memory."""
        for p, n in enumerate(self.partition_rows):
            if n == 0:
                continue
            X, Y, w = self.partition(p)
            for start in range(0, n, size):
                stop = min(start + size, n)
                ws = None if w is None else w[start:stop]
                yield X[start:stop], as_targets(Y[start:stop], n_outputs, X.dtype), ws


def open_stream(dtype: str, recipes: Recipes) -> Stream:
    """A :class:`Stream` over ``recipes``, after one pass counting each partition's rows,
    the total weight, the width, and whether every value is finite."""
    counts, weight, width, finite = [], 0.0, 0, True
    for recipe in recipes.recipes:
        X, Y, w = load(recipe, dtype)
        counts.append(int(X.shape[0]))
        weight += float(X.shape[0]) if w is None else float(np.sum(w, dtype=np.float64))
        width = max(width, int(X.shape[1]) if X.ndim == 2 else 0)
        finite = finite and bool(np.isfinite(X).all())
        finite = finite and (Y.dtype.kind not in "fc" or bool(np.isfinite(Y).all()))
        del X, Y, w  # one partition at a time
    return Stream(dtype, recipes.recipes, counts, weight, width, finite)


def merge(dtype: str, *pieces: Piece) -> Shard:
    """One worker's partitions as one :class:`Shard` (rows in partition order)."""
    X = np.concatenate([p[0] for p in pieces], dtype=dtype) if pieces else np.zeros((0, 0))
    codes = [p[1] for p in pieces]
    Y = np.concatenate(codes) if codes[0].dtype.kind in "iu" else np.concatenate(codes, dtype=dtype)
    weighted = any(p[2] is not None for p in pieces)
    w = np.concatenate([_weights(p) for p in pieces], dtype=dtype) if weighted else None
    return Shard(np.ascontiguousarray(X), Y, w)


def _weights(piece: Piece) -> np.ndarray:
    return np.ones(piece[0].shape[0]) if piece[2] is None else piece[2]


def shard_stats(shard: Shard | Stream) -> tuple[int, float, bool, list[int]]:
    """``(n, s, finite, [n_p])``: rows, total weight, whether ``X`` and ``Y`` are all finite,
    and the rows of the blocks its batches are drawn from (one block for a :class:`Shard`)."""
    if isinstance(shard, Stream):
        return shard.rows, shard.weight, shard.finite, list(shard.partition_rows)
    finite = bool(np.isfinite(shard.X).all()) and (
        shard.Y.dtype.kind not in "fc" or bool(np.isfinite(shard.Y).all())
    )
    return shard.rows, shard.weight, finite, [shard.rows]


def value_and_grad(
    shard: Shard | Stream, key: str, template: Sequential, loss: Loss, theta: np.ndarray
) -> np.ndarray:
    """The shard's *unnormalised* data loss and its gradient, as one vector ``(1 + P,)``.

    With the loss's weighted mean :math:`L_c = \\frac{1}{s_c}\\sum_{n \\in c} w_n \\ell_n` over
    a chunk :math:`c` of rows and :math:`s_c` its total weight:

    .. math:: \\Big[\\, \\sum_c s_c L_c, \\; \\sum_c s_c \\nabla_\\theta L_c \\,\\Big] =
              \\Big[\\, \\textstyle\\sum_{n} w_n \\ell_n, \\; \\sum_{n} w_n \\nabla_\\theta \\ell_n \\,\\Big]

    Sums of these over workers, divided by :math:`\\sum s`, are the full-batch loss and
    gradient exactly (up to the order of summation).
    """
    net, vector = shard.network(key, template)
    out = np.zeros(1 + vector.size)
    if shard.rows == 0:
        return out
    vector.set(theta)
    n_outputs = net.output_dim(shard.width)
    for X, T, w in shard.chunks(n_outputs):
        s = float(X.shape[0]) if w is None else float(np.sum(w, dtype=np.float64))
        if s == 0:
            continue
        value, grad = loss(net.forward(X, training=True), T, w)
        net.backward(grad, need_input_grad=False)
        out[0] += float(value) * s
        out[1:] += vector.flatten(net.grads) * s
    return out


def outputs_stats(
    shard: Shard | Stream, key: str, template: Sequential, theta: np.ndarray, kind: str
) -> np.ndarray:
    """Sums from which the client computes a validation score, without rows leaving.

    ``kind="accuracy"``: :math:`[\\sum_n w_n [\\hat c_n = c_n], \\sum_n w_n]` with
    :math:`\\hat c_n` the arg-max class (a positive logit for one output).
    ``kind="r2"``: :math:`[\\sum w(y-\\hat y)^2, \\sum w, \\sum w y, \\sum w y^2]` summed over
    outputs, for :math:`R^2 = 1 - \\mathrm{SSE} / (\\sum w y^2 - (\\sum w y)^2 / \\sum w)`.
    """
    net, vector = shard.network(key, template)
    vector.set(theta)
    n_outputs = net.output_dim(shard.width) if shard.rows else 1
    totals = np.zeros(2 if kind == "accuracy" else 4 * n_outputs)
    for X, T, w in shard.chunks(n_outputs):
        raw = np.asarray(net.predict(X), np.float64)
        weights = np.ones(X.shape[0]) if w is None else np.asarray(w, np.float64)
        if kind == "accuracy":
            guess = (raw[:, 0] > 0).astype(int) if raw.shape[1] == 1 else raw.argmax(1)
            truth = T[:, 0].astype(int) if T.ndim == 2 else T
            totals += [float(weights @ (guess == truth)), float(weights.sum())]
        else:
            y = np.asarray(T, np.float64).reshape(len(T), -1)
            for k in range(y.shape[1]):
                err = y[:, k] - raw[:, k]
                totals[4 * k : 4 * k + 4] += [
                    weights @ (err * err),
                    weights.sum(),
                    weights @ y[:, k],
                    weights @ y[:, k] ** 2,
                ]
    return totals


def add(*vectors: np.ndarray) -> np.ndarray:
    """One node of the tree reduction: :math:`\\sum_i v_i`, in the order given."""
    total = vectors[0].copy()
    for v in vectors[1:]:
        total += v
    return total


def local_steps(
    shard: Shard | Stream,
    key: str,
    template: Sequential,
    loss: Loss,
    optimizer: GradientTransformation,
    theta: np.ndarray,
    opt_state: Any,
    plan: tuple[int, int, int, int, bool],
    penalty: Callable[[Loss, Sequential], tuple[Loss, list[Callback]]] | None,
) -> tuple[np.ndarray, Any, float, int]:
    """``n_steps`` mini-batch steps of the lecture's loop on this shard, from ``theta``.

    ``plan = (seed, start, n_steps, batch_size, shuffle)``: the shard's batch order for the
    epoch is drawn from ``seed`` (the same for every round of the epoch, see
    :func:`round_rows`), and this round runs its batches ``start … start + n_steps - 1``. The
    steps are an ordinary :class:`~chainrule.training.trainer.Trainer` run (forward, loss,
    backward, optimizer update) over exactly those rows; ``penalty(loss, net)``, when given,
    returns the loss with a penalty and the callbacks that add its gradient (the estimators'
    scikit-learn L2).

    Returns
    -------
    theta : ndarray, shape (P,)
        The parameters after the steps.
    opt_state : pytree
        The optimizer state after the steps.
    loss_sum : float
        :math:`\\sum_b n_b J_b` over the batches taken (the epoch's mean loss numerator).
    rows : int
        Rows stepped on (0 when this shard has no batches left in the epoch).
    """
    batch_size = plan[3]
    net, vector = shard.network(key, template)
    state, loss_sum, stepped = opt_state, 0.0, 0
    for X, Y, w in round_rows(shard, plan):
        if stepped == 0:
            vector.set(theta)
        n_outputs = net.output_dim(shard.width)
        T = as_targets(Y, n_outputs, shard.dtype)
        if T.ndim == 1:  # codes: the Trainer's batches take one-hot rows for a softmax
            T = (T[:, None] == np.arange(n_outputs)).astype(shard.dtype)
        # Wrapped only with a penalty: the Trainer reads class indices for a bare CrossEntropy.
        objective, hooks = (loss, []) if penalty is None else penalty(loss, net)
        # A private copy: the Trainer may keep things on its optimizer, and after a lost worker
        # one worker runs the tasks of two shards with the same broadcast object.
        trainer = Trainer(net, objective, MiniBatch(copy.deepcopy(optimizer)))
        trainer.opt_state = copy.deepcopy(state)
        history = trainer.fit(
            X, T, epochs=1, batch_size=batch_size, shuffle=False, sample_weight=w, callbacks=hooks
        )
        state = trainer.opt_state
        losses = history.history.get("loss", [float("nan")])
        loss_sum += float(losses[-1]) * X.shape[0]
        stepped += int(X.shape[0])
    if stepped == 0:
        return theta, opt_state, 0.0, 0
    return vector.get(), state, loss_sum, stepped


def round_rows(shard: Shard | Stream, plan: tuple[int, int, int, int, bool]) -> Iterator[Piece]:
    """The rows of batches ``start … start + n_steps - 1`` of the epoch, in blocks.

    A :class:`Shard` is one block: its epoch order is a permutation of its :math:`n` rows
    drawn from ``seed``, batch :math:`b` its rows :math:`bB \\dots (b+1)B - 1`. A
    :class:`Stream` draws the order of its partitions from ``seed`` and, within partition
    :math:`p`, a permutation from ``(seed, p)``; each partition gives
    :math:`\\lceil n_p / B \\rceil` batches (its last one short), and only the partitions
    holding this round's batches are read, one at a time.
    """
    seed, start, n_steps, batch_size, shuffle = plan
    if isinstance(shard, Shard):
        n = shard.rows
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        rows = order[start * batch_size : (start + n_steps) * batch_size]
        if rows.size:
            yield shard.X[rows], shard.Y[rows], None if shard.w is None else shard.w[rows]
        return
    sizes = shard.partition_rows
    parts = np.random.default_rng(seed).permutation(len(sizes)) if shuffle else range(len(sizes))
    first = 0  # the epoch's index of the partition's first batch
    for p in parts:
        n = sizes[p]
        batches = -(-n // batch_size)
        lo, hi = max(start, first) - first, min(start + n_steps, first + batches) - first
        first += batches
        if lo >= hi:
            continue
        X, Y, w = shard.partition(int(p))
        order = np.random.default_rng([seed, int(p)]).permutation(n) if shuffle else np.arange(n)
        rows = order[lo * batch_size : hi * batch_size]
        yield X[rows], Y[rows], None if w is None else w[rows]
        del X, Y, w
