"""``python -m benchmarks.versus OLD_SRC [--rounds N]``: this checkout's Trainer against another's.

Times the Trainer on the two CPU cases of issue 15 — the lecture's setting (500×2, 2-4-1
sigmoid, full batch, 1000 epochs) and 60000×784 float32 → 256 → 10 ReLU, batch 128, one epoch
of SGD — once with ``chainrule`` imported from this checkout's ``src`` and once from
``OLD_SRC`` (e.g. a ``git worktree add /tmp/old <commit>`` checkout's ``src``). Each timing runs
in its own subprocess, the two versions alternating round by round (new, old, old, new, …), so
a burst of load lands on both; the ratio printed is the median of the per-round ratios.

The child times the same setups from :mod:`benchmarks.tiny` and :mod:`benchmarks.mlp` whatever
``chainrule`` it imports: only the library differs between the two columns.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW_SRC = HERE.parent / "src"

CHILD = """
import gc, json, statistics, sys, time
sys.path.insert(0, {root!r})
from benchmarks.tiny import chainrule_network
from benchmarks.mlp import chainrule_trainer, mnist_shaped
import chainrule
def median(setup, k):
    times = []
    for _ in range(k):
        run = setup(); gc.collect(); gc.disable()
        start = time.perf_counter(); run(); times.append(time.perf_counter() - start)
        gc.enable()
    return statistics.median(times)
out = {{"path": chainrule.__file__}}
out["tiny"] = median(chainrule_network(1000), {k_tiny})
X, y = mnist_shaped({rows})
setup = chainrule_trainer(X, y, [784, 256, 10], 128)
setup()()  # warm BLAS threads and caches
out["medium"] = median(setup, {k_medium})
print(json.dumps(out))
"""


def child(src: Path, rows: int, k_tiny: int, k_medium: int) -> dict[str, float]:
    """One subprocess timing both cases with ``chainrule`` from ``src``."""
    code = CHILD.format(root=str(HERE.parent), rows=rows, k_tiny=k_tiny, k_medium=k_medium)
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result.pop("path").startswith(str(src)):
        raise RuntimeError(f"the child did not import chainrule from {src}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__)
    parser.add_argument("old_src", type=Path, help="the other checkout's src folder")
    parser.add_argument("--rounds", type=int, default=6, help="subprocess pairs (default 6)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    args = parser.parse_args(argv)
    rows, k_tiny, k_medium = (1024, 1, 1) if args.quick else (60_000, 5, 3)
    times: dict[str, dict[str, list[float]]] = {"new": {}, "old": {}}
    ratios: dict[str, list[float]] = {}
    for r in range(args.rounds):
        order = ("new", "old") if r % 2 == 0 else ("old", "new")
        got = {}
        for which in order:
            got[which] = child(NEW_SRC if which == "new" else args.old_src, rows, k_tiny, k_medium)
            for case, seconds in got[which].items():
                times[which].setdefault(case, []).append(seconds)
        for case in got["new"]:
            ratios.setdefault(case, []).append(got["new"][case] / got["old"][case])
        print(f"round {r + 1}: " + json.dumps(got), flush=True)
    print(f"\nTrainer, this checkout vs {args.old_src} ({args.rounds} alternating subprocesses)")
    for case, rs in ratios.items():
        new, old = statistics.median(times["new"][case]), statistics.median(times["old"][case])
        print(
            f"{case:>7}: new {new * 1e3:8.1f} ms  old {old * 1e3:8.1f} ms  "
            f"new ÷ old (median of rounds) {statistics.median(rs):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
