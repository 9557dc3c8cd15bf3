"""Data-parallel training on a Dask cluster: the rows stay on the workers.

``pip install 'chainrule[dask]'``. :class:`DaskMLPClassifier` and :class:`DaskMLPRegressor`
are :class:`~chainrule.MLPClassifier` / :class:`~chainrule.MLPRegressor` plus ``client=``;
:func:`fit_table` trains a :class:`~chainrule.tabular.model.TabularModel` on a dask DataFrame
(what ``chainrule train --dask`` runs). Importing this package does not import Dask; fitting
checks the extra first.
"""

from chainrule.dask._classifier import DaskMLPClassifier
from chainrule.dask._engine import WorkerLostError
from chainrule.dask._regressor import DaskMLPRegressor
from chainrule.dask._tabular import fit_table

__all__ = ["DaskMLPClassifier", "DaskMLPRegressor", "WorkerLostError", "fit_table"]
