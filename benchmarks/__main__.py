"""``python -m benchmarks [--quick] [--case tiny,medium,wide,scaling,memory]``.

Runs the chosen cases (all by default), printing each case's rows as soon as it finishes and the
whole table at the end. Every ratio is chainrule's median time divided by the contender's,
measured in this run with the repetitions interleaved; ``≤`` targets are met when the ratio is
at most the limit. ``--quick`` shrinks every case to a smoke run (seconds, not minutes) whose
figures mean nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable

from . import memory, mlp, scaling, tiny
from .timing import Row, format_table

CASES: dict[str, Callable[[bool], list[Row]]] = {
    "tiny": tiny.run,
    "medium": mlp.run_medium,
    "wide": mlp.run_wide,
    "scaling": scaling.run,
    "memory": memory.run,
}


def parse_cases(text: str) -> list[str]:
    """``"tiny,medium"`` -> ``["tiny", "medium"]``, rejecting unknown names with a clear error."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown case {', '.join(unknown) or '(none)'}; choose from {', '.join(CASES)}"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="chainrule against the lecture's loop, scikit-learn and PyTorch: ratios "
        "measured in one run, repetitions interleaved.",
    )
    parser.add_argument(
        "--case",
        type=parse_cases,
        default=list(CASES),
        help=f"comma-separated cases to run (default: all of {','.join(CASES)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run on tiny sizes; the figures mean nothing"
    )
    args = parser.parse_args(argv)

    import numpy as np

    print(
        f"chainrule benchmarks on {platform.machine()} {platform.processor() or ''}, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
        + (" (--quick: smoke run, figures meaningless)" if args.quick else ""),
        flush=True,
    )
    rows: list[Row] = []
    for name in args.case:
        start = time.perf_counter()
        case_rows = CASES[name](args.quick)
        rows += case_rows
        print(f"\n{name} ({time.perf_counter() - start:.0f} s)", flush=True)
        print(format_table(case_rows), flush=True)
    print("\nall cases\n" + format_table(rows))
    missed = [row for row in rows if row.met is False]
    print(f"\n{len(missed)} target(s) missed." if missed else "\nEvery timed target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
