"""Memory a network needs to train, checked before a single weight is allocated.

A layer too large for the machine would otherwise be allocated anyway — NumPy asks the kernel
for the pages lazily, the process grows until the kernel kills it, and nothing says why.
:func:`check_fits_in_memory` adds up what one training step of a stack of ``Dense`` layers
holds at once and refuses, in one sentence naming the largest layer, a network that exceeds
the memory available (``MemAvailable`` of ``/proc/meminfo``, else :mod:`psutil`) or a limit
the caller states.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

TRAINING_COPIES = 4
"""Arrays of the parameters' size alive during training: the weights, their gradient and two
optimizer moments (Adam's; SGD with momentum and RMSprop keep fewer)."""
ACTIVATION_COPIES = 3
"""Arrays of a layer's output size per batch: its pre-activation, activation and delta."""


def available_memory() -> int | None:
    """Bytes the kernel can hand out now without swapping, or ``None`` when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else -1
        return pages * os.sysconf("SC_PAGE_SIZE") if pages > 0 else None
    return int(psutil.virtual_memory().available)


def layer_bytes(fan_in: int, fan_out: int, batch_rows: int, itemsize: int = 8) -> int:
    """Bytes one ``Dense(fan_in, fan_out)`` holds in a training step of ``batch_rows`` rows.

    .. math:: b\\,[\\,c_p (n_{in} n_{out} + n_{out}) + c_a\\, B\\, n_{out}\\,]

    with ``b = itemsize``, ``B = batch_rows``, :data:`TRAINING_COPIES` ``c_p`` and
    :data:`ACTIVATION_COPIES` ``c_a``.
    """
    params = fan_in * fan_out + fan_out
    return itemsize * (TRAINING_COPIES * params + ACTIVATION_COPIES * batch_rows * fan_out)


def check_fits_in_memory(
    sizes: Sequence[int],
    batch_rows: int,
    itemsize: int = 8,
    limit: int | None = None,
) -> None:
    """Raise ``MemoryError`` when training ``Dense`` layers of ``sizes`` would not fit.

    Parameters
    ----------
    sizes : sequence of int
        Widths ``[n_in, h_1, ..., h_L, n_out]``: layer ``i`` maps ``sizes[i]`` to ``sizes[i+1]``.
    batch_rows : int
        Rows in one batch (all of them for full-batch L-BFGS).
    itemsize : int
        Bytes per number (8 for float64).
    limit : int, optional
        Bytes allowed; default :func:`available_memory` (no check when that is unknown).

    Raises
    ------
    MemoryError
        One sentence naming the largest layer, what the network needs and what is available.
    """
    if limit is None:
        limit = available_memory()
    if limit is None:
        return
    needs = [
        layer_bytes(sizes[i], sizes[i + 1], batch_rows, itemsize) for i in range(len(sizes) - 1)
    ]
    total = sum(needs)
    if total <= limit:
        return
    worst = max(range(len(needs)), key=needs.__getitem__)
    kind = "hidden layer" if worst < len(needs) - 1 else "output layer"
    number = f" {worst + 1}" if kind == "hidden layer" else ""
    raise MemoryError(
        f"The network needs about {_size(total)} to train ({kind}{number}, "
        f"{sizes[worst]} → {sizes[worst + 1]} units, alone {_size(needs[worst])} for its "
        f"weights and a batch of {batch_rows} rows), more than the {_size(limit)} available; "
        "use fewer units or a smaller batch_size."
    )


def _size(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
