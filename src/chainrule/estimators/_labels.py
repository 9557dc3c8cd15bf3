"""Class labels to the indicator matrix the network trains on."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelBinarizer


def indicator_matrix(y: np.ndarray, binarizer: LabelBinarizer) -> np.ndarray:
    """``binarizer.transform(y)`` for targets already checked against its classes.

    Binary: one column, ``y == classes[1]``; multiclass: row :math:`n` has a 1 in the column
    of its class, found by binary search in the sorted ``classes_``. The same int64 matrix as
    scikit-learn's, without the half millisecond its re-checks of ``y`` take on every ``fit``
    (a thousand epochs of the lecture's network take 50 ms); multilabel goes to scikit-learn.
    """
    y_array = np.asarray(y)
    kind, classes = binarizer.y_type_, binarizer.classes_
    if y_array.ndim != 1 or kind not in ("binary", "multiclass") or len(classes) < 2:
        return binarizer.transform(y)
    if kind == "binary":
        return (y_array == classes[1]).astype(np.int64).reshape(-1, 1)
    Y = np.zeros((y_array.shape[0], len(classes)), dtype=np.int64)
    Y[np.arange(y_array.shape[0]), np.searchsorted(classes, y_array)] = 1
    return Y


def fit_binarizer(y: np.ndarray) -> LabelBinarizer:
    """A ``LabelBinarizer`` fitted on ``y``.

    A ``y`` of one class is accepted, as scikit-learn accepts it: its one column is all zeros,
    and ``predict`` returns that class.
    """
    return LabelBinarizer().fit(y)
