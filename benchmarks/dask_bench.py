"""chainrule.dask measured: per-iteration cost, partitions, client bytes, and a race with Spark.

    python -m benchmarks.dask_bench [--sections pairs rows partitions overhead stream race]
        [--rows 100000 1000000] [--pairs 3] [--no-spark] [--plot docs/dask.png]

The rows are generated *on the workers* (``dask.delayed`` blocks of a seeded generator: a
fixed 20-32-3 tanh teacher network labels Gaussian features), so no row passes through the
client; the local estimator gets the same rows generated in-process. Network 20 -> 32
(logistic) -> 3, full-batch L-BFGS (``tol=0``) everywhere. Tables printed:

1. seconds per L-BFGS iteration against rows (local, 1 worker, 2 workers; median over the
   iterations after the first), with the bytes the client process read from its sockets per
   iteration;
2. 4 against 64 input partitions of the same rows on 2 workers;
3. per-evaluation overhead: the same evaluation on 100 rows (compute ~0), which is what a
   round trip through the scheduler costs;
4. time to equal held-out accuracy against Spark MLlib's ``MultilayerPerceptronClassifier``
   (same layers, ``local[2]``, each with its own default initial weights), for several
   target accuracies;
5. 2 workers against the local fit at ``--pair-rows`` rows, ``--pairs`` times interleaved
   (median and range of the ratio);
6. held against streamed rows: the same fit on workers whose ``memory_limit`` (450 MiB) makes
   them stream their partitions from the source (here: the generator) every evaluation.

Every section prints the machine's load average before and after it (the machine is shared).

A script, not a test: it prints what it measured in this run, baselines interleaved.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import time

import dask
import dask.array as da
import distributed
import numpy as np
from distributed.comm import tcp

from chainrule import MLPClassifier
from chainrule.dask import DaskMLPClassifier
from chainrule.training.callbacks import Callback

FEATURES, HIDDEN, CLASSES = 20, 32, 3
RECEIVED = [0]


def _count_bytes() -> None:
    original = tcp.from_frames

    async def counting(frames, *args, **kwargs):  # every message the client process reads
        RECEIVED[0] += sum(memoryview(f).nbytes for f in frames)
        return await original(frames, *args, **kwargs)

    tcp.from_frames = counting


def block(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` Gaussian feature rows and the labels of a fixed tanh teacher (seed 0) plus
    Gumbel noise: ``argmax(3 tanh(X A) B + G)``."""
    teacher = np.random.default_rng(0)
    A = teacher.standard_normal((FEATURES, HIDDEN)) / math.sqrt(FEATURES)
    B = teacher.standard_normal((HIDDEN, CLASSES))
    rng = np.random.default_rng([1, seed])
    X = rng.standard_normal((rows, FEATURES))
    logits = 3 * np.tanh(X @ A) @ B + rng.gumbel(size=(rows, CLASSES))
    return X, logits.argmax(1)


def dask_rows(rows: int, partitions: int, seed: int = 0) -> tuple[da.Array, da.Array]:
    """``rows`` rows in ``partitions`` blocks, each generated on a worker."""
    sizes = [rows // partitions + (i < rows % partitions) for i in range(partitions)]
    pairs = [dask.delayed(block, nout=2)(seed * 100_003 + i, n) for i, n in enumerate(sizes)]
    X = da.concatenate(
        [
            da.from_delayed(p[0], (n, FEATURES), np.float64)
            for p, n in zip(pairs, sizes, strict=True)
        ]
    )
    y = da.concatenate(
        [da.from_delayed(p[1], (n,), np.int64) for p, n in zip(pairs, sizes, strict=True)]
    )
    return X, y


def local_rows(rows: int, partitions: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The same rows as :func:`dask_rows`, generated here."""
    sizes = [rows // partitions + (i < rows % partitions) for i in range(partitions)]
    parts = [block(seed * 100_003 + i, n) for i, n in enumerate(sizes)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class Timer(Callback):
    """Wall-clock time at the end of every iteration, held-out accuracy optionally (its own
    cost excluded from the times)."""

    def __init__(self, held: tuple[np.ndarray, np.ndarray] | None = None, est=None) -> None:
        self.marks: list[float] = []
        self.accuracy: list[float] = []
        self.held, self.est, self.excluded = held, est, 0.0

    def on_train_begin(self, trainer) -> None:
        self.start, self.excluded = time.perf_counter(), 0.0

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        now = time.perf_counter()
        self.marks.append(now - self.start - self.excluded)
        if self.held is not None:
            X, y = self.held
            scores = trainer.network.predict(X)
            self.accuracy.append(float(np.mean(scores.argmax(1) == y)))
            self.excluded += time.perf_counter() - now

    def per_iteration(self) -> float:
        steps = np.diff(self.marks)
        return float(statistics.median(steps)) if len(steps) else math.nan


def params(iters: int, timer: Timer) -> dict:
    return dict(
        hidden_layer_sizes=(HIDDEN,), activation="logistic", solver="lbfgs", alpha=0.0,
        max_iter=iters, tol=0.0, random_state=0, callbacks=[timer],
    )  # fmt: skip


def cluster(workers: int, memory_limit: str = "8GiB") -> distributed.LocalCluster:
    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR, memory_limit=memory_limit,
    )  # fmt: skip


def load() -> str:
    """The 1-minute load average (2 cores: above 2 means other jobs were competing)."""
    return f"{os.getloadavg()[0]:.1f}"


def run_local(rows: int, iters: int) -> dict:
    X, y = local_rows(rows, 4)
    timer = Timer()
    MLPClassifier(**params(iters, timer)).fit(X, y)
    return {"seconds": timer.per_iteration()}


def local_or_nan(rows: int, iters: int) -> float:
    """:func:`run_local`'s seconds per iteration, or NaN where this machine's memory refuses
    the full-batch fit (its one-sentence ``MemoryError`` is printed)."""
    try:
        return run_local(rows, iters)["seconds"]
    except MemoryError as exc:
        print(f"  local fit refused at {rows:,} rows: {exc}", flush=True)
        return math.nan


def run_dask(client, rows: int, iters: int, partitions: int) -> dict:
    X, y = dask_rows(rows, partitions)
    timer = Timer()
    RECEIVED[0] = 0
    clf = DaskMLPClassifier(**params(iters, timer), client=client).fit(X, y)
    return {"seconds": timer.per_iteration(), "bytes": RECEIVED[0] / clf.n_iter_,
            "evals": clf.evaluations_ / clf.n_iter_, "shards": clf.n_shards_,
            "streamed": clf.streamed_}  # fmt: skip


def pairs(rows: int, iters: int, count: int) -> list[tuple[float, float]]:
    """``count`` interleaved (local, 2 workers) per-iteration times at ``rows`` rows."""
    out = []
    with cluster(2) as c, distributed.Client(c) as client:
        for k in range(count):
            if k % 2 == 0:
                local = run_local(rows, iters)["seconds"]
                dask2 = run_dask(client, rows, iters, 16)["seconds"]
            else:
                dask2 = run_dask(client, rows, iters, 16)["seconds"]
                local = run_local(rows, iters)["seconds"]
            out.append((local, dask2))
            print(f"  pair {k + 1}: local {local:.3f} s, 2 workers {dask2:.3f} s", flush=True)
    return out


def streaming(rows: int, iters: int) -> list[tuple[str, float, bool]]:
    """Held (8 GiB workers) against streamed (450 MiB workers) rows, interleaved twice."""
    out = []
    held, small = cluster(2), cluster(2, memory_limit="450MiB")
    clients = {"held": distributed.Client(held), "streamed": distributed.Client(small)}
    try:
        for name in ("held", "streamed", "held", "streamed"):
            r = run_dask(clients[name], rows, iters, 16)
            out.append((name, r["seconds"], r["streamed"]))
            print(f"  {name}: {r['seconds']:.3f} s/iteration", flush=True)
    finally:
        for c in [*clients.values(), held, small]:
            c.close()
    return out


def scaling(rows_list: list[int], iters: int) -> list[dict]:
    results = []
    clusters = {w: cluster(w) for w in (1, 2)}
    clients = {w: distributed.Client(c) for w, c in clusters.items()}
    try:
        for rows in rows_list:
            n = iters if rows <= 1_000_000 else max(3, iters // 2)
            row = {"rows": rows, "local": local_or_nan(rows, n)}
            for w in (1, 2):
                r = run_dask(clients[w], rows, n, 16)
                row[f"dask{w}"], row[f"bytes{w}"] = r["seconds"], r["bytes"]
            row["local_again"] = local_or_nan(rows, n)  # interleaved baseline
            results.append(row)
            print(f"  measured {rows:,} rows (load {load()})", flush=True)
    finally:
        for c in [*clients.values(), *clusters.values()]:
            c.close()
    return results


def partition_counts(rows: int, iters: int) -> list[tuple[int, float]]:
    """4 against 64 input partitions of the same rows on 2 workers, interleaved twice."""
    with cluster(2) as c, distributed.Client(c) as client:
        return [(p, run_dask(client, rows, iters, p)["seconds"]) for p in (4, 64, 4, 64)]


def overheads() -> tuple[float, float]:
    """Per-iteration time on 100 rows (compute nil) with 1 and 2 workers."""
    out = []
    for w in (1, 2):
        with cluster(w) as c, distributed.Client(c) as client:
            out.append(run_dask(client, 100, 30, 2)["seconds"])
    return out[0], out[1]


def race(rows: int, held_rows: int, iters: int, spark: bool) -> tuple[dict, list[float]]:
    """Held-out accuracy against time for Dask (2 workers; float64 rows, then the same rows
    cast to float32 on the workers) and Spark MLlib (local[2]), and the target accuracies:
    the lower of the best accuracies, and 0.5, 1 and 2 points below it.

    The Dask fits run twice, before and after Spark's, and each point is their mean time, so
    a change in the shared machine's load lands on both engines.
    """
    Xt, yt = local_rows(held_rows, 1, seed=7)
    runs: dict[str, list[list[tuple[float, float]]]] = {}

    def dask_fits() -> None:
        with cluster(2) as c, distributed.Client(c) as client:
            X, y = dask_rows(rows, 16)
            for name, features in (("float64", X), ("float32", X.astype(np.float32))):
                timer = Timer((Xt, yt))
                DaskMLPClassifier(**params(iters, timer), client=client).fit(features, y)
                curve = list(zip(timer.marks, timer.accuracy, strict=True))
                runs.setdefault(f"chainrule.dask, 2 workers, {name}", []).append(curve)
                print(f"  chainrule.dask {name}: {curve[-1][0]:.2f} s, accuracy "
                      f"{curve[-1][1]:.4f} (load {load()})", flush=True)  # fmt: skip

    dask_fits()
    curves: dict[str, list[tuple[float, float]]] = {}
    best = min(max(a for _, a in c[0]) for c in runs.values())
    if spark:
        curves["Spark MLlib MLP, local[2]"], best = spark_curve(rows, Xt, yt, iters, best)
    dask_fits()
    for name, (first, second) in runs.items():
        curves[name] = [((t1 + t2) / 2, a1) for (t1, a1), (t2, _) in zip(first, second, strict=True)]  # fmt: skip
    return curves, targets(best)


def targets(best: float) -> list[float]:
    """The race's target accuracies: ``best`` floored to three decimals, and 0.5, 1 and 2
    points below it."""
    top = math.floor(best * 1000) / 1000
    return [round(top - d, 3) for d in (0.02, 0.01, 0.005, 0.0)]


def spark_curve(
    rows: int, Xt, yt, iters: int, best: float
) -> tuple[list[tuple[float, float]], float]:
    """Spark's fit time and accuracy at the smallest ``maxIter`` that reaches each target.

    Spark reports no curve, so it is refitted: first on a coarse grid of ``maxIter``, then
    by bisection between the grid's points around each target accuracy (its L-BFGS with
    ``tol=0`` and a seed is deterministic, so accuracy is a function of ``maxIter``). Each
    point is that fit's own time, what a user who knew the right ``maxIter`` would pay.
    Returns the points in ``maxIter`` order and the targets' top (the lower best accuracy).
    """
    import pandas as pd
    from pyspark.ml.classification import MultilayerPerceptronClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "6g").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate()
    )  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    names = [f"f{i}" for i in range(FEATURES)]
    assemble = VectorAssembler(inputCols=names, outputCol="features")

    def frame(A, b):
        table = pd.DataFrame(A, columns=names).assign(label=b.astype(float))
        return assemble.transform(spark.createDataFrame(table)).select("features", "label")

    X, y = local_rows(rows, 16)
    train = frame(X, y).repartition(16).cache()
    train.count()
    test = frame(Xt, yt).cache()
    test.count()
    points: dict[int, tuple[float, float]] = {}

    def fit(k: int) -> float:
        mlp = MultilayerPerceptronClassifier(
            layers=[FEATURES, HIDDEN, CLASSES], maxIter=k, tol=0.0, solver="l-bfgs", seed=0
        )
        started = time.perf_counter()
        model = mlp.fit(train)
        seconds = time.perf_counter() - started
        predicted = model.transform(test).select("prediction").toPandas()["prediction"]
        points[k] = (seconds, float(np.mean(predicted.to_numpy() == yt)))
        print(f"  Spark maxIter={k}: {seconds:.2f} s, accuracy {points[k][1]:.4f}", flush=True)
        return points[k][1]

    fit(2)  # the JVM's warm-up, not counted
    points.clear()
    for k in sorted({max(1, int(iters * f)) for f in (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)}):
        fit(k)
    best = min(best, max(a for _, a in points.values()))
    for target in targets(best):
        reached = [k for k in sorted(points) if points[k][1] >= target]
        if not reached:
            continue
        hi = reached[0]
        lo = max([k for k in points if k < hi], default=0)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if fit(mid) >= target else (mid, hi)
    spark.stop()
    return [points[k] for k in sorted(points)], best


def first_reaching(curve: list[tuple[float, float]], target: float) -> float:
    return next((t for t, a in curve if a >= target), math.nan)


def section_pairs(args: argparse.Namespace) -> list:
    print(f"[pairs: load {load()}]", flush=True)
    pair = pairs(args.pair_rows, args.iters, args.pairs)
    ratios = [d / loc for loc, d in pair]
    print(
        f"\n## 2 workers against local, {args.pair_rows:,} rows, {args.pairs} interleaved "
        f"pairs (s per L-BFGS iteration, median of {args.iters - 1}) [load after {load()}]"
    )
    print("| pair | local | 2 workers | ratio |")
    print("|---|---|---|---|")
    for k, ((loc, d), r) in enumerate(zip(pair, ratios, strict=True)):
        print(f"| {k + 1} | {loc:.3f} | {d:.3f} | {r:.2f}x |")
    print(f"ratio: median {statistics.median(ratios):.2f}x, range "
          f"{min(ratios):.2f}x to {max(ratios):.2f}x")  # fmt: skip
    return pair


def section_rows(args: argparse.Namespace) -> list:
    print(f"[rows: load {load()}]", flush=True)
    results = scaling(args.rows, args.iters)
    print(f"\n## Seconds per L-BFGS iteration (20-32-3, 16 partitions, median after the "
          f"first) [load after {load()}]")  # fmt: skip
    print("| rows | local | local (again) | dask, 1 worker | dask, 2 workers | 2 workers / local | client B/iter (1 worker) | client B/iter (2 workers) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        base = statistics.mean([r["local"], r["local_again"]])
        print(f"| {r['rows']:,} | {r['local']:.3f} | {r['local_again']:.3f} | "
              f"{r['dask1']:.3f} | {r['dask2']:.3f} | {r['dask2'] / base:.2f}x | "
              f"{r['bytes1']:,.0f} | {r['bytes2']:,.0f} |")  # fmt: skip
    return results


def section_partitions(args: argparse.Namespace) -> None:
    print(f"[partitions: load {load()}]", flush=True)
    parts = partition_counts(args.pair_rows, args.iters)
    print(
        f"\n## Input partitions, {args.pair_rows:,} rows, 2 workers (interleaved) "
        f"[load after {load()}]"
    )
    print("| partitions | s / iteration |")
    print("|---|---|")
    for p, seconds in parts:
        print(f"| {p} | {seconds:.3f} |")
    four = statistics.mean(s for p, s in parts if p == 4)
    many = statistics.mean(s for p, s in parts if p == 64)
    print(f"64 / 4 partitions (means): {many / four:.2f}x")


def section_overhead(args: argparse.Namespace) -> None:
    print(f"[overhead: load {load()}]", flush=True)
    one, two = overheads()
    print(f"\n## Per-iteration overhead (100 rows: compute ~0) [load after {load()}]")
    print(f"1 worker: {one * 1e3:.1f} ms, 2 workers: {two * 1e3:.1f} ms")


def section_stream(args: argparse.Namespace) -> None:
    print(f"[stream: load {load()}]", flush=True)
    runs = streaming(args.pair_rows, args.iters)
    print(
        f"\n## Held against streamed rows, {args.pair_rows:,} rows, 2 workers [load after {load()}]"
    )
    print("| rows | s / iteration | streamed |")
    print("|---|---|---|")
    for name, seconds, streamed in runs:
        print(f"| {name} | {seconds:.3f} | {streamed} |")


def section_race(args: argparse.Namespace) -> dict:
    print(f"[race: load {load()}]", flush=True)
    curves, targets = race(args.race_rows, 20_000, args.race_iters, not args.no_spark)
    print(f"\n## Time to held-out accuracy, {args.race_rows:,} rows (seconds; best final "
          f"{targets[-1]:.3f}) [load after {load()}]")  # fmt: skip
    print("| engine | " + " | ".join(f"acc >= {t:.3f}" for t in targets) + " |")
    print("|---|" + "---|" * len(targets))
    firsts = {name: [first_reaching(c, t) for t in targets] for name, c in curves.items()}
    for name, cells in firsts.items():
        print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in cells) + " |")
    spark = firsts.pop("Spark MLlib MLP, local[2]", None)
    for name, ours in firsts.items() if spark else ():
        ratios = " | ".join(f"{a / b:.2f}x" for a, b in zip(ours, spark, strict=True))
        print(f"| ratio, {name.rsplit(', ', 1)[1]} / Spark | {ratios} |")
    for name, curve in curves.items():
        print(f"{name}: " + ", ".join(f"({t:.1f} s, {a:.4f})" for t, a in curve[::5]))
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sections = ["pairs", "rows", "partitions", "overhead", "stream", "race"]
    parser.add_argument("--sections", nargs="+", choices=sections, default=sections)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--iters", type=int, default=8)
    parser.add_argument("--pair-rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--race-rows", type=int, default=200_000)
    parser.add_argument("--race-iters", type=int, default=100)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--plot", default=None)
    args = parser.parse_args()
    _count_bytes()
    # Under load, OpenBLAS's spinning threads make the local fit up to 20x slower (measured:
    # 0.76 against 0.037 s per iteration at 20,000 rows); the workers run one thread each.
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}", flush=True)
    pair = section_pairs(args) if "pairs" in args.sections else []
    results = section_rows(args) if "rows" in args.sections else []
    if "partitions" in args.sections:
        section_partitions(args)
    if "overhead" in args.sections:
        section_overhead(args)
    if "stream" in args.sections:
        section_stream(args)
    curves = section_race(args) if "race" in args.sections else {}
    if args.plot:
        plot(args.plot, results, curves, pair)


def plot(path: str, results: list[dict], curves: dict, pair: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if results:
        rows = [r["rows"] for r in results]
        for key, label in (("local", "local"), ("dask1", "dask, 1 worker"), ("dask2", "dask, 2 workers")):  # fmt: skip
            left.loglog(rows, [r[key] for r in results], "o-", label=label)
    left.set(xlabel="rows", ylabel="seconds per L-BFGS iteration", title="Cost per iteration")
    left.legend()
    for name, curve in curves.items():
        right.plot([t for t, _ in curve], [a for _, a in curve], ".-", label=name)
    right.set(xlabel="seconds", ylabel="held-out accuracy", title="Accuracy against time")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
