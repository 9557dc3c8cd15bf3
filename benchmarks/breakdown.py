"""``python -m benchmarks.breakdown [--case tiny|medium]``: where an estimator epoch's time goes.

Fits chainrule's ``MLPClassifier`` in the setting of :mod:`benchmarks.tiny` (1000 epochs) or
:mod:`benchmarks.mlp`'s medium case (one epoch of 60000×784 float32) with a clock around each
part of the step — the matrix products, the batch gather, the bias additions and sums, the
activations, the loss, the optimizer — and prints each part's share of the fit. What no clock
covers (the loop, the layers' bookkeeping, the epoch's end, the fit's validation) is the
remainder. Each clock costs about 0.2 µs a call, so the parts are a little inflated; compare
them with each other, and time the whole with ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

OPTIMIZER = "optimizer step (update, apply)"
TRAINER_FIT = "Trainer.fit"


@contextmanager
def clocks(targets: list[tuple[Any, str, str]]) -> Iterator[dict[str, int]]:
    """Wrap ``getattr(owner, name)`` for each ``(owner, name, label)``; yield ns per label."""
    spent: dict[str, int] = {}
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in targets]

    def timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(fn):  # its work happens as it is iterated

            @functools.wraps(fn)
            def iterate(*args: Any, **kwargs: Any) -> Iterator[Any]:
                items = fn(*args, **kwargs)
                while True:
                    start = time.perf_counter_ns()
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    finally:
                        spent[label] = spent.get(label, 0) + time.perf_counter_ns() - start
                    yield item

            return iterate

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0) + time.perf_counter_ns() - start

        return run

    for owner, name, label in targets:
        setattr(owner, name, timed(owner.__dict__[name], label))
    try:
        yield spent
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def _targets() -> list[tuple[Any, str, str]]:
    from chainrule.estimators import _base as _objective
    from chainrule.network import activations, layers, optimizers
    from chainrule.training import solvers, trainer

    return [
        (layers.Dense, "forward", "dense layers (products, bias)"),
        (layers.Dense, "backward", "dense layers (products, bias)"),
        (activations.Sigmoid, "forward", "activations"),
        (activations.Sigmoid, "backward", "activations"),
        (activations.ReLU, "forward", "activations"),
        (activations.ReLU, "backward", "activations"),
        (_objective.L2Penalized, "__call__", "loss (value and gradient)"),
        (optimizers.GradientTransformation, "step", OPTIMIZER),
        (solvers.FitJob, "batches", "batch gather (shuffled rows)"),
        (trainer.Trainer, "fit", TRAINER_FIT),
    ]


def fit_setup(case: str) -> tuple[Callable[[], None], int]:
    """The estimator's fit for ``case`` (warm: run once before timing) and its epoch count."""
    if case == "tiny":
        from chainrule import MLPClassifier

        from .tiny import estimator

        return estimator(MLPClassifier, 1000)(), 1000
    from . import mlp

    X, y = mlp.mnist_shaped(60000)
    return mlp.chainrule_estimator(X, y, [784, 256, 10], 128)(), 1


@contextmanager
def clocked_optimizer(spent: dict[str, int], label: str) -> Iterator[None]:
    """Clock the solver's optimizer update too: it is a closure, reached through the solver."""
    from chainrule.training import solvers

    original_run = solvers.MiniBatch.run

    def run(self: Any, trainer: Any, job: Any) -> None:
        optimizer = self.optimizer
        update = optimizer.update

        def timed(*args: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return update(*args)
            finally:
                spent[label] = spent.get(label, 0) + time.perf_counter_ns() - start

        self.optimizer = optimizer._replace(update=timed)
        try:
            original_run(self, trainer, job)
        finally:
            self.optimizer = optimizer

    solvers.MiniBatch.run = run
    try:
        yield
    finally:
        solvers.MiniBatch.run = original_run


def breakdown(case: str, repeats: int = 3) -> list[tuple[str, float]]:
    """Milliseconds per fit by part, the median fit's, with the unclocked remainder last."""
    run, _ = fit_setup(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point
        run()
        results = []
        for _ in range(repeats):
            with clocks(_targets()) as spent, clocked_optimizer(spent, OPTIMIZER):
                start = time.perf_counter_ns()
                run()
                total = time.perf_counter_ns() - start
            results.append((total, dict(spent)))
    total, spent = sorted(results, key=lambda r: r[0])[len(results) // 2]
    in_trainer = spent.pop(TRAINER_FIT)
    rows = [(label, ns / 1e6) for label, ns in sorted(spent.items(), key=lambda kv: -kv[1])]
    rest = (in_trainer - sum(spent.values())) / 1e6
    rows.append(("the rest of Trainer.fit: loop, bias additions, bookkeeping, epoch end", rest))
    rows.append(("the estimator's set-up: validation, labels, network", (total - in_trainer) / 1e6))
    rows.append(("whole fit", total / 1e6))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("tiny", "medium"), default="tiny")
    args = parser.parse_args(argv)
    rows = breakdown(args.case)
    whole = rows[-1][1]
    print(f"chainrule MLPClassifier, {args.case} case: where the fit's time goes")
    for label, ms in rows:
        print(f"  {label:<62} {ms:9.2f} ms  {100 * ms / whole:5.1f} %")


if __name__ == "__main__":
    main()
