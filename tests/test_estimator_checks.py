"""scikit-learn's own estimator checks, run on chainrule's MLPClassifier and MLPRegressor.

The oracle is scikit-learn's test suite for third-party estimators: every check must pass,
none is marked as an expected failure. As scikit-learn does for its own MLP
(``sklearn/utils/_test_common/instance_generator.py``), the instances checked use
``max_iter=100``; the defaults themselves are untouched. The checks train many small networks
that stop at ``max_iter`` before converging, so — again as scikit-learn's ``test_estimators``
does — ConvergenceWarning is ignored inside the checks (pytest turns warnings into errors here).
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._testing import ignore_warnings
from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    with ignore_warnings(category=ConvergenceWarning):
        check(estimator)


def test_check_count():
    """The number of checks run is reported in the README; keep it honest."""
    marks = test_sklearn_estimator_checks.pytestmark
    (params,) = [m for m in marks if m.name == "parametrize"]
    assert len(params.args[1]) >= 100
    assert not any(getattr(p, "marks", ()) for p in params.args[1]), "no expected failures"
