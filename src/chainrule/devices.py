"""Where training runs: ``device="cpu"`` (NumPy), ``"torch"``, ``"torch:cuda"``, ``"torch:cpu"``, ``"cupy"``.

The engine computes in whatever array namespace its inputs live in (:mod:`chainrule.backend`),
so a device is only three things: how the data gets there, how random numbers are drawn there,
and how results come back.

* :meth:`Device.put` moves a NumPy array onto the device **once per fit**, casting and copying
  in chunks of at most :data:`CHUNK_BYTES` so the host never holds a second full-size copy.
  Training rows that do not fit in the device's :meth:`Device.room` stay on the host and are
  streamed in chunks of batches (:mod:`chainrule.training.data`); any other array
  that does not fit is refused in one sentence.
* :func:`generator`, :func:`uniform` and :func:`permutation` draw dropout masks and shuffles
  with the device's own generator (``torch.Generator``, ``cupy.random.Generator``), seeded
  from the caller's NumPy generator by :func:`seed_from`, so a seed reproduces a run and no
  mask or index array crosses the bus.
* :func:`to_floats` is the one place the training loop waits for the device: it turns a dict
  of 0-d device arrays (the epoch's loss and metrics) into Python floats with **one** transfer.
  Losses and metrics computed on a device return 0-d arrays (:func:`scalar`), never floats, so
  nothing else in an epoch synchronises.

Weights come back with :func:`to_host` (NumPy), which is what saving, ONNX export and the
estimators' ``coefs_`` read.

Memory a network needs to train is checked before a single weight is allocated: a layer too
large for the machine would otherwise be allocated anyway — NumPy asks the kernel for the
pages lazily, the process grows until the kernel kills it, and nothing says why.
:func:`check_fits_in_memory` adds up what one training step of a stack of ``Dense`` layers
holds at once and refuses, in one sentence naming the largest layer, a network that exceeds
the memory available (``MemAvailable`` of ``/proc/meminfo``, else :mod:`psutil`) or a limit
the caller states.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from chainrule.backend import Array, from_numpy, namespace, to_numpy

CHUNK_BYTES = 64 * 2**20
"""Largest host-side slice cast and copied to a device at once (64 MiB)."""

DEVICES = ("cpu", "torch", "torch:cuda", "torch:cpu", "cupy")
"""The names ``device=`` accepts (``"torch"`` is ``"torch:cuda"`` when CUDA exists, else CPU)."""


@dataclass(frozen=True)
class Device:
    """A place to train: a library (``numpy``, ``torch``, ``cupy``) and, for torch, a device.

    Attributes
    ----------
    name : str
        As given (``"torch"`` resolved to ``"torch:cuda"`` or ``"torch:cpu"``).
    library : str
        ``"numpy"``, ``"torch"`` or ``"cupy"``.
    where : str
        ``"cpu"`` or ``"cuda"``.
    """

    name: str
    library: str
    where: str
    memory_limit: int | None = None
    """Bytes the training rows may take here; ``None``: the CUDA device's free memory (no limit
    for the host and ``torch:cpu``). Rows that do not fit are streamed in chunks of batches
    (:mod:`chainrule.training.data`)."""

    def room(self) -> int | None:
        """Bytes the training rows may take on this device, or ``None`` for no limit."""
        if self.memory_limit is not None:
            return int(self.memory_limit)
        if self.is_host or self.where == "cpu":
            return None
        if self.library == "torch":
            import torch

            return int(torch.cuda.mem_get_info()[0])
        import cupy

        return int(cupy.cuda.runtime.memGetInfo()[0])

    @property
    def is_host(self) -> bool:
        """Whether this is the NumPy path (nothing to move)."""
        return self.library == "numpy"

    def put(self, x: Any, dtype: str | None = None) -> Array:
        """``x`` on this device (as ``dtype`` if given); arrays already there are kept.

        Parameters
        ----------
        x : array-like, shape (N, ...)
            Host data (or an array already on this device).
        dtype : str, optional
            ``"float32"``, ``"float64"``, ``"int64"``…; default: ``x``'s own.
        """
        if x is None or self.is_host:
            return x
        if not isinstance(x, np.ndarray) and self.holds(x):
            return x if dtype is None else _astype(x, dtype)
        host = np.asarray(to_numpy(x))
        dtype = dtype or host.dtype.name
        if self.library == "torch":
            return _torch_put(host, dtype, self.where)
        return _cupy_put(host, dtype)

    def put_all(self, *arrays: Any) -> tuple[Any, ...]:
        """:meth:`put` of each argument; a tuple argument (validation data) element-wise."""
        return tuple(
            tuple(self.put(a) for a in x) if isinstance(x, tuple) else self.put(x) for x in arrays
        )

    def holds(self, x: Any) -> bool:
        """Whether ``x`` is an array of this device's library on this device."""
        if self.library == "torch":
            import torch

            return isinstance(x, torch.Tensor) and x.device.type == self.where
        if self.library == "cupy":
            return type(x).__module__.startswith("cupy")
        return isinstance(x, np.ndarray)

    def __str__(self) -> str:
        return self.name


def get(device: str | Device | None) -> Device:
    """The :class:`Device` a ``device=`` argument names (``None`` is ``"cpu"``).

    Raises
    ------
    ValueError
        For a name not in :data:`DEVICES`, or CUDA asked for where none exists.
    ImportError
        When the library is missing, naming the extra to install.
    """
    if isinstance(device, Device):
        return device
    name = "cpu" if device is None else str(device).strip().lower()
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(map(repr, DEVICES))}, got {device!r}.")
    if name == "cpu":
        return Device("cpu", "numpy", "cpu")
    library, _, where = name.partition(":")
    try:  # optional: only a device run needs them
        if library == "cupy":
            import cupy  # noqa: F401

            return Device("cupy", "cupy", "cuda")
        import torch
    except ImportError as exc:
        raise ImportError(
            f"device={name!r} needs {library}: pip install 'chainrule[{library}]'."
        ) from exc
    cuda = bool(torch.cuda.is_available())
    where = where or ("cuda" if cuda else "cpu")
    if where == "cuda" and not cuda:
        raise ValueError(
            f"device={name!r} asks for CUDA, but torch sees no CUDA device; use 'torch:cpu' or 'cpu'."
        )
    return Device(f"torch:{where}", "torch", where)


def of(x: Array) -> Device:
    """The :class:`Device` an array lives on."""
    if isinstance(x, np.ndarray):
        return get("cpu")
    module = type(x).__module__
    if module.startswith("torch"):
        return Device(f"torch:{x.device.type}", "torch", x.device.type)
    if module.startswith("cupy"):
        return Device("cupy", "cupy", "cuda")
    return get("cpu")


def _astype(x: Array, dtype: str) -> Array:
    xp = namespace(x)
    return x if str(x.dtype).endswith(dtype) else xp.astype(x, getattr(xp, dtype))


def _rows_per_chunk(host: np.ndarray, dtype: str) -> int:
    row = max(1, int(np.prod(host.shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize)
    return max(1, CHUNK_BYTES // row)


def _too_big(nbytes: int, free: int, where: str) -> ValueError:
    return ValueError(
        f"The data needs {nbytes / 2**30:.2f} GiB but {where} has {free / 2**30:.2f} GiB free; "
        "train on fewer rows, in float32, or on device='cpu'."
    )


def _torch_put(host: np.ndarray, dtype: str, where: str) -> Array:
    import torch

    if where == "cpu" and host.dtype.name == dtype and host.flags.c_contiguous:
        return torch.from_numpy(host)  # shares memory: the engine never writes its inputs
    nbytes = host.size * np.dtype(dtype).itemsize
    if where == "cuda":
        free, _ = torch.cuda.mem_get_info()
        if nbytes > free:
            raise _too_big(nbytes, free, "the CUDA device")
    out = torch.empty(host.shape, dtype=getattr(torch, dtype), device=where)
    step = _rows_per_chunk(host, dtype)
    for start in range(0, max(host.shape[0], 1), step):
        part = np.ascontiguousarray(host[start : start + step], dtype=dtype)
        out[start : start + step].copy_(torch.from_numpy(part), non_blocking=False)
    return out


def _cupy_put(host: np.ndarray, dtype: str) -> Array:
    import cupy

    nbytes = host.size * np.dtype(dtype).itemsize
    free, _ = cupy.cuda.runtime.memGetInfo()
    if nbytes > free:
        raise _too_big(nbytes, free, "the CUDA device")
    out = cupy.empty(host.shape, dtype=dtype)
    step = _rows_per_chunk(host, dtype)
    for start in range(0, max(host.shape[0], 1), step):
        out[start : start + step].set(np.ascontiguousarray(host[start : start + step], dtype))
    return out


# -- randomness on the device ---------------------------------------------------------------------
def own_generator(x: Array) -> bool:
    """Whether ``x``'s library draws random numbers on its device (torch, CuPy); other
    namespaces (NumPy, ``array_api_strict``) take NumPy's draws."""
    return of(x).library in ("torch", "cupy")


def seed_from(rng: Any) -> int:
    """A 63-bit seed drawn from a NumPy ``Generator`` or ``RandomState`` (the user's seed)."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    return int(rng.randint(2**31 - 1))


def generator(like: Array, seed: int) -> Any:
    """The device's own generator for arrays like ``like``, seeded with ``seed``."""
    device = of(like)
    if device.library == "torch":
        import torch

        return torch.Generator(device=like.device).manual_seed(seed)
    if device.library == "cupy":
        import cupy

        return cupy.random.default_rng(seed)
    return np.random.default_rng(seed)


def uniform(gen: Any, shape: tuple[int, ...], like: Array) -> Array:
    """:math:`U[0, 1)` numbers of ``shape`` in ``like``'s dtype, drawn on its device by ``gen``."""
    if isinstance(gen, np.random.Generator):  # a namespace without its own generator
        dtype = np.float32 if "float32" in str(like.dtype) else np.float64
        return from_numpy(gen.random(shape, dtype=dtype), namespace(like), like=like)
    if of(like).library == "torch":
        import torch

        return torch.rand(shape, generator=gen, dtype=like.dtype, device=like.device)
    return gen.random(shape, dtype=like.dtype)


def permutation(gen: Any, n: int, like: Array) -> Array:
    """A random order of ``range(n)`` as an index array on ``like``'s device."""
    if isinstance(gen, np.random.Generator):
        return from_numpy(gen.permutation(n), namespace(like), like=like)
    if of(like).library == "torch":
        import torch

        return torch.randperm(n, generator=gen, device=like.device)
    return gen.permutation(n)


# -- the way back -----------------------------------------------------------------------------
def scalar(xp: ModuleType, value: Array) -> float | Array:
    """A reduction's result: a Python float on NumPy, a 0-d array (no host wait) elsewhere."""
    return float(value) if xp is np else value


def to_host(x: Array) -> np.ndarray:
    """``x`` as a NumPy array (the device waits here)."""
    return np.asarray(to_numpy(x))


def to_floats(values: dict[str, Any]) -> dict[str, float]:
    """Every value as a Python float, with **one** device-to-host transfer for all 0-d arrays."""
    on_device = [k for k, v in values.items() if not isinstance(v, float | int | np.generic)]
    out = {k: float(v) for k, v in values.items() if k not in on_device}
    if on_device:
        first = values[on_device[0]]
        xp = namespace(first)
        stacked = xp.stack([xp.astype(xp.reshape(values[k], ()), xp.float64) for k in on_device])
        for k, v in zip(on_device, to_host(stacked).tolist(), strict=True):
            out[k] = v
    return {k: out[k] for k in values}


def tree_to_host(tree: Any) -> Any:
    """``tree`` (dicts, tuples, named tuples of arrays: an optimizer state) with NumPy leaves."""
    return _tree_map(lambda a: a if isinstance(a, np.ndarray) else to_host(a), tree)


def tree_put(device: Device | None, tree: Any) -> Any:
    """``tree`` with every array leaf moved to ``device`` (unchanged when ``None``)."""
    return tree if device is None else _tree_map(device.put, tree)


def _tree_map(fn: Any, tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        items = [_tree_map(fn, v) for v in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
    if isinstance(tree, list):
        return [_tree_map(fn, v) for v in tree]
    if hasattr(tree, "shape") and hasattr(tree, "dtype") and not isinstance(tree, np.generic):
        return fn(tree)
    return tree


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


def check_fits_in_memory(
    sizes: Sequence[int],
    batch_rows: int,
    itemsize: int = 8,
    limit: int | None = None,
) -> None:
    """Raise ``MemoryError`` when training ``Dense`` layers of ``sizes`` would not fit.

    ``Dense(n_in, n_out)`` holds, in a training step of ``B = batch_rows`` rows of ``b``-byte
    numbers,

    .. math:: b\\,[\\,c_p (n_{in} n_{out} + n_{out}) + c_a\\, B\\, n_{out}\\,]

    bytes, with :data:`TRAINING_COPIES` ``c_p`` and :data:`ACTIVATION_COPIES` ``c_a``.

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
        itemsize
        * (TRAINING_COPIES * (n_in * n_out + n_out) + ACTIVATION_COPIES * batch_rows * n_out)
        for n_in, n_out in itertools.pairwise(sizes)
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
