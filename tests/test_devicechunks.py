"""Training rows larger than the device's room: streamed in chunks of batches (torch on the CPU).

Oracle: the NumPy path with the same seed. The chunked path draws the row order on the host
with the run's generator, so its batches are ``device="cpu"``'s batches and the trained weights
must agree to 1e-10 (float64). Transfers are counted by wrapping the function that moves an
array onto a torch device, and host synchronisations by torch's own conversion methods.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import devices

torch = pytest.importorskip("torch")

ROWS, FEATURES = 240, 6


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((ROWS, FEATURES))
    labels = (X[:, 0] - X[:, 1] + 0.3 * gen.standard_normal(ROWS) > 0).astype(int)
    return X, labels, gen.uniform(0.5, 2.0, ROWS)


def _net() -> cr.Sequential:
    return cr.Sequential([cr.Dense(FEATURES, 8, rng=1), cr.Tanh(), cr.Dense(8, 2, rng=2)])


def _small(limit: int) -> devices.Device:
    """``torch:cpu`` with room for ``limit`` bytes of training rows."""
    return dataclasses.replace(devices.get("torch:cpu"), memory_limit=limit)


def _fit(device, **fit) -> cr.Trainer:
    X, labels, w = _data()
    trainer = cr.Trainer(
        _net(), "cross_entropy", cr.sgd(0.05, momentum=0.9), metrics=["accuracy"], device=device
    )
    trainer.fit(
        X, labels, epochs=4, batch_size=16, shuffle=True, rng=3, validation_split=0.25,
        sample_weight=w, **fit,
    )  # fmt: skip
    return trainer


@pytest.fixture
def transfers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The shape of every array moved onto a torch device."""
    moved: list[tuple[int, ...]] = []
    original = devices._torch_put

    def counted(host, dtype, where):
        moved.append(host.shape)
        return original(host, dtype, where)

    monkeypatch.setattr(devices, "_torch_put", counted)
    return moved


def test_streamed_chunks_train_the_weights_the_host_trains(transfers) -> None:
    room = 4 * 1024  # bytes: the 180 training rows of 6 float64 features need 8.6 kB and more
    streamed = _fit(_small(room))
    on_cpu = _fit(None)
    for name, value in on_cpu.network.params.items():
        trained = streamed.network.params[name]
        assert isinstance(trained, torch.Tensor)  # trained on the device
        np.testing.assert_allclose(devices.to_host(trained), value, rtol=1e-10, atol=1e-10)
    for key, values in on_cpu.history.history.items():
        np.testing.assert_allclose(streamed.history.history[key], values, rtol=1e-10, atol=1e-10)
    # Chunks of whole batches, each moved in one transfer per array (X, y, w), every epoch.
    rows = [shape[0] for shape in transfers if len(shape) == 2 and shape[1] == FEATURES]
    assert rows.count(60) == 1 and rows.count(1) == 1  # the validation rows once; a probe row
    chunks = [r for r in rows if r not in (1, 60)]
    rows_per_chunk = max(chunks)
    assert rows_per_chunk % 16 == 0 and rows_per_chunk < 180
    assert len(chunks) == 4 * math.ceil(180 / rows_per_chunk)  # 4 epochs
    assert sum(chunks) == 4 * 180


def test_without_a_limit_the_rows_move_once() -> None:
    trainer = _fit("torch:cpu")
    assert all(isinstance(v, torch.Tensor) for v in trainer.network.params.values())


def test_full_batch_that_does_not_fit_is_refused_in_one_sentence() -> None:
    X, labels, _ = _data()
    trainer = cr.Trainer(_net(), "cross_entropy", "sgd", device=_small(1024))
    with pytest.raises(ValueError, match=r"full-batch training needs all of it .* batch_size="):
        trainer.fit(X, labels, epochs=1)
    assert trainer.history.epoch == []


def test_streaming_keeps_one_host_synchronisation_budget_per_epoch(monkeypatch) -> None:
    """The epoch's losses still cross once: syncs per epoch do not grow with the chunks."""
    calls: list[str] = []
    for name in ("item", "__float__", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    counts = []
    for room in (12 * 1024, 2 * 1024):  # 2 chunks an epoch, then 12
        calls.clear()
        _fit(_small(room))
        counts.append(len(calls))
    assert counts[0] == counts[1]
