"""Peak memory while training on a Parquet file far larger than it, streamed batch by batch.

``python -m benchmarks.streaming [--gb 2.0] [--epochs 1]`` writes a generated Parquet file of
about ``--gb`` gigabytes (float64 features, an integer label; row groups of 65,536 rows) into a
temporary folder, then, in a fresh process, trains a 64-128-10 network on it for ``--epochs``
epochs through :meth:`Trainer.fit`'s stream input (a callable returning one epoch of
``pyarrow.parquet.ParquetFile(path, pre_buffer=False).iter_batches``), and prints the peak resident set size as JSON.
The file is deleted at the end. Target: peak under 500 MB for a 2 GB file.

``python -m benchmarks.streaming --cli [--gb 2.0]`` runs the command line on the same kind of
file instead: ``chainrule train big.parquet --target y --memory-limit 500MB --batch-size 1024
--hidden 128 --epochs 1`` (statistics pass, one training epoch through the shuffle buffer, the
20 % validation rows scored after it), in a fresh process whose peak resident set size is
reported, then ``chainrule predict`` on the first rows with the model it wrote.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .memory import peak_resident_bytes

FEATURES = 64
ROWS_PER_GROUP = 65_536


def write_file(path: Path, gigabytes: float, seed: int = 0) -> int:
    """Write about ``gigabytes`` of rows, one row group at a time (never all in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    gen = np.random.default_rng(seed)
    w = gen.standard_normal((FEATURES, 10))
    bytes_per_row = FEATURES * 8 + 8
    groups = max(1, round(gigabytes * 1e9 / (bytes_per_row * ROWS_PER_GROUP)))
    schema = pa.schema([(f"x{j}", pa.float64()) for j in range(FEATURES)] + [("y", pa.int64())])
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for _ in range(groups):
            X = gen.standard_normal((ROWS_PER_GROUP, FEATURES))
            y = np.argmax(X @ w, axis=1)
            cols = [pa.array(X[:, j]) for j in range(FEATURES)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema))
    return groups * ROWS_PER_GROUP


def train(path: str, epochs: int) -> dict[str, object]:
    """Stream the file into a Trainer (run in a fresh process: its peak is the figure)."""
    import pyarrow.parquet as pq

    import chainrule as cr

    def epoch():
        # pre_buffer=False and a small read buffer: pyarrow's default pre-buffering held ~700
        # MB for a 0.4 GB file in a first run; this reads one page range at a time.
        source = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in source.iter_batches(batch_size=1024):
            block = np.column_stack([c.to_numpy() for c in batch.columns])
            yield block[:, :FEATURES], block[:, FEATURES].astype(np.int64)

    gen = np.random.default_rng(0)
    net = cr.Sequential([cr.Dense(FEATURES, 128, rng=gen), cr.ReLU(), cr.Dense(128, 10, rng=gen)])
    trainer = cr.Trainer(net, cr.CrossEntropy(), cr.adam(1e-3), metrics=["accuracy"])
    started = time.perf_counter()
    history = trainer.fit(epoch, epochs=epochs)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "loss": history["loss"][-1],
        "accuracy": history["accuracy"][-1],
        "peak_rss_mb": round(peak_resident_bytes() / 1e6, 1),
    }


def cli_child(path: str, epochs: int, out: str) -> dict[str, object]:
    """``chainrule train --memory-limit 500MB`` in this fresh process; its peak is the figure."""
    import contextlib
    import io

    from chainrule.cli import main as chainrule

    argv = ["train", path, "--target", "y", "--memory-limit", "500MB", "--batch-size", "1024"]
    argv += ["--hidden", "128", "--epochs", str(epochs), "--out", out, "--quiet"]
    summary = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(summary):
        status = chainrule(argv)
    return {
        "command": "chainrule " + " ".join(argv),
        "exit_status": status,
        "seconds": round(time.perf_counter() - started, 1),
        "summary": summary.getvalue().splitlines(),
        "peak_rss_mb": round(peak_resident_bytes() / 1e6, 1),
    }


def _run_cli(path: Path, epochs: int) -> dict[str, object]:
    import pyarrow.parquet as pq

    out = path.with_name("model.safetensors")
    child = ["--cli-child", str(path), "--epochs", str(epochs), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.streaming", *child],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    head = next(pq.ParquetFile(path).iter_batches(batch_size=1000)).to_pandas()
    head.to_csv(path.with_name("head.csv"), index=False)
    predicted = subprocess.run(
        [
            sys.executable,
            "-m",
            "chainrule.cli",
            "evaluate",
            str(out),
            str(path.with_name("head.csv")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    result["evaluate_first_1000_rows"] = [
        line.strip() for line in predicted.stdout.splitlines() if "accuracy" in line
    ]
    result["uncompressed_mb"] = round(
        sum(
            pq.ParquetFile(path).metadata.row_group(i).total_byte_size
            for i in range(pq.ParquetFile(path).metadata.num_row_groups)
        )
        / 1e6,
        1,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cli", action="store_true", help="measure chainrule train itself")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cli-child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train(args.child, args.epochs)))
        return
    if args.cli_child:
        print(json.dumps(cli_child(args.cli_child, args.epochs, args.out)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.parquet"
        rows = write_file(path, args.gb)
        size = path.stat().st_size
        if args.cli:
            result = _run_cli(path, args.epochs)
            result.update({"file_mb": round(size / 1e6, 1), "rows": rows, "limit_mb": 500})
            result["under_limit"] = result["peak_rss_mb"] < 500
            print(json.dumps(result, indent=2))
            return
        child = ["--child", str(path), "--epochs", str(args.epochs)]
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.streaming", *child],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout)
    result.update({"file_mb": round(size / 1e6, 1), "rows": rows, "limit_mb": 500})
    result["under_limit"] = result["peak_rss_mb"] < 500
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
