"""What happened in training, epoch by epoch: the record every trainer keeps and saves."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass(repr=False)
class History:
    """What happened in training, epoch by epoch.

    **Counting epochs.** The attributes are Python indices into the per-epoch lists, counting
    from 0 (so ``history["val_loss"][history.best_epoch]`` is the best value); everything
    chainrule shows a person counts from 1 — the progress bar (``epoch 1/200``), the command
    line's summaries, the report, the plots' axes and this object's ``repr`` — so index ``k``
    is shown as epoch ``k + 1``. (A ``PrintEvery`` format string receives the index as
    ``{epoch}``, as the lecture's ``for epoch in range(1000)`` loop prints it.)

    Attributes
    ----------
    epoch : list of int
        Epoch indices, counting from 0 across successive ``fit`` calls.
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
        - ``"non_finite"``: the run diverged — the loss became NaN or infinite, or an epoch's
          loss exceeded ``DIVERGENCE_FACTOR`` (10^4) times the loss at the start of training
          (:mod:`chainrule.training.trainer`); the bad epoch is not recorded and the weights
          are those before it;
        - ``"interrupted"``: Ctrl-C; the best weights are put back.

        A callback may set any other string on ``trainer.stop_reason`` to stop training.
    best_epoch : int or None
        Index of the epoch with the lowest monitored loss (``val_loss``, else ``loss``); shown
        to people as epoch ``best_epoch + 1``.
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

    def _summary_parts(self) -> list[str]:
        parts = [f"{len(self)} epoch{'s' if len(self) != 1 else ''}"]
        for key in ("loss", "val_loss"):
            if self.history.get(key):
                parts.append(f"last {key} {self.history[key][-1]:.4g}")
        if self.best_epoch is not None:
            parts.append(f"best epoch {self.best_epoch + 1}")
        if self.stop_reason:
            parts.append(f"stopped: {self.stop_reason}")
        return parts

    def __repr__(self) -> str:  # short: every list in full would flood a notebook
        keys = ", ".join(self.history)
        return f"History({', '.join(self._summary_parts())}; keys: {keys})"

    def _repr_html_(self) -> str:
        """The last epoch's values and the best epoch, as an HTML table (Jupyter)."""
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v[-1]:.4g}</td></tr>"
            for k, v in self.history.items()
            if v and not k.startswith("grad_norm/")
        )
        head = html.escape(", ".join(self._summary_parts()))
        return (
            f"<div><b>History</b>: {head}<table><thead><tr><th>key</th>"
            f"<th>epoch {len(self)}</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )

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
