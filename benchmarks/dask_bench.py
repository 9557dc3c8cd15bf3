"""Dask data-parallel training against the local estimator and Spark MLlib's MLP.

    PYTHONPATH=src python benchmarks/dask_bench.py [--rows 100000] [--iters 50] [--no-spark]

One synthetic 3-class problem (``rows`` x 20 features, 16 partitions), the network
20 -> 32 (logistic) -> 3, full-batch L-BFGS for a fixed number of iterations (``tol=0``) in
every engine, then accuracy on 20 000 held-out rows. Printed: fit seconds, rows x iterations
per second, accuracy, the bytes the client process received per L-BFGS iteration (counted
at its sockets) and the parameters moved per iteration by the tree reduction. Spark runs
``MultilayerPerceptronClassifier(layers=[20, 32, 3], solver="l-bfgs")`` on ``local[2]``
(its hidden layers are sigmoids, its output a softmax: the same model). A script, not a test.
"""

from __future__ import annotations

import argparse
import logging
import time

import dask.array as da
import distributed
import numpy as np
from distributed.comm import tcp
from sklearn.datasets import make_classification

from chainrule import MLPClassifier
from chainrule.dask import DaskMLPClassifier

RECEIVED = [0]


def _count_bytes() -> None:
    original = tcp.from_frames

    async def counting(frames, *args, **kwargs):  # every message the client process reads
        RECEIVED[0] += sum(memoryview(f).nbytes for f in frames)
        return await original(frames, *args, **kwargs)

    tcp.from_frames = counting


def data(rows: int) -> tuple[np.ndarray, ...]:
    X, y = make_classification(
        rows + 20_000, 20, n_informative=12, n_classes=3, class_sep=0.8, random_state=0
    )
    X = (X - X.mean(0)) / X.std(0)
    return X[:rows], y[:rows], X[rows:], y[rows:]


def params(iters: int) -> dict:
    return dict(
        hidden_layer_sizes=(32,), activation="logistic", solver="lbfgs", alpha=0.0,
        max_iter=iters, tol=0.0, random_state=0,
    )  # fmt: skip


def run_local(X, y, Xt, yt, iters: int) -> dict:
    started = time.perf_counter()
    clf = MLPClassifier(**params(iters)).fit(X, y)
    seconds = time.perf_counter() - started
    return {"engine": "chainrule local", "seconds": seconds, "iters": clf.n_iter_,
            "accuracy": clf.score(Xt, yt)}  # fmt: skip


def run_dask(X, y, Xt, yt, iters: int, workers: int) -> dict:
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        chunks = max(1, len(X) // 16)
        dX = client.persist(da.from_array(X, chunks=(chunks, X.shape[1])))
        dy = client.persist(da.from_array(y, chunks=chunks))
        distributed.wait([dX, dy])
        RECEIVED[0] = 0
        started = time.perf_counter()
        clf = DaskMLPClassifier(**params(iters), client=client).fit(dX, dy)
        seconds = time.perf_counter() - started
        received = RECEIVED[0]
        n_params = sum(w.size for w in clf.coefs_ + clf.intercepts_)
        return {"engine": f"chainrule.dask lbfgs, {workers} worker(s)", "seconds": seconds,
                "iters": clf.n_iter_, "accuracy": clf.to_local().score(Xt, yt),
                "client_bytes_per_eval": received / clf.evaluations_,
                "tree_bytes_per_eval": 8 * (1 + n_params) * (2 * clf.n_partitions_ - 1)
                + 8 * n_params * workers}  # fmt: skip


def run_spark(X, y, Xt, yt, iters: int) -> dict:
    import pandas as pd
    from pyspark.ml.classification import MultilayerPerceptronClassifier
    from pyspark.ml.evaluation import MulticlassClassificationEvaluator
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g").getOrCreate()
    )  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")

    def frame(A, b):
        rows = [(Vectors.dense(a), float(t)) for a, t in zip(A, b, strict=True)]
        return spark.createDataFrame(pd.DataFrame(rows, columns=["features", "label"]))

    train = frame(X, y).repartition(16).cache()
    test = frame(Xt, yt).cache()
    train.count(), test.count()
    mlp = MultilayerPerceptronClassifier(
        layers=[X.shape[1], 32, 3], maxIter=iters, tol=0.0, solver="l-bfgs", seed=0
    )
    started = time.perf_counter()
    model = mlp.fit(train)
    seconds = time.perf_counter() - started
    accuracy = MulticlassClassificationEvaluator(metricName="accuracy").evaluate(
        model.transform(test)
    )
    spark.stop()
    return {"engine": "Spark MLlib MLP, local[2]", "seconds": seconds, "iters": iters,
            "accuracy": accuracy}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()
    _count_bytes()
    X, y, Xt, yt = data(args.rows)
    results = [run_local(X, y, Xt, yt, args.iters)]
    for workers in (1, 2):
        results.append(run_dask(X, y, Xt, yt, args.iters, workers))
    if not args.no_spark:
        results.append(run_spark(X, y, Xt, yt, args.iters))
    base = results[0]["seconds"]
    print(f"{args.rows} rows x 20 features, 20-32-3, {args.iters} L-BFGS iterations, tol=0")
    print(
        "| engine | fit s | vs local | rows x iters / s | accuracy | client B/eval | tree B/eval |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        speed = args.rows * r["iters"] / r["seconds"]
        client = r.get("client_bytes_per_eval")
        tree = r.get("tree_bytes_per_eval")
        print(
            f"| {r['engine']} | {r['seconds']:.2f} | {base / r['seconds']:.2f}x | {speed:,.0f} | "
            f"{r['accuracy']:.4f} | {'' if client is None else f'{client:,.0f}'} | "
            f"{'' if tree is None else f'{tree:,.0f}'} |"
        )


if __name__ == "__main__":
    main()
