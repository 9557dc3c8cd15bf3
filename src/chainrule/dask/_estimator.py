"""What :class:`DaskMLPClassifier` and :class:`DaskMLPRegressor` share: fit on the cluster.

The Dask estimators are the local ones plus ``client=`` and ``sync_every=`` (as LightGBM's
``DaskLGBMClassifier``): their constructor *is* the local one's (:func:`dask_init` adds the
two parameters to its signature, so a parameter added to ``MLPClassifier`` reaches
``DaskMLPClassifier`` with no change here), the same parameter validation, the same network
(:func:`~chainrule.estimators._base.build_network` with the same ``random_state``), the
same objective, and the same :class:`~chainrule.training.trainer.Trainer` — run by
:meth:`~chainrule.training.trainer.Trainer.fit_remote` with a solver whose gradients come from
the workers (:mod:`chainrule.dask._engine`). Prediction maps the fitted network over the
blocks lazily; :meth:`DaskMLPMixin.to_local` hands back the plain estimator. Pickling drops
the client (``client_`` finds the current one again), as ``lightgbm.dask`` does.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from collections.abc import Callable
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from chainrule.dask import _data
from chainrule.dask._engine import (
    DataParallel,
    NoImprovement,
    Shards,
    check_memory,
    distributed_objective,
    get_client,
    remote_score,
)
from chainrule.estimators._base import (
    BaseMLP,
    L2Penalized,
    layer_plan,
    random_source,
)
from chainrule.tabular.preprocessing import TablePreprocessor
from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.progress import ProgressBar
from chainrule.training.solvers import lbfgs
from chainrule.training.trainer import Trainer

DASK_SOLVERS = ("lbfgs", "adam", "sgd")
DASK_PARAMS = ("client", "sync_every")


def dask_init(local: type[BaseMLP]) -> Callable[..., None]:
    """The constructor of a Dask estimator: ``local``'s, plus ``client`` and ``sync_every``.

    The signature is ``local.__init__``'s with the two keyword-only parameters appended, so
    scikit-learn's ``get_params`` / ``clone`` see every parameter of the local estimator.
    """

    def __init__(self: Any, *args: Any, client: Any = None, sync_every: Any = None, **kw: Any):
        local.__init__(self, *args, **kw)
        self.client = client
        self.sync_every = sync_every

    base = inspect.signature(local.__init__)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Any)
        for name in DASK_PARAMS
    ]
    __init__.__signature__ = base.replace(parameters=[*base.parameters.values(), *extra])  # type: ignore[attr-defined]
    __init__.__doc__ = (
        f"The parameters of :class:`{local.__name__}`, plus ``client`` and ``sync_every``."
    )
    return __init__


def _encode_frame(pre: TablePreprocessor, dtype: str, part: Any) -> np.ndarray:
    return np.asarray(pre.transform(part), dtype=dtype)


class RemoteScore(Monitor):
    """Logs ``val_score`` (accuracy or :math:`R^2` of held-out rows, computed on the workers);
    higher is better, so the Trainer keeps the best score's weights."""

    def __init__(self, score: Callable[[], float]) -> None:
        super().__init__("val_score", "max", 0.0)
        self.score = score

    def measure(self, trainer: Trainer, logs: dict[str, float]) -> float:
        logs["val_score"] = value = self.score()
        return value


class DaskMLPMixin:
    """Fit on Dask collections, predict lazily, :meth:`to_local`, pickle without the client."""

    _dask_constraints: ClassVar[dict] = {
        "client": "no_validation",
        "sync_every": [Interval(Integral, 1, None, closed="left"), None],
    }
    _score_kind: ClassVar[str] = "accuracy"

    # -- what a subclass provides -----------------------------------------------------------
    def _local_class(self) -> type[BaseMLP]:
        raise NotImplementedError

    def _target_encoder(self, y: Any, warm: bool) -> tuple[Any, int, np.ndarray | None]:
        """Learn what ``y`` needs (classes, by Dask reductions): the block encoder, the
        number of outputs, and a class-weight table indexed by class code (or ``None``)."""
        raise NotImplementedError

    def _target_bytes(self, y: Any) -> int:
        """Bytes one row's encoded target takes on a worker (known before a pass over ``y``)."""
        raise NotImplementedError

    # -- the client -------------------------------------------------------------------------
    @property
    def client_(self) -> Any:
        """The Dask client this estimator trains and predicts with: ``client``, or the
        current one (``distributed.get_client()``). Available after :meth:`fit`."""
        check_is_fitted(self, "network_")
        return get_client(self.client)

    def __getstate__(self) -> dict[str, Any]:
        # A Client holds sockets: a pickled estimator (joblib, a Dask task) leaves it behind,
        # as lightgbm.dask does, and finds the current client again through client_.
        state = super().__getstate__()  # type: ignore[misc]
        state = dict(state)
        state["client"] = None
        return state

    # -- fitting ----------------------------------------------------------------------------
    def _check_dask_params(self) -> None:
        self._validate_params()  # type: ignore[attr-defined]
        if self.solver not in DASK_SOLVERS:
            raise ValueError(f"solver must be one of {DASK_SOLVERS} on Dask, got {self.solver!r}.")
        for name, ok in (
            ("learning_rate", self.learning_rate == "constant" or self.solver != "sgd"),
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

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        eval_set: list[tuple[Any, Any]] | None = None,
        eval_sample_weight: list[Any] | None = None,
    ) -> Any:
        """Fit on dask arrays or a dask DataFrame / Series; the rows stay on the workers.

        ``X`` is ``(N, d)`` (a dask array, or a DataFrame whose text columns are one-hot
        encoded with statistics from Dask reductions), ``y`` ``(N,)`` partitioned like
        ``X``, ``sample_weight`` ``(N,)`` likewise. ``eval_set=[(X_val, y_val)]`` (dask
        collections, as in ``lightgbm.dask``) is scored on the workers after every iteration
        (``validation_scores_``); with ``early_stopping=True`` training stops after
        ``n_iter_no_change`` iterations without a ``tol`` gain in that score and the best
        iteration's weights are restored (without ``eval_set``, ``validation_fraction`` of each
        partition is held out). A failed fit leaves the estimator as it was.
        """
        saved = self.__dict__.copy()
        try:
            self._fit_dask(X, y, sample_weight, eval_set, eval_sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _features(self, X: Any, warm: bool) -> tuple[Any, int, str]:
        """The block encoder of ``X``, its width, and the network's dtype."""
        if _data.is_frame(X):
            names = [str(c) for c in X.columns]
            if warm and list(getattr(self, "feature_names_in_", names)) != names:
                raise ValueError("warm_start needs the same columns as the previous fit.")
            if _data.numeric_columns(X) and not (warm and self.preprocessor_ is not None):
                self.preprocessor_ = None
                self.feature_names_in_ = np.asarray(names, dtype=object)
                dtype = "float32" if all(str(t) == "float32" for t in X.dtypes) else "float64"
                return functools.partial(_data.as_float_matrix, dtype=dtype), len(names), dtype
            # data-parallel solvers average the partitions' steps: say when a level lives in
            # one partition only (L-BFGS sums exact gradients, so it does not mind)
            pre = (
                self.preprocessor_
                if warm
                else _data.fit_preprocessor(X, names, warn_confined=self.solver != "lbfgs")
            )
            self.preprocessor_ = pre
            return functools.partial(_encode_frame, pre, "float64"), pre.n_features, "float64"
        if not _data.is_dask(X) or X.ndim != 2:
            raise TypeError(
                f"X must be a 2-D dask array or a dask DataFrame, got {type(X).__name__}; the "
                "local estimators take NumPy and pandas."
            )
        self.preprocessor_ = None
        dtype = "float32" if X.dtype == np.float32 else "float64"
        return functools.partial(_data.as_float_matrix, dtype=dtype), int(X.shape[1]), dtype

    def _fit_dask(
        self, X: Any, y: Any, sample_weight: Any, eval_set: Any, eval_sample_weight: Any
    ) -> None:
        client = get_client(self.client)
        self._check_dask_params()
        plan = layer_plan(self.hidden_layer_sizes, self.activation, self.dropout)
        hidden, _, dropout = plan
        if self.solver == "lbfgs" and any(dropout):
            raise ValueError("dropout makes the loss random, which L-BFGS cannot minimise.")
        warm = bool(self.warm_start) and hasattr(self, "network_")
        encode_x, n_features, dtype = self._features(X, warm)
        if warm and n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features but the fitted network takes "
                f"{self.n_features_in_}; fit a new model (warm_start=False)."
            )
        # Before any pass over the rows (even the one finding the classes): a fit that cannot
        # fit the workers' memory stops here, not after Dask has killed workers over and over.
        itemsize = np.dtype(dtype).itemsize
        weighted = sample_weight is not None or getattr(self, "class_weight", None) is not None
        row_bytes = n_features * itemsize + self._target_bytes(y) + itemsize * weighted
        rows = _data.row_count(X)
        stream = check_memory(
            client, rows, row_bytes, partition_rows=_data.largest_partition(X, rows)
        )
        encode_y, n_outputs, class_table = self._target_encoder(y, warm)
        pieces = self._pieces(X, y, sample_weight, encode_x, encode_y, class_table)
        if warm:
            rng = self._rng
            net = copy.deepcopy(self.network_)
        else:
            rng = random_source(self.random_state)  # the local estimators' (scikit-learn's) draws
            net = self._new_network(n_features, n_outputs, plan, rng)  # type: ignore[attr-defined]
            net.astype(dtype)
        validation, pieces = self._validation(
            eval_set, eval_sample_weight, pieces, encode_x, encode_y, rng
        )
        shards = Shards.compute(client, pieces, dtype, stream=stream)
        held = (
            None
            if validation is None
            else Shards.compute(client, validation, dtype, "X_val", stream=stream)
        )
        base = self._data_loss(n_outputs)  # type: ignore[attr-defined]
        callbacks: list[Callback] = [ProgressBar(epochs=self.max_iter)] if self.verbose else []
        callbacks += list(self.callbacks or ())
        trainer_setup = (held, warm)
        if self.solver == "lbfgs":
            record = self._fit_lbfgs_dask(net, base, shards, callbacks, trainer_setup)
        else:
            record = self._fit_parallel(net, base, shards, rng, callbacks, trainer_setup)
        for k, v in record.items():
            setattr(self, k, v)
        self.network_, self._rng, self.n_features_in_ = net, rng, n_features
        self.n_outputs_, self.n_layers_ = n_outputs, len(hidden) + 2
        self.out_activation_ = self._output_activation(n_outputs)  # type: ignore[attr-defined]
        self.n_partitions_, self.n_rows_ = shards.partitions, shards.n_rows
        self.n_shards_, self.streamed_ = len(shards.futures), shards.streamed

    def _pieces(
        self,
        X: Any,
        y: Any,
        w: Any,
        encode_x: Any,
        encode_y: Any,
        class_table: np.ndarray | None,
    ) -> list[Any]:
        pieces = _data.pieces(X, y, w, encode_x, encode_y)
        if class_table is None:
            return pieces
        return [_data.dask_apply(_data.weigh_classes, class_table, p) for p in pieces]

    def _validation(
        self,
        eval_set: Any,
        eval_sample_weight: Any,
        pieces: list[Any],
        encode_x: Any,
        encode_y: Any,
        rng: Any,
    ) -> tuple[list[Any] | None, list[Any]]:
        """Held-out pieces (``eval_set[0]``, or a seeded share of every partition when
        ``early_stopping`` has no eval_set) and the training pieces left."""
        if eval_set:
            if len(eval_set) != 1 or len(eval_set[0]) != 2:
                raise ValueError("eval_set must be [(X_val, y_val)]: one pair of dask collections.")
            (Xv, yv), wv = eval_set[0], (eval_sample_weight or [None])[0]
            return _data.pieces(Xv, yv, wv, encode_x, encode_y), pieces
        if not self.early_stopping:
            return None, pieces
        seeds = [_seed(rng) for _ in pieces]
        fraction = float(self.validation_fraction)
        held = [_data.dask_apply(_data.holdout, s, fraction, True, p) for s, p in zip(seeds, pieces, strict=True)]  # fmt: skip
        kept = [_data.dask_apply(_data.holdout, s, fraction, False, p) for s, p in zip(seeds, pieces, strict=True)]  # fmt: skip
        return held, kept

    def _watch(
        self, trainer: Trainer, held: Shards | None, callbacks: list[Callback]
    ) -> list[Callback]:
        """Score ``held`` every iteration; with early stopping, stop on its score."""
        if held is None:
            return callbacks
        trainer.monitor = RemoteScore(remote_score(held, trainer.network, self._score_kind))
        if self.early_stopping:
            return [NoImprovement(self.tol, self.n_iter_no_change, "val_score"), *callbacks]
        return callbacks

    def _fit_lbfgs_dask(
        self,
        net: Any,
        base: Any,
        shards: Shards,
        callbacks: list[Callback],
        setup: tuple[Shards | None, bool],
    ) -> dict[str, Any]:
        held, _ = setup  # a warm L-BFGS run starts a new loss curve, as the local one does
        objective = distributed_objective(shards, net, base, float(self.alpha))
        solver = lbfgs(max_fun=self.max_fun, tol=self.tol, objective=objective)
        trainer = Trainer(net, L2Penalized(base, net, float(self.alpha)), solver)
        trainer.fit_remote(epochs=self.max_iter, callbacks=self._watch(trainer, held, callbacks))
        self._check_finite(trainer)
        result = solver.result
        self._restore_best(trainer, held)
        if result.status not in (0, 99) and trainer.stop_reason != "converged":
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
        self,
        net: Any,
        base: Any,
        shards: Shards,
        rng: Any,
        callbacks: list[Callback],
        setup: tuple[Shards | None, bool],
    ) -> dict[str, Any]:
        held, warm = setup
        batch = min(200, min(shards.rows)) if self.batch_size == "auto" else int(self.batch_size)
        alpha = float(self.alpha)
        seed = _seed(rng)
        penalty = functools.partial(_penalized, alpha) if alpha else None
        solver = DataParallel(
            self._optimizer(), shards, base, penalty, batch, self.sync_every, seed, self.shuffle
        )
        trainer = Trainer(net, L2Penalized(base, net, alpha), solver)
        if warm:
            trainer.history = copy.deepcopy(self.history_)
        rules = [] if held is not None and self.early_stopping else [
            NoImprovement(self.tol, self.n_iter_no_change)
        ]  # fmt: skip
        trainer.fit_remote(
            epochs=self.max_iter, callbacks=[*rules, *self._watch(trainer, held, callbacks)]
        )
        self._check_finite(trainer)
        self._restore_best(trainer, held)
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

    def _restore_best(self, trainer: Trainer, held: Shards | None) -> None:
        if held is not None and self.early_stopping and trainer.best_params is not None:
            trainer.restore(trainer.best_params)

    def _check_finite(self, trainer: Trainer) -> None:
        if trainer.stop_reason == "non_finite":
            raise ValueError(
                "Training diverged: the loss became NaN or infinite. Standardize the features "
                "or lower learning_rate_init."
            )

    def _record(
        self, trainer: Trainer, n_iter: int, t: int, loss: float, losses: list[float]
    ) -> dict[str, Any]:
        scores = trainer.history.history.get("val_score")
        return {
            "history_": trainer.history,
            "_opt_state": None,
            "_opt_solver": self.solver,
            "n_iter_": n_iter,
            "t_": t,
            "loss_": float(loss),
            "loss_curve_": losses,
            "best_loss_": min(losses, default=float(loss)),
            "validation_scores_": None if scores is None else list(scores),
            "validation_loss_curve_": None,
            "best_validation_score_": None if scores is None else max(scores),
        }

    # -- the local estimator ----------------------------------------------------------------
    def to_local(self) -> BaseMLP:
        """The plain :class:`~chainrule.MLPClassifier` / ``MLPRegressor`` with the same weights.

        It takes NumPy (or the encoded features of a table: :attr:`preprocessor_`) and
        :func:`chainrule.save` writes it.
        """
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in DASK_PARAMS}  # type: ignore[attr-defined]
        local = self._local_class()(**params)
        if not hasattr(self, "network_"):
            return local
        for k, v in vars(self).items():
            if k not in params and k not in DASK_PARAMS and k != "preprocessor_":
                setattr(local, k, v)
        return local

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The local estimator's state (the client is not part of a model file)."""
        return self.to_local().state()

    # -- prediction -------------------------------------------------------------------------
    def _encoder(self) -> Callable[[Any], np.ndarray]:
        pre = getattr(self, "preprocessor_", None)
        if pre is None:  # numeric columns: the local estimator checks their names itself
            return _as_is
        return functools.partial(_encode_frame, pre, self.network_.dtype)

    def _lazy(self, method: str, X: Any, columns: list[Any] | None, dtype: Any) -> Any:
        """``local.method`` over the blocks of ``X``, lazily: a dask Series (``columns`` None)
        or DataFrame for a DataFrame (its divisions kept), a dask array for a dask array."""
        local = self.to_local()
        if _data.is_frame(X):
            import pandas as pd

            fn = functools.partial(_predict_frame, local, method, self._encoder(), columns)
            meta = (
                pd.Series([], dtype=dtype, name=method)
                if columns is None
                else pd.DataFrame({c: pd.Series([], dtype=dtype) for c in columns})
            )
            return X.map_partitions(fn, meta=meta)
        if not _data.is_dask(X):
            pre = getattr(self, "preprocessor_", None)
            matrix = pre.transform(X) if pre is not None and hasattr(X, "columns") else X
            return getattr(local, method)(matrix)
        M = X.rechunk({1: -1})
        fn = functools.partial(_call, local, method)
        if columns is None:
            return M.map_blocks(fn, drop_axis=1, dtype=dtype, chunks=(M.chunks[0],))
        return M.map_blocks(fn, dtype=dtype, chunks=(M.chunks[0], (len(columns),)))

    def _frame_score(self, X: Any, y: Any, sample_weight: Any) -> Any:
        """The score of a DataFrame ``X`` as a lazy dask scalar: per-partition sums
        (:func:`_score_sums`) reduced by Dask, no pass over the data until computed."""
        import pandas as pd

        joined = X.assign(**{_data.TARGET: y} if sample_weight is None else {_data.TARGET: y, _data.WEIGHT: sample_weight})  # fmt: skip
        names = ["a", "b", "c", "d"]
        fn = functools.partial(
            _score_sums, self.to_local(), self._encoder(), [str(c) for c in X.columns], self._score_kind
        )  # fmt: skip
        sums = joined.map_partitions(fn, meta=pd.DataFrame({k: pd.Series([], dtype=float) for k in names})).sum()  # fmt: skip
        if self._score_kind == "accuracy":
            score = sums["a"] / sums["b"]
        else:
            score = 1 - sums["a"] / (sums["d"] - sums["c"] * sums["c"] / sums["b"])
        import dask.array as da

        # A 0-d dask array, as for array input: float(score) or score.compute() runs it.
        return da.from_delayed(score.to_delayed(), shape=(), dtype=np.float64)

    def _lazy_target(self, y: Any) -> Any:
        if _data.is_frame(y) or hasattr(y, "to_dask_array"):
            return y.to_dask_array(lengths=True)
        return y


def _predict_frame(
    local: Any, method: str, encode: Callable[[Any], np.ndarray], columns: Any, part: Any
) -> Any:
    import pandas as pd

    out = getattr(local, method)(encode(part)) if len(part) else None
    if columns is None:
        values = (
            out if out is not None else np.zeros(0, getattr(local, "classes_", np.zeros(0)).dtype)
        )
        return pd.Series(values, index=part.index, name=method)
    values = out if out is not None else np.zeros((0, len(columns)))
    return pd.DataFrame(values, index=part.index, columns=columns)


def _score_sums(
    local: Any, encode: Callable[[Any], np.ndarray], columns: list[str], kind: str, part: Any
) -> Any:
    """One partition's sums: accuracy ``[Σ w·hit, Σ w]``; :math:`R^2` ``[Σ w(y-ŷ)², Σ w,
    Σ w y, Σ w y²]``."""
    import pandas as pd

    w = part[_data.WEIGHT].to_numpy(np.float64) if _data.WEIGHT in part else np.ones(len(part))
    sums = [0.0, float(w.sum()), 0.0, 0.0]
    if len(part):
        guess = local.predict(encode(part[columns]))
        truth = part[_data.TARGET].to_numpy()
        if kind == "accuracy":
            sums[0] = float(w @ (guess == truth))
        else:
            t = truth.astype(np.float64)
            sums = [float(w @ (t - guess) ** 2), float(w.sum()), float(w @ t), float(w @ t**2)]
    return pd.DataFrame([sums], columns=["a", "b", "c", "d"])


def _seed(rng: Any) -> int:
    """One integer seed from a Generator (``integers``) or a RandomState (``randint``)."""
    return int(rng.integers(2**31)) if hasattr(rng, "integers") else int(rng.randint(2**31))


def _as_is(part: Any) -> Any:
    return part


def _penalized(alpha: float, loss: Any, net: Any) -> tuple[Any, list[Callback]]:
    """scikit-learn's L2 penalty per batch, for the workers' local steps."""
    objective = L2Penalized(loss, net, alpha)
    return objective, [objective]  # the penalty adds its gradient as a callback


def _call(local: Any, method: str, block: np.ndarray) -> np.ndarray:
    return getattr(local, method)(block)
