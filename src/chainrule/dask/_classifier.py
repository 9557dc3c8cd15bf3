"""``DaskMLPClassifier``: :class:`~chainrule.MLPClassifier` trained on a Dask cluster."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from chainrule.dask import _data
from chainrule.dask._estimator import DaskMLPMixin
from chainrule.estimators._base import BaseMLP
from chainrule.estimators._classifier import MLPClassifier
from chainrule.training.callbacks import Callback


def _binarize(binarizer: LabelBinarizer, block: Any) -> np.ndarray:
    return np.ascontiguousarray(binarizer.transform(_data.as_vector(block)), dtype=np.float64)


class DaskMLPClassifier(DaskMLPMixin, MLPClassifier):
    """Multi-layer perceptron classifier trained where the partitions live (Dask).

    ``solver="lbfgs"`` minimises the single-machine objective with gradients summed over the
    partitions (a tree reduction per evaluation), so it reaches the weights of
    ``MLPClassifier(solver="lbfgs")`` on the same rows; ``"adam"`` / ``"sgd"`` train
    synchronously data-parallel (local steps, then model averaging). ``predict``,
    ``predict_proba`` and ``score`` on dask input return lazy dask arrays.

    Parameters
    ----------
    client : distributed.Client, optional
        Where to train; default: the current client (``distributed.get_client()``).
    sync_every : int, optional
        ``solver="adam"`` / ``"sgd"``: local mini-batch steps each partition takes between
        two averages of the parameters (:class:`~chainrule.dask._engine.DataParallel`);
        default: one pass over the partition (one average per epoch).
    others
        As in :class:`~chainrule.MLPClassifier` (``solver`` one of ``"lbfgs"``, ``"adam"``, ``"sgd"``;
        ``early_stopping``, ``warm_start``, ``class_weight`` and the ``sgd`` rate schedules are
        left to the local estimator).

    Attributes
    ----------
    preprocessor_ : TablePreprocessor or None
        For a DataFrame with text columns: the encoding, statistics from Dask reductions.
    n_partitions_, n_rows_ : int
        Partitions and rows trained on.
    others
        Those of :class:`~chainrule.MLPClassifier`.
    """

    _parameter_constraints: ClassVar[dict] = {
        **MLPClassifier._parameter_constraints,
        **DaskMLPMixin._dask_constraints,
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
        class_weight: dict | str | None = None,
        weight_init: str = "auto",
        callbacks: list[Callback] | None = None,
        normalization: str | None = None,
        l1: float = 0.0,
        clip_grad_norm: float | None = None,
        warmup_epochs: int = 0,
        label_smoothing: float = 0.0,
        device: str = "cpu",
        client: Any = None,
        sync_every: int | None = None,
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
        self.label_smoothing = label_smoothing
        self.device = device
        self.client = client
        self.sync_every = sync_every

    def _local_class(self) -> type[BaseMLP]:
        return MLPClassifier

    def _target_encoder(self, y: Any) -> Any:
        if not _data.is_dask(y) or getattr(y, "ndim", 1) != 1:
            raise TypeError("y must be a 1-D dask array or a dask Series of class labels.")
        classes = _data.pd_unique(np.asarray(_data.distinct(y)))
        if len(classes) < 2:
            raise ValueError(f"y holds only one class ({classes[0]!r}); a classifier needs two.")
        binarizer = LabelBinarizer().fit(classes)
        self._label_binarizer, self.classes_ = binarizer, binarizer.classes_
        return functools.partial(_binarize, binarizer), 1 if len(classes) == 2 else len(classes)

    def predict(self, X: Any) -> Any:
        """Class labels ``(N,)``: lazy, block by block, for dask input."""
        return self._lazy("predict", X, None, self.classes_.dtype)

    def predict_proba(self, X: Any) -> Any:
        """Probabilities ``(N, n_classes)``: lazy for dask input."""
        return self._lazy("predict_proba", X, len(self.classes_), np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Accuracy; a lazy dask scalar for dask input (``float(...)`` or ``.compute()``)."""
        if not _data.is_dask(X):
            return self.to_local().score(X, y, sample_weight)
        hits = self.predict(X) == self._lazy_target(y)
        if sample_weight is None:
            return hits.mean()
        w = self._lazy_target(sample_weight)
        return (hits * w).sum() / w.sum()
