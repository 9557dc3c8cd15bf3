"""What runs on the Dask workers: per-partition encoding, value-and-gradient, local steps.

Every function here takes one partition's arrays (a *shard* ``(X_p, Y_p, w_p)``, already on
the worker that holds it) plus small things — the parameter vector :math:`\\theta`, a network
template, the loss — and returns small things: a vector of the size of :math:`\\theta`, a few
numbers. Nothing here returns rows, which is what keeps the rows on the workers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.network.containers import Sequential
from chainrule.network.losses import Loss
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback
from chainrule.training.solvers import MiniBatch, ParamVector
from chainrule.training.trainer import Trainer

Shard = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""One partition on its worker: ``X_p (n_p, d)`, ``Y_p (n_p, K)`` or ``(n_p,)``, ``w_p (n_p,)``."""


def shard_stats(shard: Shard) -> tuple[int, float, bool]:
    """``(n_p, s_p, finite)``: rows, total weight :math:`s_p = \\sum w` (``n_p`` unweighted),
    and whether ``X_p`` and ``Y_p`` hold only finite numbers."""
    X, Y, w = shard
    s = float(X.shape[0]) if w is None else float(np.sum(w))
    finite = bool(np.isfinite(X).all()) and (
        not np.issubdtype(Y.dtype, np.floating) or bool(np.isfinite(Y).all())
    )
    return int(X.shape[0]), s, finite


def _network(template: Sequential, theta: np.ndarray) -> tuple[Sequential, ParamVector]:
    # A copy per task: one worker may run tasks on the same template object in threads.
    net = copy.deepcopy(template)
    vector = ParamVector(net)
    vector.set(theta)
    return net, vector


def value_and_grad(template: Sequential, loss: Loss, theta: np.ndarray, shard: Shard) -> np.ndarray:
    """The partition's *unnormalised* data loss and its gradient, as one vector.

    With the loss's mean :math:`L_p = \\frac{1}{s_p}\\sum_{n \\in p} w_n \\ell_n` (``K`` outputs
    folded into :math:`\\ell_n` by the loss) and :math:`s_p` the partition's total weight:

    .. math:: [\\, s_p L_p, \\; s_p \\nabla_\\theta L_p \\,] = [\\, \\textstyle\\sum_{n \\in p}
              w_n \\ell_n, \\; \\sum_{n \\in p} w_n \\nabla_\\theta \\ell_n \\,]

    shape ``(1 + P,)``. Sums of these over partitions, divided by :math:`\\sum_p s_p`, are the
    full-batch loss and gradient exactly (up to the order of summation).
    """
    X, Y, w = shard
    if X.shape[0] == 0:
        return np.zeros(1 + ParamVector(template).size)
    net, vector = _network(template, theta)
    value, grad = loss(net.forward(X, training=True), Y, w)
    net.backward(grad, need_input_grad=False)
    s = float(X.shape[0]) if w is None else float(np.sum(w))
    return np.concatenate([[value * s], vector.flatten(net.grads) * s])


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One node of the tree reduction: :math:`a + b`."""
    return a + b


def local_steps(
    template: Sequential,
    loss: Loss,
    optimizer: GradientTransformation,
    theta: np.ndarray,
    opt_state: Any,
    shard: Shard,
    plan: tuple[int, int, int, int, bool],
    penalty: Callable[[Loss, Sequential], tuple[Loss, list[Callback]]] | None,
) -> tuple[np.ndarray, Any, float, int]:
    """``n_steps`` mini-batch steps of the lecture's loop on this partition, from ``theta``.

    ``plan = (seed, start, n_steps, batch_size, shuffle)``: the partition's batch order for
    the epoch is a permutation drawn from ``seed`` (the same for every round of the epoch),
    and this round runs its batches ``start … start + n_steps - 1``. The steps are an ordinary
    :class:`~chainrule.training.trainer.Trainer` run (forward, loss, backward, optimizer
    update) over exactly those rows; ``penalty(loss, net)``, when given, returns the loss with
    a penalty and the callbacks that add its gradient (the estimators' scikit-learn L2).

    Returns
    -------
    theta : ndarray, shape (P,)
        The parameters after the steps.
    opt_state : pytree
        The optimizer state after the steps.
    loss_sum : float
        :math:`\\sum_b n_b J_b` over the batches taken (the epoch's mean loss numerator).
    rows : int
        Rows stepped on (0 when this partition has no batches left in the epoch).
    """
    seed, start, n_steps, batch_size, shuffle = plan
    X, Y, w = shard
    n = X.shape[0]
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    rows = order[start * batch_size : (start + n_steps) * batch_size]
    if rows.size == 0:
        return theta, opt_state, 0.0, 0
    net, vector = _network(template, theta)
    # Wrapped only with a penalty: the Trainer reads class indices for a bare CrossEntropy.
    objective, hooks = (loss, []) if penalty is None else penalty(loss, net)
    trainer = Trainer(net, objective, MiniBatch(optimizer))
    trainer.opt_state = copy.deepcopy(opt_state)
    history = trainer.fit(
        X[rows],
        Y[rows],
        epochs=1,
        batch_size=batch_size,
        shuffle=False,
        sample_weight=None if w is None else w[rows],
        callbacks=hooks,
    )
    losses = history.history.get("loss", [float("nan")])
    return vector.get(), trainer.opt_state, float(losses[-1]) * rows.size, int(rows.size)
