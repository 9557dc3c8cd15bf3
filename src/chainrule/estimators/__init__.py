"""scikit-learn estimators on chainrule's engine: :class:`MLPClassifier`, :class:`MLPRegressor`.

Drop-in replacements for ``sklearn.neural_network``'s estimators (same parameter names and
defaults, same fitted attributes), adding dropout, class weights, more solvers, losses and
initializations, a validation loss curve, a progress bar and chainrule callbacks.
"""

from chainrule.extras import require

require("sklearn", "scipy", purpose="chainrule.estimators")

from chainrule.estimators._classifier import MLPClassifier  # noqa: E402
from chainrule.estimators._regressor import MLPRegressor  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor"]
