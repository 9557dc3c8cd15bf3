"""``chainrule train DATA --memory-limit SIZE``: stream a Parquet file larger than the limit.

A Parquet file whose uncompressed size (read from its footer) exceeds the limit is trained on
record batch by record batch (:func:`chainrule.tabular.stream.fit_parquet`); a smaller file,
or no limit, takes the in-memory path. A CSV or TSV file larger than the limit is refused with
one line: its column types are guessed per chunk by pandas, so a chunked read could encode a
column differently from the whole file; convert it to Parquet first.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from chainrule.commands._shared import UsageError, fit_options, human_size
from chainrule.extras import require
from chainrule.tabular.data import READERS
from chainrule.tabular.model import TabularModel
from chainrule.tabular.stream import fit_parquet, uncompressed_bytes
from chainrule.training.callbacks import Callback

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
UNITS.update({"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12})
UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})
BUFFER_SHARE = 32
"""The shuffle buffer gets 1/32 of the limit: permuting it holds about three copies, and
pyarrow's reader, pandas and the interpreter take ~300 MB of their own (measured)."""
SMALLEST = 10**3
"""Smallest limit taken (1 kB; tests stream small files with tiny limits)."""


def memory_size(text: str) -> int:
    """``500MB``, ``2GB``, ``1.5GiB``, ``750M`` or a number of bytes → bytes (argparse type)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 500MB, 2GB or 1.5GiB, got {text!r}"
        )
    size = int(float(match.group(1)) * UNITS[unit])
    if size < SMALLEST:
        raise argparse.ArgumentTypeError(f"a memory limit must be at least 1kB, got {text!r}")
    return size


def should_stream(args: argparse.Namespace) -> bool:
    """True when ``--memory-limit`` is set and the Parquet file's data exceeds it."""
    limit = getattr(args, "memory_limit", None)
    if limit is None or not Path(args.data).is_file():
        return False  # no limit, or a missing file: the in-memory path's messages
    kind = READERS.get(Path(args.data).suffix.lower())
    if kind in ("csv", "tsv"):
        size = Path(args.data).stat().st_size
        if size > limit:
            raise UsageError(
                f"'{args.data}' ({human_size(size)}) is larger than --memory-limit "
                f"({human_size(limit)}) and only Parquet files are streamed; convert it to "
                "Parquet (pandas: read_csv(..., chunksize=...) then pyarrow's ParquetWriter) "
                "or raise the limit."
            )
        return False
    if kind != "parquet":
        return False
    require("pyarrow", purpose="Streaming Parquet files")
    try:
        return uncompressed_bytes(args.data) > limit
    except (OSError, ValueError):
        return False  # unreadable: let the in-memory reader say why, in its words


def fit(args: argparse.Namespace, callbacks: list[Callback]) -> tuple[TabularModel, int, float]:
    """Train on ``args.data`` streamed; returns the model, its rows and the seconds."""
    if args.batch_size is None:
        raise UsageError(
            "--batch-size full needs every row in memory; give a number of rows with "
            "--memory-limit (e.g. --batch-size 256)."
        )
    if args.impute == "median":
        raise UsageError(
            "--impute median cannot be computed exactly while streaming; use --impute mean, "
            "fill the column beforehand, or drop --memory-limit to train in memory."
        )
    if args.ensemble not in (None, 1):
        raise UsageError(
            "--ensemble trains several networks on the rows in memory; drop it (one network "
            "is trained while streaming) or drop --memory-limit to train in memory."
        )
    started = time.perf_counter()
    model, _ = fit_parquet(
        args.data,
        args.target,
        **fit_options(args),
        embed=args.embed,
        callbacks=callbacks,
        device=args.device,
        dropout=args.dropout,
        l2=args.l2 or 0.0,
        l1=args.l1,
        na_values=args.na_values,
        buffer_bytes=args.memory_limit // BUFFER_SHARE,
    )
    return model, int(model.training["rows"]), time.perf_counter() - started
