"""What :class:`MLPClassifier` and :class:`MLPRegressor` share: checks, the network, the solvers.

The estimators are a thin adapter: they validate input the way scikit-learn does, build a
:class:`~chainrule.network.containers.Sequential`, and hand the training to
:class:`~chainrule.training.trainer.Trainer` — its mini-batch solver for ``sgd``, ``adam``…,
its L-BFGS solver for ``solver="lbfgs"``. scikit-learn's rules that make results comparable —
the L2 penalty scaled by the batch (:mod:`._objective`), ``batch_size="auto"``, the ``tol`` /
``n_iter_no_change`` stopping rule, ``adaptive`` and ``invscaling`` learning rates, ``t_``
counting samples, the early-stopping validation score — live in one callback,
:class:`~chainrule.estimators._rules.EpochRules`.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from chainrule import devices
from chainrule.backend import to_numpy
from chainrule.estimators._checks import check_weights, optimizer_state_for, warn_lbfgs
from chainrule.estimators._extensions import (
    EXTENSION_CONSTRAINTS,
    check_extensions,
    steps_per_epoch,
)
from chainrule.estimators._network import (
    HIDDEN_ACTIVATIONS,
    build_network,
    dropout_rates,
    hidden_activations,
    hidden_sizes,
    make_optimizer,
)
from chainrule.estimators._objective import L2Penalized, PenaltyGradient
from chainrule.estimators._rules import EpochRules, split_validation, validation_scorer
from chainrule.estimators._state import estimator_from_state, estimator_state
from chainrule.estimators._verbose import SklearnVerbose
from chainrule.network import initializers
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense
from chainrule.network.losses import Loss
from chainrule.training.callbacks import Callback
from chainrule.training.protocol import TrainedModel
from chainrule.training.solvers import lbfgs
from chainrule.training.trainer import Trainer

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop")

NON_FINITE_MESSAGE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed: standardize the features (e.g. with StandardScaler) or "
    "lower learning_rate_init."
)
"""scikit-learn's words for a diverged fit without early stopping (its tests match them)."""


class BaseMLP(BaseEstimator):
    """Base class; use :class:`MLPClassifier` or :class:`MLPRegressor`."""

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS)), list, tuple],
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
        "device": [StrOptions(set(devices.DEVICES))],
        **EXTENSION_CONSTRAINTS,  # normalization, l1, clip_grad_norm, warmup_epochs
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

    def _labels_from_encoded(self, Y: np.ndarray) -> np.ndarray:
        """The targets as the user gave them, from the network's ``(N, K)`` encoding."""
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

    def _fit_unguarded(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> None:
        self._validate_params()
        hidden = hidden_sizes(self)
        hidden_activations(self, len(hidden))  # one name, or one per hidden layer
        dropout = dropout_rates(self, len(hidden))
        if self.solver == "lbfgs" and any(dropout):
            raise ValueError(
                "dropout makes the loss random, which L-BFGS cannot minimise; use "
                "solver='adam' or 'sgd', or set dropout=0."
            )
        check_extensions(self)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        if incremental and self.record_validation:
            raise ValueError(
                "partial_fit holds no rows out, so it cannot record_validation; call fit, "
                "or score your own held-out rows between partial_fit calls."
            )
        validation_scorer(self)  # an unknown scoring name fails before training
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
            rng = random_source(self.random_state)
            net = build_network(self, X.shape[1], hidden, n_outputs, dropout, rng)
        else:
            # scikit-learn seeds a new RandomState from an integer at every fit / partial_fit
            # call; a RandomState or Generator (and None's generator) carries on.
            seeded = isinstance(self.random_state, Integral)
            rng = random_source(self.random_state) if seeded else self._rng
            if self.network_.output_dim(X.shape[1]) != n_outputs:
                raise ValueError(
                    f"y has {n_outputs} outputs but the fitted network has "
                    f"{self.network_.output_dim(X.shape[1])}; fit a new model (warm_start=False) "
                    "to change the number of outputs."
                )
            net = copy.deepcopy(self.network_)

        if self.solver == "lbfgs":
            record = self._fit_lbfgs(net, X, Y, sample_weight, rng)
        else:
            record = self._fit_stochastic(net, X, Y, sample_weight, rng, first_pass, incremental)

        net.to_namespace(np.empty(0))  # a device run's weights come home: coefs_, files, ONNX
        for k, v in record.items():
            setattr(self, k, v)
        self.network_ = net
        self._rng = rng
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = self._output_activation(n_outputs)

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
        if self.early_stopping or self.record_validation:
            X, Y, sample_weight, validation = split_validation(self, X, Y, sample_weight, rng)
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
        check_extensions(self, n_train, batch_size)

        base = self._data_loss(Y.shape[1])
        # AdamW's decay is decoupled (in the optimizer), so the loss carries no penalty then.
        alpha = 0.0 if self.solver == "adamw" else float(self.alpha)
        objective = L2Penalized(base, net, alpha)
        trainer = Trainer(
            net,
            objective,
            make_optimizer(self, steps_per_epoch(n_train, batch_size)),
            device=self._device(),
        )
        continuing = not first_pass
        if continuing:
            trainer.history = copy.deepcopy(self.history_)
        state = optimizer_state_for(self) if incremental and continuing else None  # _checks.py
        restored = state is not None
        if restored:
            trainer.opt_state = devices.tree_put(trainer.device, state)
        rules = EpochRules(self, base, n_train, validation, continuing, restored)
        if rules.monitor is not None:
            trainer.monitor = rules.monitor  # the Trainer keeps the best validation score's weights
        epochs = 1 if incremental else self.max_iter
        self._train(trainer, X, Y, sample_weight, rng, epochs, batch_size, [rules], incremental)
        if self.early_stopping and trainer.best_params is not None:
            trainer.restore(trainer.best_params)
        if not incremental and trainer.stop_reason is None and rules.n_iter == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return {
            "history_": trainer.history,
            "_opt_state": devices.tree_to_host(trainer.opt_state),
            "_opt_solver": self.solver,
            **rules.fitted(),
        }

    def _train(
        self,
        trainer: Trainer,
        X: np.ndarray,
        Y: np.ndarray,
        sample_weight: np.ndarray | None,
        rng: Any,
        epochs: int,
        batch_size: int | None,
        rules: list[Callback],
        incremental: bool,
    ) -> None:
        """``trainer.fit`` with the penalty's gradient, the rules, progress and user callbacks."""
        hooks: list[Callback] = [PenaltyGradient(trainer.loss)] if trainer.loss.alpha else []
        hooks += [*rules, *([SklearnVerbose()] if self.verbose else [])]  # "Iteration n, ..."
        callbacks = [*hooks, *(self.callbacks or ())]  # alpha = 0: no penalty hook per batch
        trainer.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=self.shuffle,
            rng=rng,
            sample_weight=sample_weight,
            callbacks=callbacks,
            verbose=0,
            check_inputs=False,  # done: validate_data (finite X), encoded Y, check_weights
        )
        diverged = trainer.stop_reason == "non_finite" or not _finite(trainer.network)
        if diverged and not (self.early_stopping and rules and rules[0].diverged(trainer)):
            raise ValueError(NON_FINITE_MESSAGE)
        if trainer.stop_reason == "interrupted":
            warnings.warn("Training interrupted by user.", stacklevel=5)

    def _device(self) -> devices.Device | None:
        return None if self.device == "cpu" else devices.get(self.device)

    def _stratify(self) -> bool:
        return False

    def _fit_lbfgs(
        self,
        net: Sequential,
        X: np.ndarray,
        Y: np.ndarray,
        sample_weight: np.ndarray | None,
        rng: Any,
    ) -> dict[str, Any]:
        """Minimise the full-batch objective with the Trainer's L-BFGS solver."""
        objective = L2Penalized(self._data_loss(Y.shape[1]), net, float(self.alpha))
        solver = lbfgs(max_fun=self.max_fun, tol=self.tol)
        trainer = Trainer(net, objective, solver, device=self._device())
        self._train(trainer, X, Y, sample_weight, rng, self.max_iter, None, [], False)
        result = solver.result
        warn_lbfgs(result)
        losses = list(trainer.history.history.get("loss", []))
        return {
            "history_": trainer.history,
            "_opt_state": None,
            "_opt_solver": self.solver,
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

    # -- the trained-model protocol and model files (see ._state) ----------------------------
    def trained_model(self) -> TrainedModel:
        """The network, loss, history and classes (see :mod:`chainrule.training.protocol`)."""
        check_is_fitted(self, "network_")
        return TrainedModel(
            self.network_,
            self._data_loss(self.n_outputs_),
            self.history_,
            None,
            self._classes(),
            self._probabilities(),
            self.get_params(deep=False),
            optimizer=None if self.solver == "lbfgs" else make_optimizer(self),
            optimizer_state=getattr(self, "_opt_state", None),
        )

    def _classes(self) -> list[Any] | None:
        """Class labels in output order for single-label classifiers, else None."""
        return None

    def _probabilities(self) -> Callable[[Any], np.ndarray] | None:
        """``predict_proba`` for classifiers, else None (the protocol's ``predict_proba``)."""
        return None

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (the network's weights) and JSON (everything else), for :func:`chainrule.save`."""
        return estimator_state(self)

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> BaseMLP:
        """Rebuild a fitted estimator from :meth:`state`'s output."""
        return estimator_from_state(cls, tensors, meta)

    def _targets_state(self) -> dict[str, Any]:
        return {}

    def _restore_targets(self, meta: dict[str, Any]) -> None:
        pass

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def random_source(random_state: Any) -> np.random.RandomState | np.random.Generator:
    """The random source of a fit: the weights, shuffles, validation split and dropout masks.

    An integer seeds a ``numpy.random.RandomState``, as scikit-learn's ``check_random_state``
    does, so the same seed draws scikit-learn's weights, batch orders and validation rows. A
    ``RandomState`` or a ``Generator`` is used as given; ``None`` is a ``RandomState`` seeded
    from fresh OS entropy (scikit-learn would use NumPy's global one).
    """
    if isinstance(random_state, np.random.RandomState | np.random.Generator):
        return random_state
    return np.random.RandomState(random_state)


def _finite(net: Sequential) -> bool:
    return all(bool(np.isfinite(to_numpy(v)).all()) for v in net.params.values())
