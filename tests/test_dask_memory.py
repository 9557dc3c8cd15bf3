"""Rows beyond the Dask workers' memory: streamed from their source, or refused at once.

Real `dask worker` processes with `--memory-limit 320MiB` (see dask_helpers). Oracles: the
workers' resident memory read from the operating system while they train, the single-machine
estimator on the same rows, the same fit with the rows held in the workers' memory, a real
`chainrule train --dask` process and its exit status.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
psutil = pytest.importorskip("psutil")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import distributed  # noqa: E402
from dask_helpers import ProcessCluster  # noqa: E402

from chainrule import MLPClassifier  # noqa: E402
from chainrule.dask import DaskMLPClassifier, _estimator, _tabular, _watch, fit_table  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LIMIT = 320 * 2**20
"""Each worker's memory limit: 2.5x what a worker process holds after its imports."""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cluster = ProcessCluster(tmp_path_factory.mktemp("small"), memory_limit="320MiB")
    with distributed.Client(cluster.address) as client:
        yield cluster, client
    cluster.close()


@pytest.fixture(scope="module")
def roomy(tmp_path_factory):
    """Workers with room to spare, for the tests that force streaming and compare results:
    memory left high by the 320 MiB tests (a worker's freed pages stay resident) must not
    pause them."""
    cluster = ProcessCluster(tmp_path_factory.mktemp("roomy"), memory_limit="2GiB")
    with distributed.Client(cluster.address) as client:
        yield cluster, client
    cluster.close()


class PeakMemory:
    """The largest resident set of the given processes, polled every 20 ms from the OS."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(p) for p in pids]
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            for p in self.processes:
                self.peak = max(self.peak, p.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_rows_beyond_the_memory_limit_train_streamed_in_bounded_memory(small) -> None:
    cluster, client = small
    # 3.5 M rows x 50 float32 features generated on the workers: 350 MB per worker, above
    # each worker's 320 MiB limit, in partitions of 30,000 rows (6 MB).
    rows = 3_500_000
    X = da.random.default_rng(0).random((rows, 50), chunks=(30_000, 50), dtype=np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(np.int8)
    assert rows * 50 * 4 / 2 > LIMIT
    pids = [p.pid for p in cluster.workers]
    clf = DaskMLPClassifier((4,), solver="lbfgs", max_iter=3, random_state=0, client=client)
    started = time.monotonic()
    with PeakMemory(pids) as memory:
        clf.fit(X, y)
    assert time.monotonic() - started < 240
    assert clf.streamed_ and clf.n_iter_ == 3
    assert memory.peak < LIMIT, f"a worker reached {memory.peak / 2**20:.0f} MiB"
    # the same worker processes, none restarted or lost
    assert all(p.poll() is None for p in cluster.workers)
    assert sorted(client.run(lambda: __import__("os").getpid()).values()) == sorted(pids)
    # it learnt: the full-batch loss, summed over every partition, went down
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def _always_stream(monkeypatch) -> None:
    real = _estimator.check_memory

    def streaming(*args, **kwargs) -> bool:
        real(*args, **kwargs)  # still refuses what cannot fit at all
        return True

    monkeypatch.setattr(_estimator, "check_memory", streaming)
    monkeypatch.setattr(_tabular, "check_memory", streaming)


def test_streamed_lbfgs_equals_the_local_fit(roomy, monkeypatch) -> None:
    _, client = roomy
    rng = np.random.default_rng(4)
    Xn = rng.normal(size=(3000, 5))
    yn = (Xn[:, 0] + Xn[:, 1] ** 2 > 1).astype(int)
    X, y = da.from_array(Xn, chunks=(500, 5)), da.from_array(yn, chunks=500)
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0)
    _always_stream(monkeypatch)
    clf = DaskMLPClassifier(**kw, client=client).fit(X, y)
    local = MLPClassifier(**kw).fit(Xn, yn)
    assert clf.streamed_ and clf.n_iter_ == local.n_iter_
    for a, b in zip(clf.to_local().coefs_, local.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_streamed_adam_takes_the_held_fits_batches(roomy, monkeypatch) -> None:
    """Without shuffling, partitions of whole batches give a stream the held shard's batches
    in the same order: the same steps, the same weights."""
    _, client = roomy
    rng = np.random.default_rng(5)
    Xn = rng.normal(size=(3000, 4))
    yn = (Xn[:, 0] - Xn[:, 2] > 0).astype(int)
    X, y = da.from_array(Xn, chunks=(500, 4)), da.from_array(yn, chunks=500)
    kw = dict(hidden_layer_sizes=(6,), solver="adam", max_iter=5, batch_size=100,
              shuffle=False, random_state=0, learning_rate_init=0.01)  # fmt: skip
    held = DaskMLPClassifier(**kw, client=client).fit(X, y)
    _always_stream(monkeypatch)
    streamed = DaskMLPClassifier(**kw, client=client).fit(X, y)
    assert streamed.streamed_ and not held.streamed_
    for a, b in zip(streamed.to_local().coefs_, held.to_local().coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_streamed_table_from_csv_equals_the_held_one(roomy, monkeypatch, tmp_path) -> None:
    _, client = roomy
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"a": rng.normal(size=1200), "city": rng.choice(["x", "y", "z"], 1200)})
    frame["y"] = np.where(frame["a"] + (frame["city"] == "x") > 0.5, "hi", "lo")
    for i in range(3):
        frame.iloc[i * 400 : (i + 1) * 400].to_csv(tmp_path / f"p{i}.csv", index=False)
    ddf = dd.read_csv(str(tmp_path / "p*.csv"))
    kw = dict(client=client, hidden=(5,), optimizer="lbfgs", epochs=8, impute="error")
    held, _ = fit_table(ddf, "y", **kw)
    _always_stream(monkeypatch)
    streamed, _ = fit_table(ddf, "y", **kw)
    assert streamed.training["dask_streamed"] and not held.training["dask_streamed"]
    np.testing.assert_allclose(
        streamed.predict_proba(frame), held.predict_proba(frame), rtol=1e-9, atol=1e-12
    )


def test_cli_refuses_a_table_partition_beyond_the_memory_limit(small, tmp_path) -> None:
    cluster, _ = small
    # one Parquet file, one partition of 40,000 rows x 100 numbers: 32 MB encoded, 3 copies
    # of which do not fit beside a worker process under 320 MiB
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(40_000, 100)), columns=[f"c{i}" for i in range(100)])
    frame["y"] = (frame["c0"] > 0).astype(int)
    frame.to_parquet(tmp_path / "big.parquet")
    out = tmp_path / "m.safetensors"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", str(tmp_path / "big.parquet"),
         "--target", "y", "--dask", cluster.address, "--epochs", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert time.monotonic() - started < 120
    assert done.returncode != 0 and not out.exists()
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "memory limit is 320 MiB" in lines[0], done.stderr
    assert all(p.poll() is None for p in cluster.workers)


def test_a_fit_waiting_on_a_paused_worker_stops_with_one_sentence(small, monkeypatch) -> None:
    """A worker that another task has pushed above 80 % of its limit is paused by Dask; a fit
    waiting on it stops after PAUSED_SECONDS (2 s here) with one sentence naming the limit."""
    _, client = small
    worker = sorted(client.scheduler_info()["workers"])[0]
    # 288 MB held for 8 s on one worker: above 80 % of 320 MiB, so Dask pauses it
    hog = client.submit(
        lambda n: [__import__("numpy").ones(n), __import__("time").sleep(8)][1],
        36_000_000, workers=[worker], pure=False,
    )  # fmt: skip
    queued = client.submit(lambda: 1, workers=[worker], pure=False)
    monkeypatch.setattr(_watch, "PAUSED_SECONDS", 2.0)
    started = time.monotonic()
    with pytest.raises(MemoryError) as info:
        _watch.gather(client, [queued])
    assert time.monotonic() - started < 8
    message = str(info.value)
    assert "memory limit is 320 MiB" in message and message.count(". ") == 0
    del hog, queued
