"""What :class:`DaskMLPClassifier` and :class:`DaskMLPRegressor` share: fit on the cluster.

The Dask estimators are the local ones plus ``client=`` (as LightGBM's ``DaskLGBMClassifier``):
the same parameters, the same network (:func:`~chainrule.estimators._base.build_network`
with the same ``random_state``), the same objective, and the same
:class:`~chainrule.training.trainer.Trainer` — run by
:meth:`~chainrule.training.trainer.Trainer.fit_remote` with a solver whose gradients come from
the partitions (:mod:`chainrule.dask._engine`). Prediction maps the fitted network over the
blocks lazily; :meth:`DaskMLPMixin.to_local` hands back the plain estimator.
"""

from __future__ import annotations

import functools
import warnings
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from chainrule.dask import _data
from chainrule.dask._engine import (
    DataParallel,
    NoImprovement,
    Shards,
    distributed_objective,
    get_client,
)
from chainrule.estimators._base import (
    BaseMLP,
    L2Penalized,
    PenaltyGradient,
    build_network,
    dropout_rates,
    hidden_sizes,
    make_optimizer,
    random_source,
)
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.training.callbacks import Callback
from chainrule.training.progress import ProgressBar
from chainrule.training.solvers import lbfgs
from chainrule.training.trainer import Trainer

DASK_SOLVERS = ("lbfgs", "adam", "sgd")
_NOT_PARAMS = ("client", "sync_every")


def _encode_frame(pre: TablePreprocessor, part: Any) -> np.ndarray:
    return pre.transform(part)


class DaskMLPMixin:
    """Fit on Dask collections, predict lazily, and :meth:`to_local`."""

    _dask_constraints: ClassVar[dict] = {
        "client": "no_validation",
        "sync_every": [Interval(Integral, 1, None, closed="left"), None],
    }

    # -- what a subclass provides -----------------------------------------------------------
    def _local_class(self) -> type[BaseMLP]:
        raise NotImplementedError

    def _target_encoder(self, y: Any) -> Any:
        """Learn what ``y`` needs (classes, by Dask reductions) and return the block encoder."""
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------------------
    def _check_dask_params(self) -> None:
        self._validate_params()
        if self.solver not in DASK_SOLVERS:
            raise ValueError(f"solver must be one of {DASK_SOLVERS} on Dask, got {self.solver!r}.")
        for name, ok in (
            ("early_stopping", not self.early_stopping),
            ("warm_start", not self.warm_start),
            ("learning_rate", self.learning_rate == "constant" or self.solver != "sgd"),
            ("class_weight", getattr(self, "class_weight", None) is None),
            ("normalization", self.normalization is None),
            ("l1", not self.l1),
            ("clip_grad_norm", self.clip_grad_norm is None),
            ("warmup_epochs", not self.warmup_epochs),
            ("label_smoothing", not getattr(self, "label_smoothing", 0.0)),
            ("device", self.device == "cpu"),  # the workers compute with NumPy
        ):
            if not ok:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not supported by the Dask estimators; "
                    "use the local estimator (to_local()) or leave it at its default."
                )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit on dask arrays or a dask DataFrame / Series; the rows stay on the workers.

        ``X`` is ``(N, d)`` (a dask array, or a DataFrame whose text columns are one-hot
        encoded with statistics from Dask reductions), ``y`` ``(N,)`` partitioned like
        ``X``, ``sample_weight`` ``(N,)`` likewise. A failed fit leaves the estimator as it was.
        """
        saved = self.__dict__.copy()
        try:
            self._fit_dask(X, y, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _features(self, X: Any) -> Any:
        self.preprocessor_ = None
        if _data.is_frame(X):
            names = [str(c) for c in X.columns]
            if _data.numeric_columns(X):
                self.feature_names_in_ = np.asarray(names, dtype=object)
                return _data.as_float_matrix, len(names)
            pre = _data.fit_preprocessor(X, names)
            self.preprocessor_ = pre
            return functools.partial(_encode_frame, pre), pre.n_features
        if not _data.is_dask(X) or X.ndim != 2:
            raise TypeError(
                f"X must be a 2-D dask array or a dask DataFrame, got {type(X).__name__}; the "
                "local estimators take NumPy and pandas."
            )
        return _data.as_float_matrix, int(X.shape[1])

    def _fit_dask(self, X: Any, y: Any, sample_weight: Any) -> None:
        client = get_client(self.client)
        self._check_dask_params()
        hidden = hidden_sizes(self)
        dropout = dropout_rates(self, len(hidden))
        if self.solver == "lbfgs" and any(dropout):
            raise ValueError("dropout makes the loss random, which L-BFGS cannot minimise.")
        encode_x, n_features = self._features(X)
        encode_y, n_outputs = self._target_encoder(y)
        shards = Shards.compute(client, _data.pieces(X, y, sample_weight, encode_x, encode_y))
        rng = random_source(self.random_state)  # the local estimators' (scikit-learn's) draws
        net = build_network(self, n_features, hidden, n_outputs, dropout, rng)
        base = self._data_loss(n_outputs)
        callbacks: list[Callback] = [ProgressBar(epochs=self.max_iter)] if self.verbose else []
        callbacks += list(self.callbacks or ())
        if self.solver == "lbfgs":
            record = self._fit_lbfgs_dask(net, base, shards, callbacks)
        else:
            record = self._fit_parallel(net, base, shards, rng, callbacks)
        for k, v in record.items():
            setattr(self, k, v)
        self.network_, self._rng, self.n_features_in_ = net, rng, n_features
        self.n_outputs_, self.n_layers_ = n_outputs, len(hidden) + 2
        self.out_activation_ = self._output_activation(n_outputs)
        self.n_partitions_, self.n_rows_ = len(shards.rows), shards.n_rows

    def _fit_lbfgs_dask(
        self, net: Any, base: Any, shards: Shards, callbacks: list[Callback]
    ) -> dict[str, Any]:
        objective = distributed_objective(shards, net, base, float(self.alpha))
        solver = lbfgs(max_fun=self.max_fun, tol=self.tol, objective=objective)
        trainer = Trainer(net, L2Penalized(base, net, float(self.alpha)), solver)
        trainer.fit_remote(epochs=self.max_iter, callbacks=callbacks)
        self._check_finite(trainer)
        result = solver.result
        if result.status not in (0, 99):
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}). Increase max_iter or max_fun, or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        losses = list(trainer.history.history.get("loss", []))
        self.evaluations_ = objective.stats["evaluations"]
        return self._record(trainer, int(result.nit), 0, float(result.fun), losses)

    def _fit_parallel(
        self, net: Any, base: Any, shards: Shards, rng: Any, callbacks: list[Callback]
    ) -> dict[str, Any]:
        batch = min(200, min(shards.rows)) if self.batch_size == "auto" else int(self.batch_size)
        alpha = float(self.alpha)
        # a Generator's draw as before; a RandomState (an integer random_state) draws one too
        seed = int(rng.integers(2**31)) if hasattr(rng, "integers") else int(rng.randint(2**31))
        penalty = functools.partial(_penalized, alpha) if alpha else None
        solver = DataParallel(
            make_optimizer(self), shards, base, penalty, batch, self.sync_every, seed, self.shuffle
        )
        trainer = Trainer(net, L2Penalized(base, net, alpha), solver)
        rule = NoImprovement(self.tol, self.n_iter_no_change)
        trainer.fit_remote(epochs=self.max_iter, callbacks=[rule, *callbacks])
        self._check_finite(trainer)
        losses = list(trainer.history.history.get("loss", []))
        if trainer.stop_reason is None:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self.rounds_ = solver.rounds
        record = self._record(trainer, len(losses), len(losses) * shards.n_rows, losses[-1], losses)
        record["_opt_state"] = trainer.opt_state
        return record

    def _check_finite(self, trainer: Trainer) -> None:
        if trainer.stop_reason == "non_finite":
            raise ValueError(
                "Training diverged: the loss became NaN or infinite. Standardize the features "
                "or lower learning_rate_init."
            )

    def _record(
        self, trainer: Trainer, n_iter: int, t: int, loss: float, losses: list[float]
    ) -> dict[str, Any]:
        return {
            "history_": trainer.history,
            "_opt_state": None,
            "_opt_solver": self.solver,
            "n_iter_": n_iter,
            "t_": t,
            "loss_": float(loss),
            "loss_curve_": losses,
            "best_loss_": min(losses, default=float(loss)),
            "validation_scores_": None,
            "validation_loss_curve_": None,
            "best_validation_score_": None,
        }

    # -- the local estimator ----------------------------------------------------------------
    def to_local(self) -> BaseMLP:
        """The plain :class:`~chainrule.MLPClassifier` / ``MLPRegressor`` with the same weights.

        It takes NumPy (or the encoded features of a table: :attr:`preprocessor_`) and
        :func:`chainrule.save` writes it.
        """
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in _NOT_PARAMS}
        local = self._local_class()(**params)
        if not hasattr(self, "network_"):
            return local
        for k, v in vars(self).items():
            if k not in params and k not in _NOT_PARAMS and k != "preprocessor_":
                setattr(local, k, v)
        return local

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The local estimator's state (the client is not part of a model file)."""
        return self.to_local().state()

    # -- prediction -------------------------------------------------------------------------
    def _matrix(self, X: Any) -> Any:
        """``X`` as what the network takes: a dask array for dask input, else NumPy."""
        pre = getattr(self, "preprocessor_", None)
        if _data.is_frame(X):
            import dask.array as da

            encode = _data.as_float_matrix if pre is None else functools.partial(_encode_frame, pre)
            lengths = X.map_partitions(len).compute()
            width = self.n_features_in_
            return da.concatenate(
                [
                    da.from_delayed(b, shape=(int(n), width), dtype=np.float64)
                    for b, n in zip(_data.frame_blocks(X, encode), lengths, strict=True)
                ]
            )
        if _data.is_dask(X):
            return X.rechunk({1: -1})
        if pre is not None and hasattr(X, "columns"):
            return pre.transform(X)
        return X

    def _lazy(self, method: str, X: Any, width: int | None, dtype: Any) -> Any:
        local = self.to_local()
        M = self._matrix(X)
        if not _data.is_dask(M):
            return getattr(local, method)(M)
        fn = functools.partial(_call, local, method)
        if width is None:
            return M.map_blocks(fn, drop_axis=1, dtype=dtype, chunks=(M.chunks[0],))
        return M.map_blocks(fn, dtype=dtype, chunks=(M.chunks[0], (width,)))

    def _lazy_target(self, y: Any) -> Any:
        if _data.is_frame(y) or hasattr(y, "to_dask_array"):
            return y.to_dask_array(lengths=True)
        return y


def _penalized(alpha: float, loss: Any, net: Any) -> tuple[Any, list[Callback]]:
    """scikit-learn's L2 penalty per batch, for the workers' local steps."""
    objective = L2Penalized(loss, net, alpha)
    return objective, [PenaltyGradient(objective)]


def _call(local: Any, method: str, block: np.ndarray) -> np.ndarray:
    return getattr(local, method)(block)
