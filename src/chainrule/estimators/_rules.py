"""scikit-learn's end-of-epoch rules as one callback, and the validation score as a monitor.

:class:`EpochRules` is everything scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` do after
an epoch of a stochastic solver: ``loss_curve_``, ``t_``, the ``tol`` / ``n_iter_no_change``
stopping rule and the ``adaptive`` / ``invscaling`` rates. With ``early_stopping`` its
:attr:`EpochRules.monitor` (a :class:`ValidationScore`) is handed to the
:class:`~chainrule.training.trainer.Trainer`, which scores the held-out rows before the
callbacks run and keeps the weights of the best score — the run's one best-weights snapshot.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split

from chainrule import devices
from chainrule.network import optimizers as optimizers_module
from chainrule.network.losses import Loss
from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.trainer import Trainer

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator  # a chainrule MLP estimator: its parameters are read

Validation = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def split_validation(
    est: BaseEstimator, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None, rng: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Validation]:
    """Hold out ``validation_fraction`` of the rows, as scikit-learn does.

    Returns the training ``X, Y, sample_weight`` and the held-out ``(X_val, Y_val, w_val)``.
    The rows are scikit-learn's: ``train_test_split`` draws them from ``rng`` itself when it is
    a ``RandomState`` (from a seed drawn from it for a ``Generator``), and stratifies them
    when ``Y`` has one column of a classifier — a binary target, ``Y`` as booleans exactly as
    scikit-learn passes it. Multiclass and multilabel targets are split unstratified, as in
    scikit-learn.
    """
    stratify = Y.astype(bool) if est._stratify() and Y.shape[1] == 1 else None
    arrays = [X, Y] if sample_weight is None else [X, Y, sample_weight]
    source = rng if isinstance(rng, np.random.RandomState) else _seed_from(rng)
    parts = train_test_split(
        *arrays, random_state=source, test_size=est.validation_fraction, stratify=stratify
    )
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


def validation_scorer(est: BaseEstimator) -> Callable[..., float] | None:
    """The scorer ``scoring`` names (``sklearn.metrics.get_scorer``), or None.

    ``None`` is scikit-learn's own score (accuracy or :math:`R^2`); ``"loss"`` is the negated
    validation loss, as in ``HistGradientBoostingClassifier``; both return None here.
    """
    scoring = getattr(est, "scoring", None)
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
        scorer = validation_scorer(est)
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
