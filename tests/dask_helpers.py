"""A Dask cluster of real processes for the tests: `dask scheduler` and `dask worker`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import distributed


class ProcessCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (free ports, no nanny:
    a killed worker stays dead)."""

    def __init__(self, tmp: Path, workers: int = 2, memory_limit: str = "2GiB") -> None:
        dask_cli = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}  # fmt: skip
        scheduler_file = tmp / "scheduler.json"
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.scheduler = subprocess.Popen(
            [dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
            **quiet,
        )  # fmt: skip
        # The scheduler writes its file in more than one step: wait until it parses.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.address = json.loads(scheduler_file.read_text())["address"]
                break
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline or self.scheduler.poll() is not None:
                    self.scheduler.kill()
                    self.scheduler.wait()
                    raise RuntimeError("the dask scheduler did not start within 60 s") from None
                time.sleep(0.1)
        worker = [dask_cli, "worker", self.address, "--nthreads", "1", "--no-nanny",
                  "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
                  "--memory-limit", memory_limit]  # fmt: skip
        self.workers = [
            subprocess.Popen([*worker, "--name", f"w{i}"], **quiet) for i in range(workers)
        ]
        with distributed.Client(self.address, timeout=60) as c:
            c.wait_for_workers(workers, timeout=60)

    def close(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
