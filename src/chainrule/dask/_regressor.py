"""``DaskMLPRegressor``: :class:`~chainrule.MLPRegressor` trained on a Dask cluster."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.dask import _data
from chainrule.dask._estimator import DaskMLPMixin, dask_init
from chainrule.estimators._base import BaseMLP
from chainrule.estimators._regressor import MLPRegressor


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
        ``early_stopping`` watches ``eval_set`` (see :meth:`fit`); the ``sgd`` rate schedules,
        ``normalization``, ``l1``, ``clip_grad_norm`` and ``warmup_epochs`` are left to the
        local estimator).
    """

    _parameter_constraints: ClassVar[dict] = {
        **MLPRegressor._parameter_constraints,
        **DaskMLPMixin._dask_constraints,
    }
    _score_kind: ClassVar[str] = "r2"
    __init__ = dask_init(MLPRegressor)

    def _local_class(self) -> type[BaseMLP]:
        return MLPRegressor

    def _target_encoder(self, y: Any, warm: bool) -> tuple[Any, int, np.ndarray | None]:
        if not _data.is_dask(y) or getattr(y, "ndim", 1) not in (1, 2):
            raise TypeError("y must be a dask array or a dask Series of numbers.")
        outputs = 1 if y.ndim == 1 else int(y.shape[1])
        if warm and outputs != self.n_outputs_:
            raise ValueError(
                f"y has {outputs} outputs but the fitted network has {self.n_outputs_}; fit a "
                "new model (warm_start=False) to change the number of outputs."
            )
        return _data.as_float_matrix, outputs, None

    def _target_bytes(self, y: Any) -> int:
        return 8 * (1 if getattr(y, "ndim", 1) == 1 else int(y.shape[1]))

    def predict(self, X: Any) -> Any:
        """Predictions ``(N,)`` (or ``(N, K)``): lazy, block by block, for dask input."""
        columns = None if self.n_outputs_ == 1 else list(range(self.n_outputs_))
        return self._lazy("predict", X, columns, np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """:math:`R^2 = 1 - \\sum (y - \\hat y)^2 / \\sum (y - \\bar y)^2`; lazy for dask input."""
        if not _data.is_dask(X):
            return self.to_local().score(X, y, sample_weight)
        if _data.is_frame(X):
            return self._frame_score(X, y, sample_weight)
        target = self._lazy_target(y).astype(np.float64)
        residual = ((target - self.predict(X)) ** 2).sum()
        return 1.0 - residual / ((target - target.mean()) ** 2).sum()
