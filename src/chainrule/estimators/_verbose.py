"""scikit-learn's ``verbose=True``: one ``Iteration n, loss = …`` line per epoch on standard output.

The estimators keep scikit-learn's meaning of ``verbose`` (what ``MLPClassifier`` prints),
not Keras' progress bar: code written for scikit-learn's estimators, and the logs it
produces, read the same.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from chainrule.training.callbacks import Callback

if TYPE_CHECKING:
    from chainrule.training.callbacks import Loop


class SklearnVerbose(Callback):
    """Print ``Iteration %d, loss = %.8f`` (and ``Validation score: %f``) as scikit-learn does."""

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        print(f"Iteration {epoch + 1}, loss = {logs['loss']:.8f}", file=sys.stdout)
        if "val_score" in logs:
            print(f"Validation score: {logs['val_score']:f}", file=sys.stdout)
