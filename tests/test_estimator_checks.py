"""scikit-learn's own estimator checks, run on chainrule's MLPClassifier and MLPRegressor.

The oracle is scikit-learn's test suite for third-party estimators: every check must pass,
none is marked as an expected failure. As scikit-learn does for its own MLP
(``sklearn/utils/_test_common/instance_generator.py``), the instances checked use
``max_iter=100``; the defaults themselves are untouched. The checks train many small networks
that stop at ``max_iter`` before converging, so — again as scikit-learn's ``test_estimators``
does — ConvergenceWarning is ignored inside the checks (pytest turns warnings into errors here).
Two more instances switch on chainrule's extensions (normalization, L1, clipping, warm-up,
label smoothing), which must pass the same checks; ``normalization="batch"`` passes all but
the two sample-weight-equivalence checks, which it cannot: a row of weight 2 is not two rows
for the batch's mean and variance (PyTorch's ``BatchNorm1d`` has no weights either).
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._testing import ignore_warnings
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import MLPClassifier, MLPRegressor

EXTENDED = {"l1": 1e-5, "clip_grad_norm": 5.0, "warmup_epochs": 2}
"""chainrule's extensions of scikit-learn's parameters, checked as well."""


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        MLPClassifier(max_iter=100, normalization="layer", label_smoothing=0.1, **EXTENDED),
        MLPRegressor(max_iter=100, normalization="layer", **EXTENDED),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    with ignore_warnings(category=ConvergenceWarning):
        check(estimator)


def test_check_count():
    """The number of checks run is reported in docs/sklearn.md; keep it honest."""
    marks = test_sklearn_estimator_checks.pytestmark
    (params,) = [m for m in marks if m.name == "parametrize"]
    assert len(params.args[1]) >= 100
    assert not any(getattr(p, "marks", ()) for p in params.args[1]), "no expected failures"


BATCH_NORM_CANNOT = {
    f"check_sample_weight_equivalence_on_{kind}_data": (
        "BatchNorm's batch statistics count rows: a weight-2 row is not two rows"
    )
    for kind in ("dense", "sparse")
}


@parametrize_with_checks(
    [MLPRegressor(max_iter=100, normalization="batch", **EXTENDED)],
    expected_failed_checks=lambda est: BATCH_NORM_CANNOT,
)
def test_sklearn_estimator_checks_batchnorm(estimator, check):
    with ignore_warnings(category=ConvergenceWarning):
        check(estimator)
