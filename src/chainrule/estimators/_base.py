"""What :class:`MLPClassifier` and :class:`MLPRegressor` share: checks, the network, the solvers.

The estimators are a thin adapter: they validate input the way scikit-learn does, build a
:class:`~chainrule.network.containers.Sequential`, and hand the training to
:class:`~chainrule.training.trainer.Trainer` — its mini-batch solver for ``sgd``, ``adam``…,
its L-BFGS solver for ``solver="lbfgs"``. scikit-learn's rules that make results comparable —
the L2 penalty scaled by the batch (below), ``batch_size="auto"``, the ``tol`` /
``n_iter_no_change`` stopping rule, ``adaptive`` and ``invscaling`` learning rates, ``t_``
counting samples, the early-stopping validation score — live in one callback,
:class:`EpochRules`.

The objective
-------------
The objective scikit-learn's MLP minimises, written as chainrule losses.

scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` minimise, on each batch :math:`B` of
:math:`n_B` rows (or total sample weight :math:`s_B = \\sum_{n \\in B} w_n`),

.. math::
    J_B = \\frac{1}{s_B} \\sum_{n \\in B} w_n \\, \\ell_n
          + \\frac{\\alpha}{2 s_B} \\sum_{\\text{layers}} \\lVert W \\rVert_F^2

where the penalty covers weights only (never biases) and :math:`\\ell_n` is

* ``squared_error``: :math:`\\tfrac12 \\cdot \\tfrac1K \\sum_k (\\hat y_{nk} - y_{nk})^2`
  (:class:`~chainrule.network.losses.HalfSquaredError`);
* binary and multilabel log loss: :math:`\\sum_k \\text{BCE}(z_{nk}, y_{nk})`, summed over
  the labels (:class:`SummedOverOutputs` around
  :class:`~chainrule.losses.BinaryCrossEntropy`);
* multiclass log loss: :class:`~chainrule.losses.CrossEntropy` as it is;
* ``poisson``: :class:`HalfPoissonDeviance`, summed over the outputs.

:class:`L2Penalized` adds the penalty's value to a loss, and, as a callback run between
backward and the optimizer, its gradient
:math:`\\partial J_B / \\partial W = \\alpha W / s_B`.

Parameters beyond scikit-learn's
--------------------------------
The estimators' parameters beyond scikit-learn's: normalization, L1, clipping, warm-up, smoothing.

Each maps onto one building block of :mod:`chainrule.network`; with its default
(``normalization=None``, ``l1=0``, ``clip_grad_norm=None``, ``warmup_epochs=0``,
``label_smoothing=0``) the block is left out entirely, so a default estimator trains exactly
the same network with exactly the same update rule as before these parameters existed.

============================  ===============================================================
parameter                     what it adds
============================  ===============================================================
``normalization="batch"``     ``Dense → BatchNorm → activation`` in every hidden layer
``normalization="layer"``     ``Dense → LayerNorm → activation`` in every hidden layer
``l1=λ₁``                     :math:`g_W \\leftarrow g_W + \\lambda_1 \\operatorname{sign}(W)`
                              on the weight matrices (not biases, as ``alpha``), before clipping
``clip_grad_norm=c``          the whole gradient rescaled to global norm at most :math:`c`
                              (``torch.nn.utils.clip_grad_norm_``), before the optimizer
``warmup_epochs=E``           the rate ramps linearly from :math:`\\eta_0/3` to :math:`\\eta_0`
                              over the first :math:`E` epochs' updates (``LinearLR``), then the
                              ``learning_rate`` rules run as usual
``label_smoothing=ε``         (classifier) :math:`y \\leftarrow (1-\\varepsilon) y + \\varepsilon/K`
                              in the cross-entropy; :math:`K = 2` per label for binary targets
============================  ===============================================================

The gradient pipeline is PyTorch's: the data loss and ``alpha``'s L2 penalty (scikit-learn's,
scaled by the batch) give :math:`g`; L1 is added (an unscaled :math:`\\lambda_1\\|W\\|_1` on
the batch's mean loss, as written in a PyTorch loop); the result is clipped; the optimizer
steps. L-BFGS takes none of the optimizer pieces (it has no steps to clip or warm up).

End-of-epoch rules
------------------
scikit-learn's end-of-epoch rules as one callback, and the validation score as a monitor.

:class:`EpochRules` is everything scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` do after
an epoch of a stochastic solver: ``loss_curve_``, ``t_``, the ``tol`` / ``n_iter_no_change``
stopping rule and the ``adaptive`` / ``invscaling`` rates. With ``early_stopping`` its
:attr:`EpochRules.monitor` (a :class:`ValidationScore`) is handed to the
:class:`~chainrule.training.trainer.Trainer`, which scores the held-out rows before the
callbacks run and keeps the weights of the best score — the run's one best-weights snapshot.

Argument checks
---------------
The estimators' argument checks that scikit-learn's own validation leaves open.

* ``class_weight`` and the sample weights it yields: finite, non-negative, not all zero;
* a ``solver`` changed between ``partial_fit`` calls: the optimizer state of the old solver
  (Adam's moments, SGD's velocity) does not fit the new one, so it is dropped with a
  warning and the new solver starts from fresh state — the weights are kept.

Saving
------
A fitted estimator as plain arrays and JSON, for :func:`chainrule.save` / :func:`chainrule.load`.

The arrays are the network's weights (:meth:`Sequential.state`) and the optimizer's state
(Adam's moments, SGD's velocity: ``optimizer/…``); the JSON holds the constructor's
parameters, the fitted attributes, the history, the targets' encoding and the random
generators' states (shuffles, dropout masks), so ``partial_fit`` after ``load`` continues
exactly where the saved estimator stopped. No pickle: loading runs no code from the file.

Verbose output
--------------
scikit-learn's ``verbose=True``: one ``Iteration n, loss = …`` line per epoch on standard output.

The estimators keep scikit-learn's meaning of ``verbose`` (what ``MLPClassifier`` prints),
not Keras' progress bar: code written for scikit-learn's estimators, and the logs it
produces, read the same.
"""

from __future__ import annotations

import copy
import math
import sys
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from chainrule import devices
from chainrule.backend import Array, namespace
from chainrule.devices import check_fits_in_memory, scalar
from chainrule.network import initializers
from chainrule.network import optimizers as optimizers_module
from chainrule.network.activations import ACTIVATIONS
from chainrule.network.containers import Sequential, StateError
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import Loss, PoissonNLL
from chainrule.network.normalization import BatchNorm, LayerNorm
from chainrule.network.optimizer_state import state_from_arrays, state_to_arrays
from chainrule.network.optimizers import GradientTransformation, Schedule, chain, linear_warmup
from chainrule.network.regularization import add_l1, clip_by_global_norm, weights_only
from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.checkpoint import generator_table, restore_generator_table
from chainrule.training.data import check_sample_weight, params_finite
from chainrule.training.history import History
from chainrule.training.protocol import TrainedModel
from chainrule.training.solvers import lbfgs
from chainrule.training.trainer import Trainer

if TYPE_CHECKING:
    from chainrule.training.callbacks import Loop


class SklearnVerbose(Callback):
    """Print ``Iteration %d, loss = %.8f`` (and ``Validation score: %f``) as scikit-learn does."""

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        print(f"Iteration {epoch + 1}, loss = {logs['loss']:.8f}", file=sys.stdout)
        if "val_score" in logs:
            print(f"Validation score: {logs['val_score']:f}", file=sys.stdout)


def check_class_weight(class_weight: Any) -> None:
    """Raise ``ValueError`` unless a dict ``class_weight`` holds finite, non-negative numbers."""
    if not isinstance(class_weight, dict):
        return
    for label, weight in class_weight.items():
        if not isinstance(weight, int | float | np.number) or isinstance(weight, bool):
            raise TypeError(f"class_weight[{label!r}] is {weight!r}; weights must be numbers.")
        if not math.isfinite(float(weight)) or weight < 0:
            raise ValueError(
                f"class_weight[{label!r}] is {weight}; class weights must be finite and >= 0."
            )


def optimizer_state_for(state: Any, saved_for: str, solver: str) -> Any | None:
    """A copy of the optimizer ``state`` saved for solver ``saved_for`` when it is ``solver``'s.

    ``None`` (a fresh state, with a warning) when the solver changed in between.
    """
    if state is None:
        return None
    if saved_for != solver:
        warnings.warn(
            f"solver changed from {saved_for!r} to {solver!r} between partial_fit calls; "
            "the optimizer state starts afresh (the weights are kept).",
            UserWarning,
            stacklevel=5,
        )
        return None
    return copy.deepcopy(state)


def warn_lbfgs(result: Any) -> None:
    """scikit-learn's ``ConvergenceWarning`` when L-BFGS stopped short of converging."""
    if result.status in (0, 99):  # 99: a callback (or Ctrl-C) stopped it on purpose
        return
    message = result.message.decode() if isinstance(result.message, bytes) else result.message
    warnings.warn(
        f"lbfgs failed to converge after {result.nit} iteration(s) "
        f"(status={result.status}): {message}. Increase the number of iterations "
        "(max_iter) or the number of function evaluations (max_fun), or scale the data.",
        ConvergenceWarning,
        stacklevel=5,
    )


EXTENSION_CONSTRAINTS: dict[str, list[Any]] = {
    "normalization": [StrOptions({"batch", "layer"}), None],
    "l1": [Interval(Real, 0, None, closed="left")],
    "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    "scoring": [str, callable, None],
    "record_validation": ["boolean"],
}
"""``_parameter_constraints`` of the extensions both estimators share."""

LABEL_SMOOTHING_CONSTRAINT: dict[str, list[Any]] = {
    "label_smoothing": [Interval(Real, 0, 1, closed="left")],
}
"""The classifier's one more."""


HIDDEN_ACTIVATIONS: dict[str, type[Layer]] = {
    cls.sklearn_name: cls
    for cls in sorted(set(ACTIVATIONS.values()), key=lambda c: c.__name__)
    if cls.sklearn_name is not None
}
"""Every registered activation with a scikit-learn name (each class says its own): scikit-learn's
four hidden activations under their names, and chainrule's others (``leaky_relu``, ``elu``…)."""


def layer_plan(
    hidden_layer_sizes: Any, activation: Any, dropout: Any
) -> tuple[list[int], list[str], list[float]]:
    """The hidden layers' widths, activation names and dropout rates, one of each per layer.

    ``hidden_layer_sizes`` is one int or a sequence of positive ints; ``activation`` one name
    (every layer's) or one per hidden layer; ``dropout`` one rate in [0, 1) or one per layer.
    Anything else is refused in one sentence.
    """
    sizes = hidden_layer_sizes
    sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
    if any(int(s) <= 0 for s in sizes) or any(int(s) != s for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
    sizes = [int(s) for s in sizes]
    n = len(sizes)
    names = [activation] * n if isinstance(activation, str) else list(activation)
    unknown = [a for a in names if a not in HIDDEN_ACTIVATIONS]
    if len(names) != n or unknown or not all(isinstance(a, str) for a in names):
        raise ValueError(
            f"activation must be one name or one per hidden layer ({n}) from "
            f"{', '.join(sorted(HIDDEN_ACTIVATIONS))}; got {activation!r}."
        )
    rates = [float(dropout)] * n if isinstance(dropout, Real) else [float(r) for r in dropout]
    if len(rates) != n or not all(0.0 <= r < 1.0 for r in rates):
        raise ValueError(
            f"dropout must be one rate in [0, 1) or one per hidden layer ({n}), got {dropout!r}."
        )
    return sizes, names, rates


def build_network(
    n_in: int,
    n_out: int,
    plan: tuple[list[int], list[str], list[float]],
    rng: Any,
    *,
    normalization: str | None = None,
    weight_init: str = "auto",
) -> Sequential:
    """``Dense [→ norm] → activation [→ Dropout] → … → Dense`` with ``n_out`` linear outputs.

    ``plan`` is :func:`layer_plan`'s: the hidden widths, activation names and dropout rates.
    The normalization layer (``normalization="batch"`` or ``"layer"``) sits between each hidden
    ``Dense`` and its activation; with ``normalization=None`` there is none. ``weight_init``
    ``"auto"`` draws scikit-learn's Glorot uniform weights and biases from ``rng``; any other
    name is a :mod:`chainrule.network.initializers` scheme.
    """
    hidden, activations, dropout = plan
    sizes = [n_in, *hidden, n_out]
    layers: list[Layer] = []
    sklearn_init = weight_init == "auto"
    for i in range(len(sizes) - 1):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        dense = Dense(
            fan_in, fan_out, weight_init="zeros" if sklearn_init else weight_init, rng=rng
        )
        if sklearn_init:
            # scikit-learn's Glorot uniform, biases included: U(-a, a) with
            # a = √(6 / (fan_in + fan_out)), or √(2 / …) for logistic units (the activation
            # after this layer; the output layer follows the last hidden one, as scikit-learn).
            follows = activations[min(i, len(activations) - 1)] if activations else "relu"
            factor = 2.0 if follows == "logistic" else 6.0
            bound = math.sqrt(factor / (fan_in + fan_out))
            dense.params["W"][...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            dense.params["b"][...] = rng.uniform(-bound, bound, fan_out)
            # the config (repr, model file) names the scheme drawn here, not the "zeros" above
            scheme = "sklearn_glorot_uniform" + ("_logistic" if factor == 2.0 else "")
            dense.weight_init = dense.bias_init = scheme
        layers.append(dense)
        if i < len(hidden):
            if normalization == "batch":
                layers.append(BatchNorm(fan_out))
            elif normalization == "layer":
                layers.append(LayerNorm(fan_out))
            layers.append(HIDDEN_ACTIVATIONS[activations[i]]())
            if dropout[i] > 0:
                layers.append(Dropout(dropout[i], rng=rng))
    return Sequential(layers)


class HalfPoissonDeviance(PoissonNLL):
    """Half the Poisson deviance on the log of the rate, scikit-learn's ``poisson`` loss.

    With :math:`\\mu = e^{z}`:

    .. math::
        \\ell = y \\log\\frac{y}{\\mu} - y + \\mu = e^{z} - y z + (y \\log y - y), \\qquad
        \\frac{\\partial \\ell}{\\partial z} = e^{z} - y

    It is :class:`~chainrule.losses.PoissonNLL` plus a term that depends on :math:`y` only
    (:math:`y \\log y = 0` at :math:`y = 0`), so the gradient is the same and a perfect fit
    scores 0.
    """

    name = "half_poisson_deviance"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        value, grad = super().elementwise(y_pred, y_true)
        positive = y_true > 0
        safe = xp.where(positive, y_true, xp.ones_like(y_true))
        y_log_y = xp.where(positive, y_true * xp.log(safe), xp.zeros_like(y_true))
        return value + (y_log_y - y_true), grad


class SummedOverOutputs(Loss):
    """A loss summed over the :math:`K` outputs instead of averaged (``base`` times :math:`K`).

    scikit-learn's multilabel log loss sums the per-label cross-entropies of a row; chainrule's
    mean reduction divides by :math:`NK`. Multiplying value and gradient by :math:`K` keeps
    them consistent and equal to scikit-learn's. For :math:`K = 1` nothing changes.

    Parameters
    ----------
    base : Loss
        A loss with ``reduction="mean"``.
    """

    def __init__(self, base: Loss) -> None:
        super().__init__(base.reduction)
        self.base = base
        self.name = f"summed_{base.name}"

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        value, grad = self.base(y_pred, y_true, sample_weight)
        k = y_pred.shape[1] if y_pred.ndim == 2 else 1
        if k != 1:
            value, grad = value * k, grad * k
        return value, grad

    def link(self, y_pred: Array) -> Array:
        return self.base.link(y_pred)

    def link_onnx(self, graph: Any, x: str) -> str:
        return self.base.link_onnx(graph, x)

    def config(self) -> dict[str, Any]:
        return {"base": type(self.base).__name__, **self.base.config()}


class L2Penalized(Loss, Callback):
    """``base`` plus scikit-learn's L2 penalty on the weight matrices, scaled by the batch.

    .. math:: J = L_{\\text{base}} + \\frac{\\alpha}{2 s_B} \\sum_{W} \\lVert W \\rVert_F^2,
              \\qquad s_B = \\textstyle\\sum_{n \\in B} w_n \\;(= n_B \\text{ unweighted})

    The value is returned here; the gradient with respect to the weights,
    :math:`\\alpha W / s_B`, is added by :meth:`on_gradients` — the penalty is also the
    callback the Trainer runs between backward and the optimizer — from :attr:`coefficient`
    (:math:`\\alpha / s_B` of the batch last seen).

    Parameters
    ----------
    base : Loss
        The data loss (mean reduction).
    network : Sequential
        Whose ``"<dense>.W"`` parameters are penalised.
    alpha : float
        :math:`\\alpha \\ge 0`.
    """

    def __init__(self, base: Loss, network: Sequential, alpha: float) -> None:
        super().__init__(base.reduction)
        self.base, self.network, self.alpha = base, network, float(alpha)
        self.name = base.name
        self.weight_names = [k for k in network.params if k.endswith(".W")]
        self.coefficient = 0.0

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        value, grad = self.base(y_pred, y_true, sample_weight)
        if self.alpha:
            xp = namespace(y_pred)
            total = y_pred.shape[0] if sample_weight is None else scalar(xp, xp.sum(sample_weight))
            self.coefficient = self.alpha / total
            squared_norm = 0.0  # Σ_W ‖W‖²; on a device it stays there, no wait per batch
            params = self.network.params
            for k in self.weight_names:
                squared_norm += scalar(xp, xp.sum(params[k] * params[k]))
            value += 0.5 * self.coefficient * squared_norm
        return value, grad

    def link(self, y_pred: Array) -> Array:
        return self.base.link(y_pred)

    def link_onnx(self, graph: Any, x: str) -> str:
        return self.base.link_onnx(graph, x)

    def on_gradients(self, trainer: Loop, grads: dict[str, Array]) -> None:
        """``grads[W] += (α / s_B) · W`` in place for every penalised weight."""
        c = self.coefficient
        if not self.alpha:  # c may be a 0-d device array: test the float α, not c
            return
        params = self.network.params
        for k in self.weight_names:
            if k in grads:
                grads[k] += c * params[k]


Validation = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def split_validation(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    rng: Any,
    fraction: float,
    stratify_binary: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Validation]:
    """Hold out ``fraction`` of the rows (``validation_fraction``), as scikit-learn does.

    Returns the training ``X, Y, sample_weight`` and the held-out ``(X_val, Y_val, w_val)``.
    The rows are scikit-learn's: ``train_test_split`` draws them from ``rng`` itself when it is
    a ``RandomState`` (from a seed drawn from it for a ``Generator``), and, with
    ``stratify_binary`` (a classifier), stratifies them when ``Y`` has one column — a binary
    target, ``Y`` as booleans exactly as scikit-learn passes it. Multiclass and multilabel targets are split unstratified, as in
    scikit-learn.
    """
    stratify = Y.astype(bool) if stratify_binary and Y.shape[1] == 1 else None
    arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
    source = rng if isinstance(rng, np.random.RandomState) else _seed_from(rng)
    parts = train_test_split(*arrays, random_state=source, test_size=fraction, stratify=stratify)
    validation = (parts[1], parts[3], None if sample_weight is None else parts[5])
    if validation[0].shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return parts[0], parts[2], None if sample_weight is None else parts[4], validation


def _seed_from(rng: np.random.Generator | np.random.RandomState) -> int:
    """An integer seed drawn from ``rng``, for helpers that want one (``train_test_split``)."""
    return int(rng.integers(2**31 - 1) if hasattr(rng, "integers") else rng.randint(2**31 - 1))


def validation_scorer(scoring: Any) -> Callable[..., float] | None:
    """The scorer ``scoring`` names (``sklearn.metrics.get_scorer``), or None.

    ``None`` is scikit-learn's own score (accuracy or :math:`R^2`); ``"loss"`` is the negated
    validation loss, as in ``HistGradientBoostingClassifier``; both return None here.
    """
    if scoring is None or scoring == "loss":
        return None
    return get_scorer(scoring)


class ValidationScore(Monitor):
    """The estimator's validation score, higher is better: ``scoring``'s, or scikit-learn's.

    :meth:`measure` predicts the held-out rows once and logs ``val_loss`` (the data loss, no
    penalty) and ``val_score`` for the history, the callbacks and the progress bar. The score
    is ``est._score_raw`` (accuracy or :math:`R^2`) by default, :math:`-` ``val_loss`` for
    ``scoring="loss"``, or a scikit-learn scorer called on the estimator as it stands after
    the epoch (its predictions are the ones just made: the rows are predicted once).
    """

    def __init__(
        self, est: BaseEstimator, data_loss: Loss, validation: Validation, best: float
    ) -> None:
        super().__init__("val_score", "max", 0.0)
        self.est, self.data_loss, self.validation = est, data_loss, validation
        self.best = best
        self._on_device: Any = None  # the validation rows, moved to the device once

    def measure(self, trainer: Trainer, logs: dict[str, float]) -> float:
        Xv, Yv, wv = self.validation
        if trainer.device is not None:  # on a device: predict there, score on the host
            if self._on_device is None:
                self._on_device = trainer.device.put(Xv)
            raw = devices.to_host(trainer.network.predict(self._on_device))
        else:
            raw = trainer.network.predict(Xv)
        logs["val_loss"] = self.data_loss(raw, Yv, wv)[0]
        logs["val_score"] = self._score(trainer, raw, logs["val_loss"])
        return logs["val_score"]

    def _score(self, trainer: Trainer, raw: np.ndarray, loss: float) -> float:
        est, (Xv, Yv, wv) = self.est, self.validation
        scoring = getattr(est, "scoring", None)
        if scoring is None:
            return est._score_raw(raw, Yv, wv)
        if scoring == "loss":
            return -float(loss)
        if not np.isfinite(raw).all():
            return math.nan  # a diverged epoch, as scikit-learn scores it
        # The estimator as it stands after this epoch, answering from the raw outputs just
        # computed: no second prediction, no feature-name check on the held-out array.
        current = copy.copy(est)
        current.network_ = trainer.network
        current.n_outputs_ = Yv.shape[1]
        current._raw_output = lambda X: raw
        y_true = est._labels_from_encoded(Yv)
        scorer = validation_scorer(scoring)
        kwargs = {} if wv is None else {"sample_weight": wv}
        return float(scorer(current, Xv, y_true, **kwargs))


class EpochRules(Callback):
    """scikit-learn's end-of-epoch rules, run by the Trainer after every epoch.

    Records ``loss_curve_`` (the epoch's mean penalised loss), ``t_`` (samples seen) and, with
    early stopping, the validation loss and score measured by :attr:`monitor`; then applies
    scikit-learn's stopping rule: an epoch counts as *no improvement* when the training loss is
    above ``best_loss_ - tol`` (or the validation score below ``best_validation_score_ + tol``),
    and after more than ``n_iter_no_change`` such epochs in a row training stops with
    ``stop_reason="converged"`` — except with ``solver="sgd"`` and ``learning_rate="adaptive"``,
    where the rate is divided by 5 instead (until it is below 1e-6). ``invscaling`` sets
    :math:`\\eta = \\eta_0 / (t + 1)^{p}` after each epoch.
    """

    def __init__(
        self,
        est: BaseEstimator,
        data_loss: Loss,
        n_train: int,
        validation: Validation | None,
        continuing: bool,
        restored_state: bool,
    ) -> None:
        self.est, self.n_train = est, n_train
        self.n_iter = 0
        # The rate the optimizer state runs at: a fresh state starts at learning_rate_init
        # (as scikit-learn's warm start does); partial_fit's restored state keeps its own.
        self.learning_rate = float(est.learning_rate_init)
        if restored_state:
            self.learning_rate = getattr(est, "_learning_rate", self.learning_rate)
        if continuing:
            self._continue(est)
        else:
            self.t, self.loss_curve, self.no_improvement_count = 0, [], 0
            self.best_loss: float | None = math.inf
            self.validation_scores: list[float] | None = None
            self.validation_loss_curve: list[float] | None = None
            self.best_validation_score: float | None = None
        self.monitor: ValidationScore | None = None
        # With early stopping the validation score decides when to stop; with only
        # record_validation it is recorded and the training loss decides, as without.
        self.stop_on_validation = validation is not None and bool(est.early_stopping)
        if validation is not None:
            if self.stop_on_validation:
                self.best_loss = None
            if self.validation_scores is None:
                self.validation_scores, self.validation_loss_curve = [], []
                self.best_validation_score = -math.inf
            self.monitor = ValidationScore(est, data_loss, validation, self.best_validation_score)

    def _continue(self, est: BaseEstimator) -> None:
        """Pick up the curves and counters of the previous fit (warm start, partial_fit)."""
        self.t = est.t_
        self.loss_curve = list(est.loss_curve_)
        self.best_loss = est.best_loss_
        self.no_improvement_count = getattr(est, "_no_improvement_count", 0)
        scores = est.validation_scores_
        self.validation_scores = None if scores is None else list(scores)
        losses = est.validation_loss_curve_
        self.validation_loss_curve = None if losses is None else list(losses)
        self.best_validation_score = est.best_validation_score_

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
        if self.monitor is not None:
            score = logs["val_score"]
            self.validation_loss_curve.append(logs["val_loss"])
            self.validation_scores.append(score)
            if self.stop_on_validation:
                if score < self.best_validation_score + est.tol:
                    self.no_improvement_count += 1
                else:
                    self.no_improvement_count = 0
            if score > self.best_validation_score:  # NaN never is (scikit-learn's rule)
                self.best_validation_score = score
        if not self.stop_on_validation:
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

    def diverged(self, trainer: Trainer) -> bool:
        """Handle a diverged run with early stopping as scikit-learn ≥ 1.6 does; True if kept.

        scikit-learn keeps training on NaN weights, records NaN validation scores and in the
        end restores the best validation epoch's weights, so a grid search scores the
        candidate instead of failing. The Trainer stops at the first non-finite epoch and
        keeps the finite best weights; here the diverged epoch is recorded as a NaN score
        (``validation_scores_[-1]``) and a ``ConvergenceWarning`` says what happened. Returns
        False when no finite validation epoch exists (the estimator then raises).
        """
        if self.monitor is None or trainer.best_params is None:
            return False
        if not self.validation_scores or math.isfinite(self.validation_scores[-1]):
            # the epoch the Trainer stopped in never reached on_epoch_end: record it
            self.n_iter += 1
            self.t += self.n_train
            self.loss_curve.append(math.nan)
            self.validation_scores.append(math.nan)
            self.validation_loss_curve.append(math.nan)
        trainer.restore(trainer.best_params)
        warnings.warn(
            f"Training diverged in epoch {self.n_iter} (the loss became NaN or infinite); "
            f"the weights of the best validation epoch (score {self.best_validation_score:.6g}) "
            "are kept. Standardize the features (e.g. with StandardScaler) or lower "
            "learning_rate_init.",
            ConvergenceWarning,
            stacklevel=6,
        )
        return True

    def fitted(self) -> dict[str, Any]:
        """The fitted attributes these rules keep, by name."""
        return {
            "_learning_rate": self.learning_rate,
            "_no_improvement_count": self.no_improvement_count,
            "n_iter_": self.n_iter,
            "t_": self.t,
            "loss_": self.loss_curve[-1],
            "loss_curve_": self.loss_curve,
            "best_loss_": self.best_loss,
            "validation_scores_": self.validation_scores,
            "validation_loss_curve_": self.validation_loss_curve,
            "best_validation_score_": self.best_validation_score,
        }


FITTED_NUMBERS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_")
FITTED_LISTS = ("loss_curve_", "validation_scores_", "validation_loss_curve_")


def json_params(self: BaseEstimator) -> dict[str, Any]:
    """The constructor's parameters as JSON (callbacks and generators left out)."""
    params = {}
    for key, value in self.get_params(deep=False).items():
        if key == "callbacks":
            continue  # code, not data: callbacks are not saved
        if key == "random_state" and not isinstance(value, Integral | None):
            value = None  # a generator's state is not saved
        if key == "scoring" and callable(value):
            value = None  # code, not data: a scorer object is not saved (a name is)
        if isinstance(value, tuple | list | np.ndarray):
            value = [v.item() if isinstance(v, np.generic) else v for v in value]
        params[key] = value.item() if isinstance(value, np.generic) else value
    return params


def estimator_state(self: BaseEstimator) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays (the network's weights) and JSON (everything else) of a fitted estimator."""
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
    for key in FITTED_NUMBERS:
        value = getattr(self, key)
        fitted[key] = None if value is None else float(value)
    for key in FITTED_LISTS:
        value = getattr(self, key)
        fitted[key] = None if value is None else [float(v) for v in value]
    meta = {
        "params": json_params(self),
        "network": network,
        "fitted": fitted,
        "history": self.history_.to_dict(),
        **self._targets_state(),
        "rng": generator_table(getattr(self, "_rng", None), self.network_),
    }
    state = getattr(self, "_opt_state", None)
    if state is not None:
        opt_tensors, opt_meta = state_to_arrays(state)
        tensors.update(opt_tensors)
        meta["optimizer"] = {"solver": str(self._opt_solver), "state": opt_meta}
    return tensors, meta


def _restore_optimizer(est: BaseEstimator, tensors: dict[str, np.ndarray], saved: Any) -> None:
    """The saved optimizer state, rebuilt on a fresh ``init`` of the estimator's own optimizer."""
    est._opt_state, est._opt_solver = None, est.solver
    if not isinstance(saved, dict) or saved.get("state") is None:
        return  # a file from before optimizer states were saved: partial_fit starts afresh
    if saved.get("solver") != est.solver or est.solver == "lbfgs":
        raise StateError(f"has an optimizer state for solver {saved.get('solver')!r}")
    template = est._optimizer().init(est.network_.params)
    try:
        est._opt_state = state_from_arrays(template, tensors, saved["state"])
    except ValueError as exc:
        raise StateError(f"has an optimizer state that does not fit ({exc})") from None


def estimator_from_state(
    cls: type[BaseEstimator], tensors: dict[str, np.ndarray], meta: dict[str, Any]
) -> BaseEstimator:
    """Rebuild a fitted estimator of class ``cls`` from :func:`estimator_state`'s output."""
    params = dict(meta["params"])
    for key in ("hidden_layer_sizes", "dropout", "activation"):  # JSON lists; sklearn tuples
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    est = cls(**params)
    weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
    net = Sequential.from_state(weights, meta["network"])
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
    for key in FITTED_NUMBERS:
        value = fitted.get(key)
        setattr(est, key, None if value is None else float(value))
    est.n_iter_, est.t_ = int(est.n_iter_), int(est.t_)
    for key in FITTED_LISTS:
        value = fitted.get(key)
        setattr(est, key, None if value is None else [float(v) for v in value])
    est.history_ = History.from_dict(meta["history"])
    est._learning_rate = float(fitted.get("learning_rate", est.learning_rate_init))
    est._no_improvement_count = int(fitted.get("no_improvement_count", 0))
    _restore_optimizer(est, tensors, meta.get("optimizer"))
    shuffle = restore_generator_table(meta["rng"], net) if "rng" in meta else None
    est._rng = shuffle if shuffle is not None else initializers.as_generator(est.random_state)
    est._restore_targets(meta)
    return est


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
            self._fit_and_attach(X, y, sample_weight, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _fit_and_attach(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> None:
        self._validate_params()
        plan = layer_plan(self.hidden_layer_sizes, self.activation, self.dropout)
        hidden, _, dropout = plan
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        if incremental and self.record_validation:
            raise ValueError(
                "partial_fit holds no rows out, so it cannot record_validation; call fit, "
                "or score your own held-out rows between partial_fit calls."
            )
        if self.scoring not in (None, "loss"):  # an unknown scoring name fails before training
            validation_scorer(self.scoring)
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
        if sample_weight is not None:  # finite, >= 0, not all zero
            check_sample_weight(np.asarray(sample_weight, dtype=float), X.shape[0])
        if sp.issparse(X):  # the engine computes on dense arrays
            X = X.toarray()
        Y = np.ascontiguousarray(Y, dtype=X.dtype)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=X.dtype)
        n_outputs = Y.shape[1]

        if first_pass:
            # refused before a weight is allocated: too large a layer is otherwise allocated
            # lazily and grows until the kernel kills the process, with no word why
            batch = 200 if self.batch_size == "auto" else int(self.batch_size)
            batch_rows = X.shape[0] if self.solver == "lbfgs" else min(X.shape[0], batch)
            check_fits_in_memory([X.shape[1], *hidden, n_outputs], batch_rows, X.dtype.itemsize)
            rng = random_source(self.random_state)
            net = self._new_network(X.shape[1], n_outputs, plan, rng)
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
            record = self._fit_lbfgs(net, X, Y, sample_weight, rng, any(dropout))
        else:
            record = self._fit_stochastic(net, X, Y, sample_weight, rng, first_pass, incremental)

        if self.device != "cpu":  # a device run's weights come home: coefs_, files, ONNX
            net.to_namespace(np.empty(0))
        for k, v in record.items():
            setattr(self, k, v)
        self.network_ = net
        self._rng = rng
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = self._output_activation(n_outputs)

    def _new_network(
        self, n_in: int, n_out: int, plan: tuple[list[int], list[str], list[float]], rng: Any
    ) -> Sequential:
        """:func:`build_network` with ``plan`` (:func:`layer_plan`'s) and this estimator's
        normalization and initial weights: the one place the local and the Dask estimators
        turn their parameters into a network."""
        return build_network(
            n_in, n_out, plan, rng, normalization=self.normalization, weight_init=self.weight_init
        )

    def _optimizer(self, steps_per_epoch: int | None = None) -> GradientTransformation:
        """The update rule ``solver`` names, with this estimator's rates and moments.

        With ``warmup_epochs`` (and the ``steps_per_epoch`` to count them in) the rate is
        warmed up linearly; ``l1`` and ``clip_grad_norm`` put those transforms in front of the
        rule (see the module docstring); ``adamw`` decays the weights by ``alpha``, decoupled.
        """
        lr: float | Schedule = float(self.learning_rate_init)
        warmup_steps = int(self.warmup_epochs or 0) * (steps_per_epoch or 0)
        if warmup_steps:
            lr = linear_warmup(lr, warmup_steps)
        if self.solver == "sgd":
            # scikit-learn's velocity holds the rate, v ← μ v − η g, so a rate changed by
            # invscaling / adaptive applies to new gradients only: scale first, then momentum.
            parts = [optimizers_module.scale_by_learning_rate(lr)]
            if self.momentum:
                nesterov = bool(self.nesterovs_momentum)
                parts.append(optimizers_module.trace(float(self.momentum), nesterov))
            rule = chain(*parts)
        elif self.solver == "adam":  # ε where scikit-learn's AdamOptimizer has it
            rule = optimizers_module.adam(
                lr, self.beta_1, self.beta_2, self.epsilon, eps_placement="sklearn"
            )
        elif self.solver == "adamw":
            rule = optimizers_module.adamw(
                lr, self.beta_1, self.beta_2, self.epsilon, weight_decay=float(self.alpha)
            )
        else:
            rule = optimizers_module.rmsprop(lr, eps=self.epsilon)
        in_front: list[GradientTransformation] = []
        if self.l1:
            in_front.append(weights_only(add_l1(float(self.l1))))
        if self.clip_grad_norm is not None:
            in_front.append(clip_by_global_norm(float(self.clip_grad_norm)))
        return chain(*in_front, rule) if in_front else rule

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
            X, Y, sample_weight, validation = split_validation(
                X, Y, sample_weight, rng, self.validation_fraction, self._stratify()
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
        steps = math.ceil(n_train / batch_size)  # updates per epoch; the last batch may be short
        if self.normalization == "batch":
            last = n_train - (steps - 1) * batch_size
            if last < 2:
                raise ValueError(
                    f"normalization='batch' needs at least 2 rows in every mini-batch, but "
                    f"n_samples={n_train} in batches of {batch_size} leave a last batch of 1; "
                    "choose another batch_size or normalization='layer'."
                )

        base = self._data_loss(Y.shape[1])
        # AdamW's decay is decoupled (in the optimizer), so the loss carries no penalty then.
        alpha = 0.0 if self.solver == "adamw" else float(self.alpha)
        objective = L2Penalized(base, net, alpha)
        trainer = Trainer(
            net,
            objective,
            self._optimizer(steps),
            device=None if self.device == "cpu" else devices.get(self.device),
        )
        continuing = not first_pass
        if continuing:
            trainer.history = copy.deepcopy(self.history_)
        state = None
        if incremental and continuing:  # partial_fit carries on with the optimizer's state
            saved = getattr(self, "_opt_state", None)
            state = optimizer_state_for(
                saved, getattr(self, "_opt_solver", self.solver), self.solver
            )
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
            "_opt_state": trainer.opt_state
            if trainer.device is None
            else devices.tree_to_host(trainer.opt_state),
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
        hooks: list[Callback] = [trainer.loss] if trainer.loss.alpha else []  # its gradient
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
            check_inputs=False,  # done: validate_data (finite X), encoded Y, the weights
        )
        diverged = trainer.stop_reason == "non_finite" or not params_finite(
            trainer.network.params.values()
        )
        if diverged and not (self.early_stopping and rules and rules[0].diverged(trainer)):
            raise ValueError(NON_FINITE_MESSAGE)
        if trainer.stop_reason == "interrupted":
            warnings.warn("Training interrupted by user.", stacklevel=5)

    def _stratify(self) -> bool:
        return False

    def _fit_lbfgs(
        self,
        net: Sequential,
        X: np.ndarray,
        Y: np.ndarray,
        sample_weight: np.ndarray | None,
        rng: Any,
        dropout: bool,
    ) -> dict[str, Any]:
        """Minimise the full-batch objective with the Trainer's L-BFGS solver.

        Refuses what acts on the steps of a stochastic solver (dropout, L1, clipping, warm-up):
        L-BFGS takes none.
        """
        if dropout:
            raise ValueError(
                "dropout makes the loss random, which L-BFGS cannot minimise; use "
                "solver='adam' or 'sgd', or set dropout=0."
            )
        used = [n for n in ("l1", "clip_grad_norm", "warmup_epochs") if getattr(self, n)]
        if used:
            raise ValueError(
                f"{', '.join(used)} act on the steps of a stochastic solver, which L-BFGS "
                "does not take; use solver='adam' or 'sgd', or leave them at their defaults."
            )
        objective = L2Penalized(self._data_loss(Y.shape[1]), net, float(self.alpha))
        solver = lbfgs(max_fun=self.max_fun, tol=self.tol)
        device = None if self.device == "cpu" else devices.get(self.device)
        trainer = Trainer(net, objective, solver, device=device)
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
            optimizer=None if self.solver == "lbfgs" else self._optimizer(),
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
