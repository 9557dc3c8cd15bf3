"""``MLPClassifier``: scikit-learn's multi-layer perceptron classifier, trained by chainrule.

Class labels become the indicator matrix the network trains on (``LabelBinarizer``'s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)

from chainrule.estimators._base import (
    LABEL_SMOOTHING_CONSTRAINT,
    STOCHASTIC_SOLVERS,
    BaseMLP,
    SummedOverOutputs,
    check_class_weight,
)
from chainrule.network.losses import BinaryCrossEntropy, CrossEntropy, Loss
from chainrule.training.callbacks import Callback


def _stochastic(est: BaseMLP) -> bool:
    if est.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. {est.solver} is not "
            "stochastic."
        )
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, on chainrule's engine.

    The network is ``Dense → activation [→ Dropout] → … → Dense`` with a linear output whose
    link is the loss's: a sigmoid per label for binary and multilabel targets (binary
    cross-entropy summed over labels) and a softmax for multiclass targets (cross-entropy).
    Each mini-batch :math:`B` minimises

    .. math::
        J_B = \\frac{1}{s_B}\\sum_{n \\in B} w_n \\ell_n
              + \\frac{\\alpha}{2 s_B}\\sum_{W}\\lVert W \\rVert_F^2,
        \\qquad s_B = \\textstyle\\sum_{n\\in B} w_n

    exactly as scikit-learn does, so its hyperparameters mean the same here.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"}, default="relu"
        Hidden activation (scikit-learn's four names, plus three more).
    solver : {"adam", "sgd", "lbfgs", "adamw", "rmsprop"}, default="adam"
        ``"adamw"`` uses ``alpha`` as its decoupled weight decay instead of the L2 penalty.
    alpha : float, default=1e-4
        Strength :math:`\\alpha` of the L2 penalty on the weights (not the biases).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Rate schedule for ``solver="sgd"``: ``invscaling`` is :math:`\\eta_0 / (t+1)^{p}` with
        :math:`t` the samples seen; ``adaptive`` divides the rate by 5 when the loss stalls.
    learning_rate_init : float, default=1e-3
        :math:`\\eta_0`.
    power_t : float, default=0.5
        :math:`p` of ``invscaling``.
    max_iter : int, default=200
        Epochs (stochastic solvers) or iterations (``lbfgs``).
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState, Generator or None, default=None
        Seeds the weights, the shuffles, the dropout masks and the validation split.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress.
    verbose : bool, default=False
        Print "Iteration n, loss = ..." after each epoch to standard output, as
        scikit-learn's MLPClassifier does (and "Validation score: ..." with early stopping).
    warm_start : bool, default=False
        Continue from the previous fit instead of starting afresh.
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for SGD.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified) and stop when the validation
        accuracy stalls, keeping the best weights.
    validation_fraction : float, default=0.1
        Share of rows held out with ``early_stopping``.
    beta_1, beta_2, epsilon : float, defaults 0.9, 0.999, 1e-8
        Adam's (and AdamW's) moment decay rates and :math:`\\epsilon`.
    n_iter_no_change : int, default=10
        Epochs without progress tolerated.
    max_fun : int, default=15000
        Most loss evaluations for ``lbfgs``.
    dropout : float or sequence of float, default=0.0
        Dropout rate after each hidden activation (one for all, or one per hidden layer).
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``; ``"balanced"`` uses
        ``n_samples / (n_classes * count(class))``.
    weight_init : str, default="auto"
        ``"auto"`` is scikit-learn's Glorot uniform (biases included); any name from
        :mod:`chainrule.initializers` (``"he_uniform"``, ``"glorot_normal"``…) with zero biases.
    callbacks : list of chainrule callbacks, optional
        Extra :class:`~chainrule.callbacks.Callback` objects run during training.
    device : {"cpu", "torch", "torch:cuda", "torch:cpu", "cupy"}, default="cpu"
        Where to train (:mod:`chainrule.devices`); ``"cpu"`` is NumPy. The data moves there
        once per fit; the fitted weights (``coefs_``, model files, ONNX) are NumPy arrays.
    normalization : {"batch", "layer"} or None, default=None
        Beyond scikit-learn's parameters, like the four after it (each off by default; a default
        estimator trains exactly as without them). A :class:`~chainrule.BatchNorm` or :class:`~chainrule.LayerNorm` between each hidden
        ``Dense`` and its activation. ``"batch"`` needs at least 2 rows in every mini-batch.
    l1 : float, default=0.0
        L1 penalty :math:`\\lambda_1 \\sum |W|` on the weights (not biases):
        :math:`g_W \\leftarrow g_W + \\lambda_1 \\operatorname{sign}(W)`. Stochastic solvers.
    clip_grad_norm : float or None, default=None
        Rescale each step's whole gradient to global norm at most this
        (``torch.nn.utils.clip_grad_norm_``). Stochastic solvers.
    warmup_epochs : int, default=0
        Ramp the rate linearly from :math:`\\eta_0/3` to :math:`\\eta_0` over this many epochs'
        updates (``torch.optim.lr_scheduler.LinearLR``). Stochastic solvers.
    label_smoothing : float in [0, 1), default=0.0
        :math:`\\varepsilon`: targets :math:`(1-\\varepsilon) y + \\varepsilon/K` in the
        cross-entropy (:math:`K` classes; 2 per label for binary and multilabel targets), as
        ``torch.nn.CrossEntropyLoss(label_smoothing=ε)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_ : list of ndarray
        Weights ``(units_i, units_{i+1})`` and biases of each layer (the network's own arrays).
    network_ : Sequential
        The fitted network (its output is the logits).
    history_ : History
        The Trainer's history: ``loss``, ``val_loss``, ``val_score``, ``lr`` per epoch.
    loss_, loss_curve_, best_loss_ : float, list, float
        Penalised training loss: last, per epoch, best.
    validation_scores_, validation_loss_curve_, best_validation_score_
        Per-epoch validation accuracy and loss with ``early_stopping`` (else None).
    n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As in scikit-learn.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from chainrule import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((32,), solver="lbfgs", max_iter=1000, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        **LABEL_SMOOTHING_CONSTRAINT,
    }

    def __init__(
        self,
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
        class_weight: dict | str | None = None,
        weight_init: str = "auto",
        callbacks: list[Callback] | None = None,
        normalization: str | None = None,
        l1: float = 0.0,
        clip_grad_norm: float | None = None,
        warmup_epochs: int = 0,
        scoring: str | Callable[..., float] | None = None,
        record_validation: bool = False,
        label_smoothing: float = 0.0,
        device: str = "cpu",
    ) -> None:
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
        self.class_weight = class_weight
        self.weight_init = weight_init
        self.callbacks = callbacks
        self.normalization = normalization
        self.l1 = l1
        self.clip_grad_norm = clip_grad_norm
        self.warmup_epochs = warmup_epochs
        self.scoring = scoring
        self.record_validation = record_validation
        self.label_smoothing = label_smoothing
        self.device = device

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to ``X`` (``(n_samples, n_features)``, dense or sparse) and labels ``y``.

        ``y`` is ``(n_samples,)`` class labels, or a ``(n_samples, n_labels)`` 0/1 indicator
        matrix for multilabel classification. ``sample_weight`` is ``(n_samples,)``.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)``, continuing from the previous call.

        ``classes`` (every label that will ever appear) is required on the first call.
        """
        saved = self.__dict__.copy()
        try:
            if _check_partial_fit_first_call(self, classes):
                binarizer = LabelBinarizer()
                binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
                self._label_binarizer = binarizer
                self.classes_ = binarizer.classes_
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        try:
            return self._fit(X, y, sample_weight, incremental=True)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _encode_targets(
        self, y: np.ndarray, sample_weight: np.ndarray | None, incremental: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            # a y of one class is accepted, as scikit-learn accepts it: its one column is all
            # zeros, and predict returns that class
            binarizer = LabelBinarizer().fit(y)
            self._label_binarizer, self.classes_ = binarizer, binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {classes}."
                )
            unknown = np.setdiff1d(classes, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`: {unknown}. `self.classes_` has "
                    f"{self.classes_}; pass every class to the first partial_fit call."
                )
        binarizer = self._label_binarizer
        Y = binarizer.transform(y)
        if self.class_weight is not None:
            if binarizer.y_type_ == "multilabel-indicator":
                raise ValueError(
                    "class_weight works with binary and multiclass targets, not multilabel "
                    "ones; pass sample_weight instead."
                )
            if incremental and self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, which sees one "
                    "batch at a time; pass a dict of class weights, e.g. from "
                    "sklearn.utils.class_weight.compute_class_weight on all the labels."
                )
            check_class_weight(self.class_weight)
            weights = compute_sample_weight(self.class_weight, y)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        return Y, sample_weight

    def _labels_from_encoded(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    def _stratify(self) -> bool:
        return True  # a binary target's one column (scikit-learn's rule: split_validation)

    def _data_loss(self, n_outputs: int) -> Loss:
        eps = float(self.label_smoothing)
        if self._label_binarizer.y_type_ == "multiclass":
            return CrossEntropy(label_smoothing=eps)
        binary = BinaryCrossEntropy(from_logits=True, label_smoothing=eps)
        return binary if n_outputs == 1 else SummedOverOutputs(binary)  # K = 1: the same sum

    def _probabilities(self) -> Callable[[Any], np.ndarray] | None:
        return self.predict_proba

    def _classes(self) -> list[Any] | None:
        if self._label_binarizer.y_type_ not in ("binary", "multiclass"):
            return None  # multilabel: one probability per label, no single class
        return [c.item() if isinstance(c, np.generic) else c for c in self.classes_]

    def _output_activation(self, n_outputs: int) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _score_raw(self, raw: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None) -> float:
        binarizer = self._label_binarizer
        predicted = binarizer.inverse_transform(self._proba_from_raw(raw))
        return float(
            accuracy_score(binarizer.inverse_transform(Y), predicted, sample_weight=sample_weight)
        )

    def _targets_state(self) -> dict[str, Any]:
        classes = self.classes_
        return {
            "classes": {"values": classes.tolist(), "dtype": classes.dtype.str},
            "target_type": self._label_binarizer.y_type_,
        }

    def _restore_targets(self, meta: dict[str, Any]) -> None:
        dtype = np.dtype(meta["classes"]["dtype"])
        classes = np.asarray(meta["classes"]["values"], dtype=dtype)
        target_type = meta["target_type"]
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"unknown target type {target_type!r}")
        expected = 1 if target_type == "binary" else len(classes)
        if expected != self.n_outputs_:
            raise ValueError(
                f"{len(classes)} classes of a {target_type} target need {expected} outputs, "
                f"but the network has {self.n_outputs_}"
            )
        binarizer = LabelBinarizer()
        binarizer.classes_, binarizer.y_type_, binarizer.sparse_input_ = classes, target_type, False
        self._label_binarizer, self.classes_ = binarizer, classes

    # -- prediction -----------------------------------------------------------------------------
    def _proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        if self._label_binarizer.y_type_ == "multiclass":
            return CrossEntropy().link(raw)
        return BinaryCrossEntropy(from_logits=True).link(raw)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels ``(n_samples,)``, or an indicator matrix for multilabel targets."""
        proba = self._proba_from_raw(self._raw_output(X))
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities ``(n_samples, n_classes)`` in the order of ``classes_``.

        Binary: :math:`[1 - \\sigma(z), \\sigma(z)]`; multiclass: :math:`\\operatorname{softmax}(z)`;
        multilabel: :math:`\\sigma(z_k)` per label (rows need not sum to 1).
        """
        proba = self._proba_from_raw(self._raw_output(X))
        if proba.shape[1] == 1 and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """:math:`\\log` of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
