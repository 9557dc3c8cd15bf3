"""``MLPRegressor``: scikit-learn's multi-layer perceptron regressor, trained by chainrule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from chainrule.estimators._base import BaseMLP, HalfPoissonDeviance, SummedOverOutputs
from chainrule.estimators._classifier import _stochastic
from chainrule.network.losses import MAE, HalfSquaredError, Huber, Loss
from chainrule.training.callbacks import Callback

REGRESSION_LOSSES = ("squared_error", "huber", "poisson", "absolute_error")


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, on chainrule's engine.

    The network ends in a linear layer with ``n_outputs`` units. Each mini-batch :math:`B`
    minimises the weighted mean loss plus :math:`\\frac{\\alpha}{2 s_B}\\sum_W\\lVert W\\rVert_F^2`
    (see :class:`MLPClassifier`), with the loss per element :math:`r = \\hat y - y`:

    ================== ============================================== ====================
    ``loss``           :math:`\\ell`                                    prediction
    ================== ============================================== ====================
    ``squared_error``  :math:`\\tfrac12 r^2` (scikit-learn's ``loss_``)  :math:`z`
    ``huber``          :math:`\\tfrac12 r^2` if :math:`|r|\\le\\delta`,   :math:`z`
                       else :math:`\\delta(|r| - \\tfrac12\\delta)`
    ``absolute_error`` :math:`|r|`                                     :math:`z`
    ``poisson``        :math:`y\\log(y/e^{z}) - y + e^{z}` (``y >= 0``)  :math:`e^{z}`
    ================== ============================================== ====================

    Parameters
    ----------
    loss : {"squared_error", "huber", "poisson", "absolute_error"}, default="squared_error"
        Training loss (above).
    huber_delta : float, default=1.0
        :math:`\\delta` of the Huber loss.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun, dropout, weight_init, callbacks, normalization, l1, \
clip_grad_norm, warmup_epochs, device
        As in :class:`MLPClassifier`; with ``early_stopping`` the validation score is
        :math:`R^2`.

    Attributes
    ----------
    coefs_, intercepts_, network_, history_, loss_, loss_curve_, best_loss_, \
validation_scores_, validation_loss_curve_, best_validation_score_, n_iter_, t_, n_layers_, \
n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in :class:`MLPClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
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
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
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
        scoring: str | Callable[..., float] | None = None,
        record_validation: bool = False,
        device: str = "cpu",
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
        self.scoring = scoring
        self.record_validation = record_validation
        self.device = device

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit to ``X`` (``(n_samples, n_features)``, dense or sparse) and ``y``
        (``(n_samples,)`` or ``(n_samples, n_outputs)``)."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the previous call."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_targets(
        self, y: np.ndarray, sample_weight: np.ndarray | None, incremental: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return (y.reshape(-1, 1) if y.ndim == 1 else y), sample_weight

    def _labels_from_encoded(self, Y: np.ndarray) -> np.ndarray:
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _data_loss(self, n_outputs: int) -> Loss:
        if self.loss == "huber":
            return Huber(delta=float(self.huber_delta))
        if self.loss == "poisson":
            return SummedOverOutputs(HalfPoissonDeviance())
        if self.loss == "absolute_error":
            return MAE()
        return HalfSquaredError()

    def _output_activation(self, n_outputs: int) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _score_raw(self, raw: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        pred = self._data_loss(Y.shape[1]).link(raw)
        if not np.isfinite(pred).all():
            return float("nan")
        return float(r2_score(Y, pred, sample_weight=sample_weight))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``(n_samples,)``, or ``(n_samples, n_outputs)`` for several outputs."""
        raw = self._raw_output(X)
        pred = self._data_loss(raw.shape[1]).link(raw)
        return pred.ravel() if pred.shape[1] == 1 else pred

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
