"""Data-parallel training on a Dask cluster: the rows stay on the workers.

``pip install 'chainrule[dask]'``. :class:`DaskMLPClassifier` and :class:`DaskMLPRegressor`
are :class:`~chainrule.MLPClassifier` / :class:`~chainrule.MLPRegressor` plus ``client=``;
:func:`fit_table` trains a :class:`~chainrule.tabular.model.TabularModel` on a dask DataFrame
(what ``chainrule train --dask`` runs). Importing this package does not import Dask; fitting
checks the extra first.
"""

from chainrule.dask._engine import WorkerLostError
from chainrule.dask._tabular import fit_table
from chainrule.extras import require

__all__ = ["DaskMLPClassifier", "DaskMLPRegressor", "WorkerLostError", "fit_table"]


def __getattr__(name: str) -> object:
    # The estimators import scikit-learn, an optional dependency (the CLI's --dask path does
    # not need it): load them on first use, as chainrule.MLPClassifier is.
    if name == "DaskMLPClassifier":
        require("sklearn", "scipy", "dask", "distributed", purpose=f"chainrule.dask.{name}")
        from chainrule.dask._classifier import DaskMLPClassifier

        return DaskMLPClassifier
    if name == "DaskMLPRegressor":
        require("sklearn", "scipy", "dask", "distributed", purpose=f"chainrule.dask.{name}")
        from chainrule.dask._regressor import DaskMLPRegressor

        return DaskMLPRegressor
    raise AttributeError(f"module 'chainrule.dask' has no attribute {name!r}")
