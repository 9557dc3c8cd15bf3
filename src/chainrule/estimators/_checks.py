"""The estimators' argument checks that scikit-learn's own validation leaves open.

* ``class_weight`` and the sample weights it yields: finite, non-negative, not all zero;
* a ``solver`` changed between ``partial_fit`` calls: the optimizer state of the old solver
  (Adam's moments, SGD's velocity) does not fit the new one, so it is dropped with a
  warning and the new solver starts from fresh state — the weights are kept.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from chainrule.training.checks import check_sample_weight


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


def check_weights(sample_weight: np.ndarray | None, n: int) -> None:
    """Raise ``ValueError`` for weights that are non-finite, negative or all zero."""
    if sample_weight is not None:
        check_sample_weight(np.asarray(sample_weight, dtype=float), n)


def optimizer_state_for(est: Any) -> Any | None:
    """A copy of the saved optimizer state when it belongs to ``est.solver``, else ``None``."""
    state = getattr(est, "_opt_state", None)
    if state is None:
        return None
    previous = getattr(est, "_opt_solver", est.solver)
    if previous != est.solver:
        warnings.warn(
            f"solver changed from {previous!r} to {est.solver!r} between partial_fit calls; "
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
