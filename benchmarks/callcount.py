"""``python -m benchmarks.callcount``: how much of chainrule a small fit passes through.

Fits ``MLPClassifier((8,), max_iter=2)`` on 120×4 data (three classes, seed 0) with a
:func:`sys.setprofile` hook that records every Python function call whose code lives in the
``chainrule`` package, then prints the number of distinct functions, the number of distinct
files, and how many chainrule frames deep the deepest call stood below ``fit``. The figures
measure how much code a reader has to follow to understand one fit, not speed.

Functions are told apart by file, first line and name, so two functions of one name in one
file still count twice. Comprehensions and generator expressions are not counted (Python 3.12
inlines comprehensions, so counting them would make the figure depend on the interpreter);
lambdas are. The estimator's constructor and the data set are made before the hook is set, so
only ``fit`` is counted.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

INLINE = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
"""Code objects that are expressions, not functions a reader follows."""


@dataclass(frozen=True)
class CallCount:
    """What one fit passed through: distinct functions, distinct files and the deepest stack."""

    functions: frozenset[tuple[str, int, str]]
    depth: int

    @property
    def files(self) -> frozenset[str]:
        return frozenset(path for path, _, _ in self.functions)


def count_fit(hidden: tuple[int, ...] = (8,), max_iter: int = 2) -> CallCount:
    """Fit a small ``MLPClassifier`` under a profile hook and count the chainrule code it ran.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer sizes of the classifier.
    max_iter : int
        Epochs of the fit.

    Returns
    -------
    CallCount
        The distinct ``(file, first line, name)`` triples of chainrule functions called during
        ``fit``, and the most chainrule frames that stood on the stack at once.
    """
    import numpy as np

    import chainrule
    from chainrule.estimators import MLPClassifier

    package = str(Path(chainrule.__file__).resolve().parent)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = rng.integers(0, 3, size=120)
    estimator = MLPClassifier(hidden, max_iter=max_iter, random_state=0)
    seen: set[tuple[str, int, str]] = set()
    depth = 0
    stack = 0

    def hook(frame, event, arg):
        nonlocal depth, stack
        if event not in ("call", "return"):
            return
        path = frame.f_code.co_filename
        if not path.startswith(package):
            return
        if event == "call":
            code = frame.f_code
            if code.co_name in INLINE:
                return
            seen.add((str(Path(path).relative_to(package)), code.co_firstlineno, code.co_name))
            stack += 1
            depth = max(depth, stack)
        elif frame.f_code.co_name not in INLINE:
            stack -= 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two epochs do not converge; that is the point
        sys.setprofile(hook)
        try:
            estimator.fit(X, y)
        finally:
            sys.setprofile(None)
    return CallCount(frozenset(seen), depth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callcount", description=__doc__)
    parser.add_argument("--list", action="store_true", help="print every function, by file")
    args = parser.parse_args(argv)
    counted = count_fit()
    if args.list:
        for path, line, name in sorted(counted.functions):
            print(f"{path}:{line} {name}")
    print(
        f"MLPClassifier((8,), max_iter=2).fit on 120x4: {len(counted.functions)} distinct "
        f"chainrule functions in {len(counted.files)} files, {counted.depth} frames deep"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
