"""Interleaved timing: every contender runs once per round, in a rotating order, medians win.

Timing A, then B, then A again on a shared machine lets a burst of someone else's work land on
one contender only; alternating them round by round and taking medians spreads such bursts
evenly, so the ratios of the medians are what the code costs, not what the neighbours did.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

Setup = Callable[[], Callable[[], object]]
"""Builds a contender's state (untimed) and returns the call to time."""


def interleaved(contenders: dict[str, Setup], repeats: int) -> dict[str, float]:
    """Median seconds of each contender's timed call over ``repeats`` interleaved rounds.

    Parameters
    ----------
    contenders : dict of str to callable
        ``setup()`` returns ``run``; only ``run()`` is timed, after a fresh ``setup()`` each
        round (so every round trains from the same initial state).
    repeats : int
        Rounds; round ``r`` starts with contender ``r mod len(contenders)``.

    Notes
    -----
    The garbage collector is off while a call is timed, as :mod:`timeit` does: in a process
    that has imported PyTorch and scikit-learn a full collection walks millions of objects
    they own, and would land on whichever contender happened to trigger it.
    """
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            run = contenders[name]()
            gc.collect()
            gc.disable()  # as timeit does: a collection belongs to whoever made the garbage
            try:
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
            del run
    return {name: statistics.median(t) for name, t in times.items()}


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is chainrule's time divided by this contender's (``None`` for chainrule itself);
    ``limit`` is the largest ratio that meets the target, when there is one.
    """

    case: str
    contender: str
    seconds: float | None
    ratio: float | None = None
    limit: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the target is met (``None`` when the row has no target)."""
        if self.limit is None or self.ratio is None:
            return None
        return self.ratio <= self.limit


def ratio_rows(
    case: str,
    medians: dict[str, float],
    chainrule: str,
    limits: dict[str, float | None],
    notes: dict[str, str] | None = None,
) -> list[Row]:
    """Rows for one case: ``chainrule``'s median divided by every other contender's."""
    notes = notes or {}
    ours = medians[chainrule]
    rows = []
    for name, seconds in medians.items():
        if name == chainrule:
            rows.append(Row(case, name, seconds, note=notes.get(name, "")))
        else:
            rows.append(
                Row(case, name, seconds, ours / seconds, limits.get(name), notes.get(name, ""))
            )
    return rows


def format_table(rows: list[Row]) -> str:
    """A plain-text table: case, contender, median time, ratio, target and verdict."""
    header = ("case", "contender", "median", "chainrule ÷ this", "target", "verdict")
    lines = [header]
    for row in rows:
        seconds = "" if row.seconds is None else _human_seconds(row.seconds)
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        target = "" if row.limit is None else f"≤ {row.limit:.2f}"
        verdict = {None: "", True: "met", False: "MISSED"}[row.met]
        if row.note:
            verdict = f"{verdict}  {row.note}".strip()
        lines.append((row.case, row.contender, seconds, ratio, target, verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def _human_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"
