"""``DaskMLPClassifier``: :class:`~chainrule.MLPClassifier` trained on a Dask cluster."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from chainrule.dask import _data
from chainrule.dask._estimator import DaskMLPMixin, dask_init
from chainrule.estimators._base import BaseMLP, check_class_weight
from chainrule.estimators._classifier import MLPClassifier


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
        ``early_stopping`` watches ``eval_set`` (see :meth:`fit`); the ``sgd`` rate schedules,
        ``normalization``, ``l1``, ``clip_grad_norm``, ``warmup_epochs`` and
        ``label_smoothing`` are left to the local estimator).

    Attributes
    ----------
    preprocessor_ : TablePreprocessor or None
        For a DataFrame with text columns: the encoding, statistics from Dask reductions.
    n_partitions_, n_rows_, n_shards_ : int
        Partitions and rows trained on, and the per-worker shards they were merged into.
    client_ : distributed.Client
        The client in use (``client``, or the current one); not pickled.
    others
        Those of :class:`~chainrule.MLPClassifier`.
    """

    _parameter_constraints: ClassVar[dict] = {
        **MLPClassifier._parameter_constraints,
        **DaskMLPMixin._dask_constraints,
    }
    __init__ = dask_init(MLPClassifier)

    def _local_class(self) -> type[BaseMLP]:
        return MLPClassifier

    def _target_encoder(self, y: Any, warm: bool) -> tuple[Any, int, np.ndarray | None]:
        if not _data.is_dask(y) or getattr(y, "ndim", 1) != 1:
            raise TypeError("y must be a 1-D dask array or a dask Series of class labels.")
        classes = _data.pd_unique(np.asarray(_data.distinct(y)))
        if len(classes) < 2:
            raise ValueError(f"y holds only one class ({classes[0]!r}); a classifier needs two.")
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the previous "
                f"call to fit. Previously got {self.classes_}, `y` has {classes}."
            )
        binarizer = LabelBinarizer().fit(classes)
        self._label_binarizer, self.classes_ = binarizer, binarizer.classes_
        encode = functools.partial(_data.class_codes, self.classes_)
        return encode, 1 if len(classes) == 2 else len(classes), self._class_table(y)

    def _class_table(self, y: Any) -> np.ndarray | None:
        """``class_weight`` as one weight per class code (scikit-learn's
        ``compute_sample_weight``: a dict's missing classes weigh 1; ``"balanced"`` weighs
        class :math:`k` by :math:`N / (K N_k)`, the counts :math:`N_k` from one Dask reduction)."""
        if self.class_weight is None:
            return None
        check_class_weight(self.class_weight)
        classes = self.classes_
        if self.class_weight == "balanced":
            counts = _data.class_counts(y, classes)
            return counts.sum() / (len(classes) * counts)
        return np.array([float(self.class_weight.get(c, 1.0)) for c in classes])

    def _target_bytes(self, y: Any) -> int:
        return 1  # a class code (uint8 up to 256 classes)

    def predict(self, X: Any) -> Any:
        """Class labels ``(N,)``: lazy, block by block, for dask input (a dask Series with
        ``X``'s index and divisions for a DataFrame, a dask array for an array)."""
        return self._lazy("predict", X, None, self.classes_.dtype)

    def predict_proba(self, X: Any) -> Any:
        """Probabilities ``(N, n_classes)``: lazy for dask input (a dask DataFrame whose
        columns are :attr:`classes_` for a DataFrame, a dask array for an array)."""
        return self._lazy("predict_proba", X, list(self.classes_), np.float64)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Accuracy; a lazy dask scalar for dask input (``float(...)`` or ``.compute()``)."""
        if not _data.is_dask(X):
            return self.to_local().score(X, y, sample_weight)
        if _data.is_frame(X):
            return self._frame_score(X, y, sample_weight)
        hits = self.predict(X) == self._lazy_target(y)
        if sample_weight is None:
            return hits.mean()
        w = self._lazy_target(sample_weight)
        return (hits * w).sum() / w.sum()
