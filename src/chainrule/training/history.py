"""What happened in training, epoch by epoch: the record every trainer keeps and saves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """What happened in training, epoch by epoch.

    Attributes
    ----------
    epoch : list of int
        Epoch numbers, counting from 0 across successive ``fit`` calls.
    history : dict of str to list of float
        ``"loss"``, ``"val_loss"`` (with validation data), each metric and ``"val_<metric>"``,
        and ``"lr"``, one value per epoch.
    stop_reason : str or None
        Why the last ``fit`` ended:

        - ``None``: it ran every epoch (every L-BFGS iteration) asked for;
        - ``"early_stopping"``: :class:`~chainrule.training.callbacks.EarlyStopping` saw no
          improvement for ``patience`` epochs;
        - ``"converged"``: the solver's convergence test passed — L-BFGS's gradient (``tol``)
          or relative-decrease test, or the estimators' scikit-learn rule (no ``tol``
          improvement for more than ``n_iter_no_change`` epochs);
        - ``"max_fun"``: L-BFGS spent its ``max_fun`` objective evaluations;
        - ``"abnormal"``: L-BFGS's line search failed (typically a loss flat to rounding);
        - ``"non_finite"``: the loss became NaN or infinite (the bad update is not applied);
        - ``"interrupted"``: Ctrl-C; the best weights are put back.

        A callback may set any other string on ``trainer.stop_reason`` to stop training.
    best_epoch : int or None
        Epoch with the lowest monitored loss (``val_loss``, else ``loss``).
    """

    epoch: list[int] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    stop_reason: str | None = None
    best_epoch: int | None = None

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's logs."""
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for model files."""
        return {
            "epoch": list(self.epoch),
            "history": {k: [float(x) for x in v] for k, v in self.history.items()},
            "stop_reason": self.stop_reason,
            "best_epoch": self.best_epoch,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls(
            epoch=[int(e) for e in data.get("epoch", [])],
            history={k: [float(x) for x in v] for k, v in data.get("history", {}).items()},
            stop_reason=data.get("stop_reason"),
            best_epoch=data.get("best_epoch"),
        )
