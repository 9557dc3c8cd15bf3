"""Waiting on a Dask cluster: one clear error for lost workers and for paused ones.

Every result chainrule waits for on a cluster (preprocessing statistics, shards, gradients)
goes through :func:`gather` (or :func:`compute`, for a dask collection), so a fit never
waits for ever: a worker lost for good becomes one :class:`WorkerLostError`, and a worker
Dask keeps paused for lack of memory becomes one :class:`MemoryError` naming its memory
limit.
"""

from __future__ import annotations

import time
from typing import Any


class WorkerLostError(RuntimeError):
    """Dask gave up on a task (its workers kept dying); the fit stops with this one error."""


class ScatteredDataLost(WorkerLostError):
    """Dask lost every copy of values the client had sent to the workers (``scatter``).

    Scattered data has no recipe to recompute it, and Dask keeps one copy of it (its active
    memory manager drops the spare ones), so a worker that dies can take it away; tasks
    submitted on it are then cancelled for "lost dependencies". Sending the values again
    recovers (:class:`chainrule.dask._engine.Broadcast`).
    """


LOST = "lost dependencies"
"""The reason Dask gives for cancelling a task whose input is gone for good."""

PAUSED_SECONDS = 30.0
"""How long a worker may stay paused (at 80 % of its memory limit) while a fit waits on it."""


def gather(client: Any, futures: Any) -> Any:
    """``client.gather`` that turns Dask's worker-loss errors into one :class:`WorkerLostError`,
    and a worker paused for lack of memory into one :class:`MemoryError` (:func:`wait`)."""
    import distributed

    cancelled = (distributed.client.FutureCancelledError, distributed.client.FuturesCancelledError)
    try:
        wait(client, futures)
        return client.gather(futures)
    except (distributed.KilledWorker, *cancelled) as exc:
        reasons = {g.reason for g in getattr(exc, "error_groups", [exc]) if hasattr(g, "reason")}
        error = ScatteredDataLost if reasons == {LOST} else WorkerLostError
        raise error(
            f"Dask lost the workers holding the training data and could not recompute it "
            f"({type(exc).__name__}: {exc}); the fit stopped, the estimator is unchanged."
        ) from exc


def compute(*collections: Any) -> tuple[Any, ...]:
    """``dask.compute(*collections)`` on the current client, through :func:`gather`."""
    import distributed

    client = distributed.get_client()
    return tuple(gather(client, client.compute(list(collections))))


def wait(client: Any, futures: Any, paused_for: float | None = None) -> None:
    """Wait until ``futures`` are done, unless a worker stays paused for ``paused_for`` seconds
    (default :data:`PAUSED_SECONDS`).

    Dask pauses a worker whose memory passes 80 % of its limit and resumes it only when the
    memory falls; a worker paused in the middle of a task that needs more memory than it has
    never resumes, and without this check the fit would wait on it for ever.
    """
    import distributed

    paused_for = PAUSED_SECONDS if paused_for is None else paused_for
    paused_since: float | None = None
    while True:
        try:
            distributed.wait(futures, timeout=2.0)
            return
        except TimeoutError:
            pass
        try:
            workers = client.scheduler_info().get("workers", {})
        except OSError:
            continue  # the scheduler is busy or restarting: gather reports a lost worker
        paused = [w for w in workers.values() if w.get("status") == "paused"]
        if not paused:
            paused_since = None
            continue
        paused_since = paused_since or time.monotonic()
        if time.monotonic() - paused_since >= paused_for:
            limit = min(w.get("memory_limit") or 0 for w in paused)
            raise MemoryError(
                f"{len(paused)} of {len(workers)} Dask workers stayed paused for "
                f"{paused_for:g} s, their memory above 80 % of their limit, while this fit "
                f"waited on them: a worker's memory limit is {size(limit)} (memory_limit), too "
                "little for its share of the rows; add workers, raise their memory limit, or "
                "split the data into smaller partitions."
            )


def size(n: float) -> str:
    """Bytes as ``"1.50 GiB"`` or ``"320 MiB"``."""
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
