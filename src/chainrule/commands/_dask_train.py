"""``chainrule train DATA --dask [ADDRESS]``: the training step of ``train`` on a Dask cluster.

``DATA`` may be a glob (``'data/*.parquet'``) or a folder of Parquet files, read lazily by
``dask.dataframe``; the rows stay on the workers. Without an address a local cluster of
``--workers`` processes (one thread each) is started for the run and closed after it.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from chainrule.commands._shared import UsageError, fit_options
from chainrule.dask import fit_table
from chainrule.extras import require
from chainrule.tabular.model import TabularModel
from chainrule.training.callbacks import Callback

LOCAL = "local"
"""``--dask`` given without an address."""


def read(path: str) -> Any:
    """A lazy dask DataFrame over ``path`` (Parquet, or CSV / TSV by extension)."""
    import dask.dataframe as dd

    lower = path.lower()
    try:
        if lower.endswith((".csv", ".tsv")):
            return dd.read_csv(path, sep="\t" if lower.endswith(".tsv") else ",")
        return dd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path!r} with Dask: {exc}") from None


def fit(args: argparse.Namespace, callbacks: list[Callback]) -> tuple[TabularModel, int, float]:
    """Train on the cluster ``args.dask`` names; returns the model, its rows and the seconds."""
    unsupported = [
        flag
        for flag, used in (
            ("--embed", args.embed is not None),
            ("--dropout", bool(args.dropout)),
            ("--l2", bool(args.l2)),
            ("--ensemble", args.ensemble not in (None, 1)),
            ("--l1", bool(args.l1)),
            ("--device", args.device != "cpu"),
            ("--na-values", bool(args.na_values)),
            ("--memory-limit", args.memory_limit is not None),
        )
        if used
    ]
    if unsupported:  # the Dask path does not take them yet: say so instead of ignoring them
        raise UsageError(
            f"{', '.join(unsupported)} cannot be combined with --dask yet; drop "
            f"{'it' if len(unsupported) == 1 else 'them'} or train without --dask."
        )
    require("dask", "distributed", "pandas", "pyarrow", purpose="chainrule train --dask")
    import distributed

    if args.dask == LOCAL:
        cluster: Any = distributed.LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        address = cluster
    else:
        cluster, address = None, args.dask
    try:
        with distributed.Client(address, timeout=60) as client:
            frame = read(args.data)
            started = time.perf_counter()
            model, _ = fit_table(
                frame,
                args.target,
                client=client,
                **fit_options(args),
                callbacks=callbacks,
                source=args.data,
            )
            return model, int(model.training["rows"]), time.perf_counter() - started
    finally:
        if cluster is not None:
            cluster.close()
