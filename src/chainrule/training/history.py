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
        ``None`` (ran all epochs), ``"early_stopping"``, ``"non_finite"`` or ``"interrupted"``.
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
