"""Property-based fuzzing of the model-file loader: damaged or forged files get one ModelFileError.

Every case checks two facts measured from outside the loader: the exception type, and the peak
of Python/NumPy allocations (``tracemalloc``, which NumPy reports its buffers to) while the
file is refused, against a small multiple of the file's own size.
"""

from __future__ import annotations

import json
import os
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import io as container  # noqa: E402
from chainrule.io import ModelFileError  # noqa: E402

MEMORY_FACTOR = 8
"""Refusing a file may allocate at most this many times its size (plus a fixed allowance)."""
ALLOWANCE = 256 * 1024  # bytes: the interpreter's own small objects while parsing a header

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _network_file() -> tuple[bytes, dict[str, np.ndarray], dict[str, Any]]:
    rng = np.random.default_rng(0)
    net = cr.Sequential([cr.Dense(3, 4, rng=rng), cr.ReLU(), cr.Dense(4, 2, rng=rng)])
    tensors, meta = cr.persist.state_of(net)
    return container.encode(tensors, meta), tensors, meta


BLOB, TENSORS, META = _network_file()


def _refuse(blob: bytes) -> int:
    """Load ``blob`` from a file; assert it is refused with ModelFileError; return peak bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.safetensors"
        path.write_bytes(blob)
        tracemalloc.start()
        try:
            with pytest.raises(ModelFileError) as info:
                cr.load(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert peak <= MEMORY_FACTOR * len(blob) + ALLOWANCE, (peak, len(blob), message)
    return peak


def _forge(meta: dict[str, Any], tensors: dict[str, np.ndarray] | None = None) -> bytes:
    """A file with a *valid* checksum over forged metadata: what an attacker can write."""
    return container.encode(TENSORS if tensors is None else tensors, meta)


def _with_header(header: dict[str, Any], payload: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + payload


def test_the_intact_file_loads() -> None:  # the fuzzing below starts from a good file
    tensors, meta = container.decode(BLOB)
    assert meta["kind"] == "Sequential" and set(tensors) == set(TENSORS)


@FUZZ
@given(cut=st.integers(0, len(BLOB) - 1))
def test_truncations_are_refused(cut: int) -> None:
    _refuse(BLOB[:cut])


@FUZZ
@given(flips=st.lists(st.integers(0, 8 * len(BLOB) - 1), min_size=1, max_size=4, unique=True))
def test_bit_flips_are_refused(flips: list[int]) -> None:
    data = bytearray(BLOB)
    for bit in flips:
        data[bit // 8] ^= 1 << (bit % 8)
    _refuse(bytes(data))


_SIZES = st.integers(0, 2**62) | st.integers(-5, 10**6)


@FUZZ
@given(sizes=st.lists(_SIZES, min_size=1, max_size=4), name=st.sampled_from(sorted(TENSORS)))
def test_forged_tensor_index_is_refused(sizes: list[int], name: str) -> None:
    header, start = container._split_header(BLOB, "<fuzz>")
    header[name] = {**header[name], "shape": sizes}
    _refuse(_with_header(header, BLOB[start:]))


@FUZZ
@given(width=st.integers(10**4, 10**12), which=st.sampled_from(["in_features", "out_features"]))
def test_forged_architecture_with_valid_checksum_is_refused(width: int, which: str) -> None:
    meta = json.loads(json.dumps(META))
    meta["architecture"]["layers"][0][which] = width
    _refuse(_forge(meta))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(key=st.sampled_from(["architecture", "dtype"]), value=_JSON)
def test_forged_metadata_values_are_refused(key: str, value: Any) -> None:
    meta = json.loads(json.dumps(META))
    meta[key] = value
    _refuse(_forge(meta))


def test_deep_nesting_and_huge_header_claims_are_refused() -> None:
    meta = json.loads(json.dumps(META))
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    meta["architecture"]["name"] = deep
    _refuse(_forge(meta))  # deeper than the schema allows
    text = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's JSON parser can go
    _refuse(len(text).to_bytes(8, "little") + text)
    _refuse((2**40).to_bytes(8, "little") + b"{}")  # a header length far beyond the file
    _refuse(b"\x02\x00\x00\x00\x00\x00\x00\x00[]")  # a header that is not an object


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_non_regular_paths_are_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)  # opening it for reading would block forever without a writer
    with pytest.raises(ModelFileError, match="not a regular file"):
        cr.load(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        cr.load("/dev/zero")  # would read without end


def test_peak_memory_of_refusing_a_forged_file_is_reported() -> None:
    """The closing number of issue 10: a 100-kB-wide forged Dense costs about the file, not GBs."""
    meta = json.loads(json.dumps(META))
    meta["architecture"]["layers"][0]["in_features"] = 100_000
    meta["architecture"]["layers"][0]["out_features"] = 100_000  # 80 GB if allocated
    blob = _forge(meta)
    peak = _refuse(blob)
    print(f"refusing a forged {len(blob)}-byte file peaked at {peak} bytes traced")
