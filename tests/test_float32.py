"""Float32 end to end: float32 input keeps weights, gradients and optimizer state float32.

Oracles: the dtypes themselves; the same step computed in float64 (float32 agrees with it to
float32 precision); the training set's own size (tracemalloc must never see a copy of it); and
finite differences in float64, which stays available.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import chainrule as cr


def _net(gen: np.random.Generator, activation: type, width: int = 8, out: int = 1) -> cr.Sequential:
    return cr.Sequential([cr.Dense(5, width, rng=gen), activation(), cr.Dense(width, out, rng=gen)])


def gen_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _arrays(state: object) -> list[np.ndarray]:
    """Every array inside an optimizer state (nested tuples, NamedTuples and dicts)."""
    if isinstance(state, np.ndarray):
        return [state]
    if isinstance(state, dict):
        return [a for v in state.values() for a in _arrays(v)]
    if isinstance(state, tuple):
        return [a for v in state for a in _arrays(v)]
    return []


CASES = [
    (cr.Sigmoid, cr.MSE(), cr.sgd(0.1, momentum=0.9)),
    (cr.ReLU, cr.CrossEntropy(), cr.adam(1e-2)),
    (cr.Tanh, cr.BinaryCrossEntropy(from_logits=True), cr.rmsprop(1e-2)),
    (cr.GELU, cr.Huber(), cr.adamw(1e-2)),
]


@pytest.mark.parametrize(("activation", "loss", "optimizer"), CASES)
def test_float32_input_keeps_everything_float32(activation, loss, optimizer, rng):
    X = rng.standard_normal((64, 5)).astype(np.float32)
    if isinstance(loss, cr.CrossEntropy):
        y, out = rng.integers(0, 3, 64), 3
    else:
        y, out = (X[:, 0] > 0).astype(np.float32), 1
    net = _net(rng, activation, out=out)
    assert net.dtype == "float64"  # the default stays float64
    trainer = cr.Trainer(net, loss, optimizer)
    history = trainer.fit(X, y, epochs=2, batch_size=16, rng=0, validation_data=(X, y))

    assert net.dtype == "float32"
    assert {v.dtype for v in net.params.values()} == {np.dtype(np.float32)}
    assert {v.dtype for v in net.grads.values()} == {np.dtype(np.float32)}
    state = _arrays(trainer.opt_state)
    assert state, "every optimizer here keeps buffers (momentum or moments)"
    assert {a.dtype for a in state} == {np.dtype(np.float32)}
    assert trainer.predict(X).dtype == np.float32
    assert np.isfinite(history["loss"]).all() and np.isfinite(history["val_loss"]).all()


def test_optimizer_state_exists_and_is_float32_for_adam(rng):
    X = rng.standard_normal((32, 5)).astype(np.float32)
    trainer = cr.Trainer(_net(rng, cr.ReLU), cr.MSE(), cr.adam())
    trainer.fit(X, X[:, :1], epochs=1)
    moments = _arrays(trainer.opt_state)
    assert len(moments) == 2 * 4  # m and v for W1, b1, W2, b2
    assert {a.dtype for a in moments} == {np.dtype(np.float32)}


def test_float32_step_agrees_with_float64_step(rng):
    """One float32 SGD step equals the float64 step to float32 precision."""
    X = rng.standard_normal((50, 5))
    y = rng.integers(0, 3, 50)
    nets = {}
    for dtype in ("float64", "float32"):
        net = _net(np.random.default_rng(7), cr.Tanh, out=3)
        trainer = cr.Trainer(net, cr.CrossEntropy(), cr.sgd(0.5))
        trainer.fit(X.astype(dtype), y, epochs=3)
        nets[dtype] = net
    for name, p64 in nets["float64"].params.items():
        p32 = nets["float32"].params[name]
        assert p32.dtype == np.float32
        np.testing.assert_allclose(p32, p64, rtol=1e-4, atol=1e-5)


def test_float32_training_set_is_never_copied(rng):
    """Peak traced allocation during fit stays far below the size of the training set.

    Shuffling through index batches copies one batch of rows at a time; a per-epoch copy of X
    (or an upcast to float64, twice its size) would show up as at least ``X.nbytes``.
    """
    X = rng.standard_normal((20_000, 100), dtype=np.float32)  # 8 MB
    y = rng.integers(0, 2, 20_000)
    net = cr.Sequential([cr.Dense(100, 8, rng=gen_seed(rng)), cr.ReLU(), cr.Dense(8, 2, rng=1)])
    trainer = cr.Trainer(net.astype("float32"), cr.CrossEntropy(), cr.sgd())
    tracemalloc.start()
    try:
        trainer.fit(X, y, epochs=2, batch_size=256, rng=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The per-epoch permutation (N int64 indices, 160 kB) and one batch are all that is new.
    assert peak < X.nbytes / 4, f"peak {peak} bytes during fit, X is {X.nbytes}"
    assert trainer.network.dtype == "float32"


def test_full_batch_float32_forward_sees_the_callers_array(rng):
    """Full-batch training hands X itself to the first layer: no cast, no copy."""
    X = rng.standard_normal((30, 5)).astype(np.float32)
    net = _net(rng, cr.Sigmoid)
    cr.Trainer(net, cr.MSE(), cr.sgd()).fit(X, X[:, :1], epochs=1)
    assert net.layers[0]._x is X


def test_float64_stays_available_and_passes_gradcheck(rng):
    X = rng.standard_normal((10, 5))
    y = rng.integers(0, 3, 10)
    net = _net(rng, cr.Tanh, out=3)
    cr.Trainer(net, cr.CrossEntropy(), cr.sgd(0.1)).fit(X, y, epochs=2)
    assert {v.dtype for v in net.params.values()} == {np.dtype(np.float64)}
    report = cr.check_network(net, cr.CrossEntropy(), X, y)
    assert report.passed(1e-6), report.table()
