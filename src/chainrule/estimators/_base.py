"""What :class:`MLPClassifier` and :class:`MLPRegressor` share: checks, the network, the solvers.

The estimators are a thin adapter: they validate input the way scikit-learn does, build a
:class:`~chainrule.layers.Sequential`, and hand the epochs to
:class:`~chainrule.training.Trainer` (stochastic solvers) or the network's own forward and
backward passes to :func:`scipy.optimize.minimize` (``solver="lbfgs"``). scikit-learn's rules
that make results comparable — the L2 penalty scaled by the batch, ``batch_size="auto"``,
the ``tol`` / ``n_iter_no_change`` stopping rule, ``adaptive`` and ``invscaling`` learning
rates, ``t_`` counting samples — live in :class:`_EpochBookkeeping`, a callback.
"""

from __future__ import annotations

import copy
import math
import sys
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from chainrule.backend import to_numpy
from chainrule.estimators._checks import check_weights, optimizer_state_for
from chainrule.estimators._objective import L2Penalized, PenaltyGradient, add_penalty_gradient
from chainrule.network import initializers
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import ACTIVATIONS
from chainrule.network.containers import Sequential, StateError
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import Loss
from chainrule.training.callbacks import Callback
from chainrule.training.history import History
from chainrule.training.progress import ProgressBar
from chainrule.training.protocol import TrainedModel
from chainrule.training.trainer import Trainer

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop")

HIDDEN_ACTIVATIONS: dict[str, type[Layer]] = {
    name: ACTIVATIONS[name]
    for name in ("identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu")
}
"""scikit-learn's four hidden activations by their scikit-learn names, and three more."""


def _generator(random_state: Any) -> np.random.Generator | np.random.RandomState:
    """``random_state`` as a random source: an int seeds a fresh Generator, None draws entropy."""
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        return random_state
    return np.random.default_rng(None if random_state is None else int(random_state))


def _seed_from(rng: np.random.Generator | np.random.RandomState) -> int:
    """An integer seed drawn from ``rng``, for helpers that want one (``train_test_split``)."""
    return int(rng.integers(2**31 - 1) if hasattr(rng, "integers") else rng.randint(2**31 - 1))


class BaseMLP(BaseEstimator):
    """Base class; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", *STOCHASTIC_SOLVERS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "weight_init": [StrOptions({"auto", *initializers.INITIALIZERS})],
        "callbacks": [list, tuple, None],
    }

    # -- what a subclass provides ---------------------------------------------------------------
    def _encode_targets(
        self, y: np.ndarray, sample_weight: np.ndarray | None, incremental: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Targets as the network's ``(N, K)`` float array; sample weights (class weights in)."""
        raise NotImplementedError

    def _data_loss(self, n_outputs: int) -> Loss:
        """The loss on the network's raw output (before the penalty)."""
        raise NotImplementedError

    def _output_activation(self, n_outputs: int) -> str:
        """scikit-learn's name for the output's link (``out_activation_``)."""
        raise NotImplementedError

    def _score_raw(self, raw: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        """The validation score (accuracy or R²) from raw outputs and encoded targets."""
        raise NotImplementedError

    # -- fitted attributes that read the network ------------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape ``(units_i, units_{i+1})`` (the arrays trained)."""
        check_is_fitted(self, "network_")
        return [layer.params["W"] for layer in self.network_ if isinstance(layer, Dense)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape ``(units_{i+1},)``."""
        check_is_fitted(self, "network_")
        return [layer.params["b"] for layer in self.network_ if isinstance(layer, Dense)]

    # -- fitting --------------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        # A failed fit must leave a fitted estimator as it was. Validation sets attributes as
        # it goes (n_features_in_, classes_), and training works on copies that are only
        # attached at the end, so restoring the attribute dict undoes everything.
        saved = self.__dict__.copy()
        try:
            self._fit_unguarded(X, y, sample_weight, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
        if any(int(s) <= 0 for s in sizes) or any(int(s) != s for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
        return [int(s) for s in sizes]

    def _dropout_rates(self, n_hidden: int) -> list[float]:
        rates = self.dropout
        if isinstance(rates, Real):
            return [float(rates)] * n_hidden
        rates = [float(r) for r in rates]
        if len(rates) != n_hidden or not all(0.0 <= r < 1.0 for r in rates):
            raise ValueError(
                f"dropout must be one rate in [0, 1) or one per hidden layer ({n_hidden}), "
                f"got {self.dropout!r}."
            )
        return rates

    def _fit_unguarded(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> None:
        self._validate_params()
        hidden = self._hidden_sizes()
        dropout = self._dropout_rates(len(hidden))
        if self.solver == "lbfgs" and any(dropout):
            raise ValueError(
                "dropout makes the loss random, which L-BFGS cannot minimise; use "
                "solver='adam' or 'sgd', or set dropout=0."
            )
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)

        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=is_regressor(self),
            dtype=(np.float64, np.float32),
            reset=first_pass,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        Y, sample_weight = self._encode_targets(y, sample_weight, incremental)
        check_weights(sample_weight, X.shape[0])  # finite, >= 0, not all zero: _checks.py
        if sp.issparse(X):  # the engine computes on dense arrays
            X = X.toarray()
        Y = np.ascontiguousarray(Y, dtype=X.dtype)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        n_outputs = Y.shape[1]

        if first_pass:
            rng = _generator(self.random_state)
            net = self._build_network(X.shape[1], hidden, n_outputs, dropout, rng)
        else:
            rng = self._rng
            if self.network_.output_dim(X.shape[1]) != n_outputs:
                raise ValueError(
                    f"y has {n_outputs} outputs but the fitted network has "
                    f"{self.network_.output_dim(X.shape[1])}; fit a new model (warm_start=False) "
                    "to change the number of outputs."
                )
            net = copy.deepcopy(self.network_)

        if self.solver == "lbfgs":
            record = self._fit_lbfgs(net, X, Y, sample_weight, first_pass)
        else:
            record = self._fit_stochastic(net, X, Y, sample_weight, rng, first_pass, incremental)

        for k, v in record.items():
            setattr(self, k, v)
        self.network_ = net
        self._rng = rng
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = self._output_activation(n_outputs)

    def _build_network(
        self, n_in: int, hidden: list[int], n_out: int, dropout: list[float], rng: Any
    ) -> Sequential:
        sizes = [n_in, *hidden, n_out]
        layers: list[Layer] = []
        sklearn_init = self.weight_init == "auto"
        for i in range(len(sizes) - 1):
            fan_in, fan_out = sizes[i], sizes[i + 1]
            init = "zeros" if sklearn_init else self.weight_init
            dense = Dense(fan_in, fan_out, weight_init=init, rng=rng)
            if sklearn_init:
                # scikit-learn's Glorot uniform, biases included: U(-a, a) with
                # a = √(6 / (fan_in + fan_out)), or √(2 / …) for logistic units.
                factor = 2.0 if self.activation == "logistic" else 6.0
                bound = math.sqrt(factor / (fan_in + fan_out))
                dense.params["W"][...] = rng.uniform(-bound, bound, (fan_in, fan_out))
                dense.params["b"][...] = rng.uniform(-bound, bound, fan_out)
            layers.append(dense)
            if i < len(hidden):
                layers.append(HIDDEN_ACTIVATIONS[self.activation]())
                if dropout[i] > 0:
                    layers.append(Dropout(dropout[i], rng=rng))
        return Sequential(layers)

    def _optimizer(self) -> optimizers_module.GradientTransformation:
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            # scikit-learn's velocity holds the rate, v ← μ v − η g, so a rate changed by
            # invscaling / adaptive applies to new gradients only: scale first, then momentum.
            step = optimizers_module.scale_by_learning_rate(lr)
            if not self.momentum:
                return optimizers_module.chain(step)
            nesterov = bool(self.nesterovs_momentum)
            return optimizers_module.chain(
                step, optimizers_module.trace(float(self.momentum), nesterov)
            )
        if self.solver == "adam":
            return optimizers_module.adam(lr, self.beta_1, self.beta_2, self.epsilon)
        if self.solver == "adamw":
            return optimizers_module.adamw(
                lr, self.beta_1, self.beta_2, self.epsilon, weight_decay=float(self.alpha)
            )
        return optimizers_module.rmsprop(lr, eps=self.epsilon)

    def _fit_stochastic(
        self,
        net: Sequential,
        X: np.ndarray,
        Y: np.ndarray,
        sample_weight: np.ndarray | None,
        rng: Any,
        first_pass: bool,
        incremental: bool,
    ) -> dict[str, Any]:
        validation = None
        if self.early_stopping:
            stratify = Y.argmax(1) if self._stratify() else None
            arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
            parts = train_test_split(
                *arrays,
                random_state=_seed_from(rng),
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X, Y = parts[0], parts[2]
            validation = (parts[1], parts[3], None if sample_weight is None else parts[5])
            sample_weight = None if sample_weight is None else parts[4]
            if validation[0].shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
        n_train = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_train)
        else:
            if self.batch_size > n_train:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to "
                    "be clipped",
                    stacklevel=4,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_train))

        base = self._data_loss(Y.shape[1])
        # AdamW's decay is decoupled (in the optimizer), so the loss carries no penalty then.
        alpha = 0.0 if self.solver == "adamw" else float(self.alpha)
        objective = L2Penalized(base, net, alpha)
        trainer = Trainer(net, objective, self._optimizer())
        continuing = not first_pass
        if continuing:
            trainer.history = copy.deepcopy(self.history_)
        state = optimizer_state_for(self) if incremental and continuing else None  # _checks.py
        restored = state is not None
        if restored:
            trainer.opt_state = state
        book = _EpochBookkeeping(self, base, n_train, validation, continuing, restored)
        callbacks: list[Callback] = [PenaltyGradient(objective), book]
        if self.verbose:
            callbacks.append(ProgressBar(epochs=None if incremental else self.max_iter))
        callbacks += list(self.callbacks or ())
        epochs = 1 if incremental else self.max_iter
        trainer.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=self.shuffle,
            rng=rng,
            sample_weight=sample_weight,
            callbacks=callbacks,
        )
        if trainer.stop_reason == "non_finite" or not _finite(net):
            raise ValueError(
                "Training diverged: the loss became NaN or infinite. Standardize the features "
                "(e.g. with StandardScaler) or lower learning_rate_init."
            )
        if trainer.stop_reason == "interrupted":
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if book.best_params is not None:
            net.set_params(book.best_params)  # early stopping keeps the best validation score
        if not incremental and trainer.stop_reason is None and book.n_iter == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return {
            "history_": trainer.history,
            "_opt_state": trainer.opt_state,
            "_opt_solver": self.solver,
            "_learning_rate": book.learning_rate,
            "_no_improvement_count": book.no_improvement_count,
            "n_iter_": book.n_iter,
            "t_": book.t,
            "loss_": book.loss_curve[-1],
            "loss_curve_": book.loss_curve,
            "best_loss_": book.best_loss,
            "validation_scores_": book.validation_scores,
            "validation_loss_curve_": book.validation_loss_curve,
            "best_validation_score_": book.best_validation_score,
        }

    def _stratify(self) -> bool:
        return False

    def _fit_lbfgs(
        self,
        net: Sequential,
        X: np.ndarray,
        Y: np.ndarray,
        sample_weight: np.ndarray | None,
        first_pass: bool,
    ) -> dict[str, Any]:
        """Minimise the full-batch objective with L-BFGS-B over the flattened parameters.

        The objective and its gradient come from the network's own forward and backward
        passes, exactly those the stochastic solvers use.
        """
        dtype = X.dtype.name
        net.astype(dtype)
        shapes = {k: tuple(v.shape) for k, v in net.params.items()}
        bounds, start = {}, 0
        for k, shape in shapes.items():
            size = int(np.prod(shape))
            bounds[k] = (start, start + size)
            start += size
        objective = L2Penalized(self._data_loss(Y.shape[1]), net, float(self.alpha))

        def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            net.set_params({k: theta[a:b].reshape(shapes[k]) for k, (a, b) in bounds.items()})
            value, grad = objective(net.forward(X, training=True), Y, sample_weight)
            net.backward(grad, need_input_grad=False)
            grads = net.grads
            add_penalty_gradient(objective, grads)
            return value, np.concatenate([grads[k].ravel() for k in shapes]).astype(np.float64)

        theta0 = np.concatenate([np.asarray(v, np.float64).ravel() for v in net.params.values()])
        losses: list[float] = []

        def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            losses.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}", file=sys.stderr)

        result = scipy.optimize.minimize(
            value_and_grad,
            theta0,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        net.set_params({k: result.x[a:b].reshape(shapes[k]) for k, (a, b) in bounds.items()})
        if not math.isfinite(result.fun) or not _finite(net):
            raise ValueError(
                "Training diverged: the loss became NaN or infinite. Standardize the features "
                "(e.g. with StandardScaler)."
            )
        if result.status != 0:
            message = (
                result.message.decode() if isinstance(result.message, bytes) else result.message
            )
            warnings.warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) "
                f"(status={result.status}): {message}. Increase the number of iterations "
                "(max_iter) or the number of function evaluations (max_fun), or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        history = History()
        for i, value in enumerate(losses):
            history.append(i, {"loss": value})
        return {
            "history_": history,
            "_opt_state": None,
            "n_iter_": int(result.nit),
            "t_": 0,
            "loss_": float(result.fun),
            "loss_curve_": losses,
            "best_loss_": min(losses, default=float(result.fun)),
            "validation_scores_": None,
            "validation_loss_curve_": None,
            "best_validation_score_": None,
        }

    # -- inference ------------------------------------------------------------------------------
    def _raw_output(self, X: Any) -> np.ndarray:
        """The network's output before the link, shape ``(N, K)``, after validating ``X``."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        net = self.network_
        if sp.issparse(X):
            X = X.toarray()
        return net.predict(np.asarray(X, dtype=net.dtype))

    # -- chainrule model files (safetensors + JSON, no pickle) ---------------------------------
    _FITTED_NUMBERS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_")
    _FITTED_LISTS = ("loss_curve_", "validation_scores_", "validation_loss_curve_")

    def _json_params(self) -> dict[str, Any]:
        params = {}
        for key, value in self.get_params(deep=False).items():
            if key == "callbacks":
                continue  # code, not data: callbacks are not saved
            if key == "random_state" and not isinstance(value, Integral | None):
                value = None  # a generator's state is not saved
            if isinstance(value, tuple | list | np.ndarray):
                value = [v.item() if isinstance(v, np.generic) else v for v in value]
            params[key] = value.item() if isinstance(value, np.generic) else value
        return params

    def trained_model(self) -> TrainedModel:
        """The network, loss, history and classes (see :mod:`chainrule.training.protocol`)."""
        check_is_fitted(self, "network_")
        return TrainedModel(
            self.network_, self._data_loss(self.n_outputs_), self.history_, None, self._classes()
        )

    def _classes(self) -> list[Any] | None:
        """Class labels in output order for single-label classifiers, else None."""
        return None

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (the network's weights) and JSON (everything else), for :func:`chainrule.save`."""
        check_is_fitted(self, "network_")
        tensors, network = self.network_.state()
        names = getattr(self, "feature_names_in_", None)
        fitted: dict[str, Any] = {
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": None if names is None else [str(n) for n in names],
            "n_outputs_": int(self.n_outputs_),
            "n_layers_": int(self.n_layers_),
            "out_activation_": self.out_activation_,
            "learning_rate": float(getattr(self, "_learning_rate", self.learning_rate_init)),
            "no_improvement_count": int(getattr(self, "_no_improvement_count", 0)),
        }
        for key in self._FITTED_NUMBERS:
            value = getattr(self, key)
            fitted[key] = None if value is None else float(value)
        for key in self._FITTED_LISTS:
            value = getattr(self, key)
            fitted[key] = None if value is None else [float(v) for v in value]
        meta = {
            "params": self._json_params(),
            "network": network,
            "fitted": fitted,
            "history": self.history_.to_dict(),
            **self._targets_state(),
        }
        return tensors, meta

    def _targets_state(self) -> dict[str, Any]:
        return {}

    def _restore_targets(self, meta: dict[str, Any]) -> None:
        pass

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> BaseMLP:
        """Rebuild a fitted estimator from :meth:`state`'s output."""
        params = dict(meta["params"])
        for key in ("hidden_layer_sizes", "dropout"):  # JSON has lists only; sklearn uses tuples
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        est = cls(**params)
        net = Sequential.from_state(tensors, meta["network"])
        fitted = meta["fitted"]
        n_in, n_out = int(fitted["n_features_in_"]), int(fitted["n_outputs_"])
        if net.in_features != n_in or net.output_dim(n_in) != n_out:
            raise StateError(
                f"has a network that maps {net.in_features} inputs to {net.output_dim(n_in)} outputs, "
                f"but the estimator expects {n_in} features and {n_out} outputs"
            )
        est.network_ = net
        est.n_features_in_ = n_in
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        est.n_outputs_, est.n_layers_ = n_out, int(fitted["n_layers_"])
        est.out_activation_ = str(fitted["out_activation_"])
        for key in cls._FITTED_NUMBERS:
            value = fitted.get(key)
            setattr(est, key, None if value is None else float(value))
        est.n_iter_, est.t_ = int(est.n_iter_), int(est.t_)
        for key in cls._FITTED_LISTS:
            value = fitted.get(key)
            setattr(est, key, None if value is None else [float(v) for v in value])
        est.history_ = History.from_dict(meta["history"])
        est._learning_rate = float(fitted.get("learning_rate", est.learning_rate_init))
        est._no_improvement_count = int(fitted.get("no_improvement_count", 0))
        est._opt_state = None  # optimizer moments are not saved: partial_fit restarts them
        est._rng = _generator(est.random_state)
        est._restore_targets(meta)
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _finite(net: Sequential) -> bool:
    return all(bool(np.isfinite(to_numpy(v)).all()) for v in net.params.values())


class _EpochBookkeeping(Callback):
    """scikit-learn's end-of-epoch rules, run by the Trainer after every epoch.

    Records ``loss_curve_`` (the epoch's mean penalised loss), ``t_`` (samples seen) and, with
    early stopping, the validation loss and score; then applies scikit-learn's stopping rule:
    an epoch counts as *no improvement* when the training loss is above ``best_loss_ - tol``
    (or the validation score below ``best_validation_score_ + tol``), and after more than
    ``n_iter_no_change`` such epochs in a row training stops — except with ``solver="sgd"``
    and ``learning_rate="adaptive"``, where the rate is divided by 5 instead (until it is
    below 1e-6). ``invscaling`` sets :math:`\\eta = \\eta_0 / (t + 1)^{p}` after each epoch.
    """

    def __init__(
        self,
        est: BaseMLP,
        data_loss: Loss,
        n_train: int,
        validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None,
        continuing: bool,
        restored_state: bool,
    ) -> None:
        self.est, self.data_loss, self.n_train, self.validation = (
            est,
            data_loss,
            n_train,
            validation,
        )
        self.n_iter = 0
        self.best_params: dict[str, np.ndarray] | None = None
        # The rate the optimizer state runs at: a fresh state starts at learning_rate_init
        # (as scikit-learn's warm start does); partial_fit's restored state keeps its own.
        self.learning_rate = float(est.learning_rate_init)
        if restored_state:
            self.learning_rate = getattr(est, "_learning_rate", self.learning_rate)
        if continuing:
            self.t = est.t_
            self.loss_curve = list(est.loss_curve_)
            self.best_loss = est.best_loss_
            self.no_improvement_count = getattr(est, "_no_improvement_count", 0)
            scores = est.validation_scores_
            self.validation_scores = None if scores is None else list(scores)
            losses = est.validation_loss_curve_
            self.validation_loss_curve = None if losses is None else list(losses)
            self.best_validation_score = est.best_validation_score_
        else:
            self.t, self.loss_curve, self.no_improvement_count = 0, [], 0
            self.best_loss = math.inf
            self.validation_scores = self.validation_loss_curve = None
            self.best_validation_score = None
        if validation is not None:
            self.best_loss = None
            if self.validation_scores is None:
                self.validation_scores, self.validation_loss_curve = [], []
                self.best_validation_score = -math.inf

    def _set_rate(self, trainer: Trainer, rate: float) -> None:
        """Rescale the optimizer's rate from :attr:`learning_rate` to ``rate``."""
        if rate != self.learning_rate:
            factor = rate / self.learning_rate
            trainer.opt_state = optimizers_module.scale_learning_rate(trainer.opt_state, factor)
            self.learning_rate = rate

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        est = self.est
        self.n_iter += 1
        self.t += self.n_train
        loss = logs["loss"]
        self.loss_curve.append(loss)
        if self.validation is not None:
            Xv, Yv, wv = self.validation
            raw = trainer.network.predict(Xv)
            val_loss = self.data_loss(raw, Yv, wv)[0]
            score = est._score_raw(raw, Yv, wv)
            self.validation_loss_curve.append(val_loss)
            self.validation_scores.append(score)
            history = trainer.history.history
            history.setdefault("val_loss", []).append(val_loss)
            history.setdefault("val_score", []).append(score)
            logs["val_loss"], logs["val_score"] = val_loss, score  # for the progress bar
            if score < self.best_validation_score + est.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self.best_params = {k: v.copy() for k, v in trainer.network.params.items()}
        else:
            if loss > self.best_loss - est.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            self.best_loss = min(self.best_loss, loss)

        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            self._set_rate(trainer, est.learning_rate_init / (self.t + 1) ** est.power_t)
        if self.no_improvement_count > est.n_iter_no_change:
            if sgd and est.learning_rate == "adaptive" and self.learning_rate > 1e-6:
                self._set_rate(trainer, self.learning_rate / 5.0)
                self.no_improvement_count = 0
            else:
                trainer.stop_reason = "converged"
