"""Peak resident memory of the medium case, measured in a fresh process.

``python -m benchmarks.memory`` builds the 60,000×784 float32 training set, trains chainrule's
784-256-10 network on it for one epoch (batch 128, shuffled), and prints, as JSON, the peak
resident set size (Linux's ``VmHWM``, else ``getrusage``'s ``ru_maxrss``), the data's size and the dtypes it ended with.
The target: peak at most the training set's size plus 150 MB, which holds only if the set is
never copied (shuffling goes through index batches) and float32 is never upcast.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from .timing import Row

ALLOWANCE_MB = 150.0


def peak_resident_bytes() -> int:
    """This process's peak resident set size.

    Linux's ``VmHWM`` belongs to the process image, so it starts afresh at ``exec``; its
    ``ru_maxrss`` does not (a child started by a large parent inherits the parent's peak).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def measure(n: int) -> dict[str, object]:
    """Train one epoch on ``n`` rows and report memory and dtypes (run in a fresh process)."""
    import chainrule as cr

    from .mlp import mnist_shaped

    X, y = mnist_shaped(n)
    net = cr.Sequential(
        [
            cr.Dense(784, 256, rng=0, dtype="float32"),
            cr.ReLU(),
            cr.Dense(256, 10, rng=1, dtype="float32"),
        ]
    )
    trainer = cr.Trainer(net, cr.CrossEntropy(), cr.sgd(0.01))
    trainer.fit(X, y, epochs=1, batch_size=128, rng=2)
    return {
        "peak_rss_mb": peak_resident_bytes() / 1e6,
        "data_mb": (X.nbytes + y.nbytes) / 1e6,
        "param_dtypes": sorted({str(v.dtype) for v in net.params.values()}),
        "grad_dtypes": sorted({str(v.dtype) for v in net.grads.values()}),
    }


def run(quick: bool = False) -> list[Row]:
    """Run :func:`measure` in a fresh interpreter and turn its report into a table row."""
    n = 2048 if quick else 60_000
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    peak, data = report["peak_rss_mb"], report["data_mb"]
    limit = data + ALLOWANCE_MB
    verdict = "met" if peak <= limit else "MISSED"
    note = (
        f"peak {peak:.0f} MB vs data {data:.0f} MB + {ALLOWANCE_MB:.0f} MB = {limit:.0f} MB: "
        f"{verdict}; params {'/'.join(report['param_dtypes'])}, "
        f"grads {'/'.join(report['grad_dtypes'])}"
    )
    return [Row("memory", f"{n:,}×784 float32, 1 epoch", None, note=note)]


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 60_000)))
