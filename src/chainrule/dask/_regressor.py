"""``DaskMLPRegressor``: :class:`~chainrule.MLPRegressor` trained on a Dask cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from chainrule.dask import _data
from chainrule.dask._estimator import DaskMLPMixin
from chainrule.estimators._base import BaseMLP
from chainrule.estimators._regressor import MLPRegressor
from chainrule.training.callbacks import Callback


class DaskMLPRegressor(DaskMLPMixin, MLPRegressor):
    """Multi-layer perceptron regressor trained where the partitions live (Dask).

    See :class:`~chainrule.dask.DaskMLPClassifier` for the two solvers; the objective is
    :class:`~chainrule.MLPRegressor`'s.

    Parameters
    ----------
    client : distributed.Client, optional
        Where to train; default: the current client (``distributed.get_client()``).
    sync_every : int, optional
        ``solver="adam"`` / ``"sgd"``: local mini-batch steps each partition takes between
        two averages of the parameters (:class:`~chainrule.dask._engine.DataParallel`);
        default: one pass over the partition (one average per epoch).
    others
        As in :class:`~chainrule.MLPRegressor` (``solver`` one of ``"lbfgs"``, ``"adam"``, ``"sgd"``;
        ``early_stopping``, ``warm_start``, ``class_weight`` and the ``sgd`` rate schedules are
        left to the local estimator).
    """

    _parameter_constraints: ClassVar[dict] = {
        **MLPRegressor._parameter_constraints,
        **DaskMLPMixin._dask_constraints,
    }

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Sequence[int] | int = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 0.0001,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-08,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float | Sequence[float] = 0.0,
        huber_delta: float = 1.0,
        weight_init: str = "auto",
        callbacks: list[Callback] | None = None,
        normalization: str | None = None,
        l1: float = 0.0,
        clip_grad_norm: float | None = None,
        warmup_epochs: int = 0,
        device: str = "cpu",
        client: Any = None,
        sync_every: int | None = None,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.huber_delta = huber_delta
        self.weight_init = weight_init
        self.callbacks = callbacks
        self.normalization = normalization
        self.l1 = l1
        self.clip_grad_norm = clip_grad_norm
        self.warmup_epochs = warmup_epochs
        self.device = device
        self.client = client
        self.sync_every = sync_every

    def _local_class(self) -> type[BaseMLP]:
        return MLPRegressor

    def _target_encoder(self, y: Any) -> Any:
        if not _data.is_dask(y) or getattr(y, "ndim", 1) not in (1, 2):
            raise TypeError("y must be a dask array or a dask Series of numbers.")
        outputs = 1 if y.ndim == 1 else int(y.shape[1])
        return _data.as_float_matrix, outputs

    def predict(self, X: Any) -> Any:
        """Predictions ``(N,)`` (or ``(N, K)``): lazy, block by block, for dask input."""
        width = None if self.n_outputs_ == 1 else self.n_outputs_
        return self._lazy("predict", X, width, np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """:math:`R^2 = 1 - \\sum (y - \\hat y)^2 / \\sum (y - \\bar y)^2`; lazy for dask input."""
        if not _data.is_dask(X):
            return self.to_local().score(X, y, sample_weight)
        target = self._lazy_target(y).astype(np.float64)
        residual = ((target - self.predict(X)) ** 2).sum()
        return 1.0 - residual / ((target - target.mean()) ** 2).sum()
