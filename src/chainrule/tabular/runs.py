"""A training run in words: which epoch the model kept and its scores (``chainrule info``, ``train``)."""

from __future__ import annotations

import math

from chainrule.training.history import History


def saved_epoch(history: History, restored: bool = False) -> int | None:
    """The epoch whose weights the model holds: the best one after early stopping or Ctrl-C.

    ``restored``: the run had early stopping on, so its best weights were put back at the end
    even when the patience never ran out.
    """
    if not len(history):
        return None
    stopped = history.stop_reason in ("interrupted", "early_stopping")
    if (stopped or restored) and history.best_epoch is not None:
        return history.best_epoch
    return history.epoch[-1]


def describe_history(
    history: History, planned_epochs: int | None = None, restored: bool = False
) -> list[tuple[str, str]]:
    """``(label, value)`` rows summarising a run, with the scores of the epoch that was kept.

    ``restored`` as in :func:`saved_epoch`.
    """
    reasons = {
        None: "",
        "early_stopping": " (early stopping: val_loss stopped improving)",
        "interrupted": " (interrupted by Ctrl-C)",
        "non_finite": " (stopped: the loss became NaN or infinite)",
    }
    run = str(len(history)) + (f" of {planned_epochs}" if planned_epochs else "")
    rows = [("epochs run", run + reasons.get(history.stop_reason, f" ({history.stop_reason})"))]
    kept = saved_epoch(history, restored)
    if kept is None:
        return rows
    position = history.epoch.index(kept)
    best = kept == history.best_epoch
    last = kept == history.epoch[-1]
    why = "best and last" if best and last else ("best" if best else "last")
    if best and not last:
        why = "best: lowest val_loss, restored at the end"
    rows.append(
        (
            "weights kept",
            f"epoch {kept + 1} ({why}; lowest val_loss at epoch {history.best_epoch + 1})"
            if history.best_epoch is not None and not best
            else f"epoch {kept + 1} ({why})",
        )
    )
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "rmse", "val_rmse"):
        values = history.history.get(key)
        if values and position < len(values):
            value = values[position]
            rows.append((f"  {key}", f"{value:.4g}" if math.isfinite(value) else str(value)))
    return rows
