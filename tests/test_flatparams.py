"""The flat parameter vector (training/flatparams.py) against two independent references.

* PyTorch: a ``torch.nn`` network trained by ``torch.optim`` on the same batches, in the
  same order, reaches the same weights (float64, 1e-12) — the Trainer's flat path end to end.
* The per-array path: the same optimizer marked ``elementwise=False`` updates each named array
  by itself, as before the flat vector existed; the flat path must give the same bits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import LabelBinarizer

import chainrule as cr
from chainrule.estimators._labels import indicator_matrix
from chainrule.network.fastpaths import column_sums
from chainrule.network.optimizers import GradientTransformation
from chainrule.network.regularization import add_l1, clip
from chainrule.training.callbacks import Callback

OPTIMIZERS = {
    "sgd": lambda: cr.sgd(0.1),
    "momentum": lambda: cr.sgd(0.05, momentum=0.9),
    "nesterov-l2": lambda: cr.sgd(0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    "adam": lambda: cr.adam(0.01),
    "adamw": lambda: cr.adamw(0.01, weight_decay=0.1),
    "rmsprop-centered": lambda: cr.rmsprop(0.005, momentum=0.5, centered=True),
    "l1-clip-sgd": lambda: cr.chain(add_l1(1e-3), clip(0.5), cr.sgd(0.1)),
}


def data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(np.float64).reshape(-1, 1)


def network(seed: int = 1) -> cr.Sequential:
    return cr.Sequential(
        [
            cr.Dense(3, 5, rng=seed),
            cr.Tanh(),
            cr.Dense(5, 4, rng=seed + 1),
            cr.Sigmoid(),
            cr.Dense(4, 1, rng=seed + 2),
        ]
    )


def per_array(optimizer: GradientTransformation) -> GradientTransformation:
    """``optimizer`` as a transformation of unknown kind: applied to each named array."""
    return optimizer._replace(elementwise=False)


def fit(optimizer: GradientTransformation, callbacks=(), epochs: int = 6, **kw) -> cr.Trainer:
    X, y = data()
    trainer = cr.Trainer(network(), cr.BinaryCrossEntropy(from_logits=True), optimizer)
    trainer.fit(X, y, epochs=epochs, batch_size=16, shuffle=True, rng=7, callbacks=callbacks, **kw)
    return trainer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_path_gives_the_per_array_bits(name: str) -> None:
    flat = fit(OPTIMIZERS[name]())
    ref = fit(per_array(OPTIMIZERS[name]()))
    assert flat.flat is not None and OPTIMIZERS[name]().elementwise
    for k, v in ref.network.params.items():
        assert np.array_equal(flat.network.params[k], v), k
        assert np.shares_memory(flat.network.params[k], flat.flat.theta)
    assert flat.history.history["loss"] == ref.history.history["loss"]
    # The optimizer's state is named, array for array, as the per-array path keeps it.
    flat_leaves = _state_arrays(flat.opt_state)
    ref_leaves = _state_arrays(ref.opt_state)
    assert flat_leaves.keys() == ref_leaves.keys()
    for k in ref_leaves:
        assert np.array_equal(flat_leaves[k], ref_leaves[k]), k
    # Outside a run the layers allocate their gradients again.
    assert all(not layer.grad_buffers for layer in flat.network.layers)


def _state_arrays(state, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(state, dict):
        return {f"{prefix}/{k}": v for k, v in state.items()}
    if isinstance(state, tuple):
        out = {}
        for i, part in enumerate(state):
            out.update(_state_arrays(part, f"{prefix}/{i}"))
        return out
    return {}


def test_flat_trainer_matches_torch_adam_on_the_same_batches() -> None:
    X, y = data(48)
    ours = cr.Sequential([cr.Dense(3, 6, rng=3), cr.ReLU(), cr.Dense(6, 1, rng=4)])
    start = {k: v.copy() for k, v in ours.params.items()}
    trainer = cr.Trainer(ours, cr.MSE(), cr.adam(0.02))
    trainer.fit(X, y, epochs=5, batch_size=12, shuffle=False)
    assert trainer.flat is not None

    model = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1)
    ).double()
    with torch.no_grad():
        for layer, name in ((model[0], "dense1"), (model[2], "dense2")):
            layer.weight.copy_(torch.from_numpy(start[f"{name}.W"].T.copy()))
            layer.bias.copy_(torch.from_numpy(start[f"{name}.b"]))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(5):
        for s in range(0, 48, 12):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(Xt[s : s + 12]), yt[s : s + 12]).backward()
            opt.step()
    np.testing.assert_allclose(
        ours.params["dense1.W"], model[0].weight.detach().numpy().T, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        ours.params["dense2.b"], model[2].bias.detach().numpy(), rtol=0, atol=1e-12
    )


class Rebind(Callback):
    """At epoch 2, gives a layer a new weight array (the flat layout no longer holds)."""

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        if epoch == 2:
            W = trainer.network.params["dense1.W"]
            trainer.network.set_params({"dense1.W": W.copy()}, copy=False)


def test_a_rebound_parameter_keeps_training_exactly() -> None:
    flat = fit(cr.adam(0.01), callbacks=[Rebind()])
    ref = fit(per_array(cr.adam(0.01)), callbacks=[Rebind()])
    for k, v in ref.network.params.items():
        assert np.array_equal(flat.network.params[k], v), k
    assert not np.shares_memory(flat.network.params["dense1.W"], flat.flat.theta)


def test_frozen_parameters_stay_out_of_theta_and_unchanged() -> None:
    X, y = data()
    runs = []
    for opt in (cr.sgd(0.1, momentum=0.9), per_array(cr.sgd(0.1, momentum=0.9))):
        net = network()
        net.freeze("dense2")
        before = net.params["dense2.W"].copy()
        trainer = cr.Trainer(net, cr.BinaryCrossEntropy(from_logits=True), opt)
        trainer.fit(X, y, epochs=4, batch_size=16, shuffle=True, rng=3)
        assert np.array_equal(net.params["dense2.W"], before)
        runs.append(net.params)
    for k in runs[1]:
        assert np.array_equal(runs[0][k], runs[1][k]), k


def test_best_weights_snapshot_is_a_copy_not_a_view() -> None:
    trainer = fit(cr.sgd(0.1), epochs=5)
    best = trainer.best_params
    assert best is not None
    for k, v in best.items():
        assert not np.shares_memory(v, trainer.flat.theta), k


def test_a_name_dependent_transformation_sees_every_name() -> None:
    seen: list[set[str]] = []

    def update(updates, state, params):
        seen.append(set(updates))
        return {k: -0.1 * u if k.endswith(".W") else 0 * u for k, u in updates.items()}, state

    custom = GradientTransformation(lambda params: (), update)
    trainer = fit(custom, epochs=1)
    assert seen and seen[0] == set(trainer.network.trainable_names())


@settings(max_examples=80, deadline=None)
@given(
    rows=st.integers(1, 300),
    cols=st.integers(1, 160),
    dtype=st.sampled_from([np.float64, np.float32]),
    layout=st.sampled_from(["C", "F", "reversed", "strided"]),
    seed=st.integers(0, 2**16),
)
def test_column_sums_equals_a_column_sum(rows, cols, dtype, layout, seed) -> None:
    """column_sums against the exact sum of the same numbers, within summation rounding.

    Not bit for bit against ``np.sum``: NumPy's pairwise and vectorised summation order is an
    implementation detail a NumPy release (or the SIMD width of a machine) may change. Any order
    of summing ``n`` terms in precision ``ε`` errs by at most ``(n - 1)·ε·Σ|a|`` (Higham, *Accuracy
    and Stability of Numerical Algorithms*, §4.2), which is the bound checked here against a sum
    done in exact rational arithmetic (``math.fsum``).
    """
    gen = np.random.default_rng(seed)
    a = (gen.standard_normal((rows, cols)) * gen.exponential(10, (rows, cols))).astype(dtype)
    a = {"C": a, "F": np.asfortranarray(a), "reversed": a[::-1], "strided": a[:, ::2]}[layout]
    exact = np.array([math.fsum(col) for col in a.T.astype(np.float64)])
    bound = max(rows - 1, 1) * np.finfo(dtype).eps * np.abs(a).astype(np.float64).sum(axis=0)
    got = column_sums(a)
    assert got.dtype == a.dtype and got.shape == (a.shape[1],)
    assert np.all(np.abs(got - exact) <= bound)
    out = np.empty_like(got)
    assert column_sums(a, out=out) is out and np.array_equal(out, got)  # same call, same process


@pytest.mark.parametrize(
    "y",
    [
        np.array([0, 1, 1, 0]),
        np.array(["b", "a", "c", "a", "c"]),
        np.array([True, False, True]),
        np.random.default_rng(0).integers(0, 7, 100),
        np.array([5, 5, 9]),
        np.array(["x", "y"], dtype=object),
    ],
)
def test_indicator_matrix_is_label_binarizers(y: np.ndarray) -> None:
    binarizer = LabelBinarizer().fit(y)
    for part in (y, y[:1], y[::-1]):
        expected = binarizer.transform(part)
        got = indicator_matrix(part, binarizer)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_arrays_from_net_params_are_the_ones_training_updates() -> None:
    """The container lays its parameters out when built; θ adopts that buffer, moving nothing."""
    net = network()
    before = {k: v for k, v in net.params.items()}  # the arrays themselves
    copies = {k: v.copy() for k, v in before.items()}
    X, y = data()
    trainer = cr.Trainer(net, cr.BinaryCrossEntropy(from_logits=True), cr.adam(0.01))
    trainer.fit(X, y, epochs=3, batch_size=16, shuffle=True, rng=7)
    for k, v in net.params.items():
        assert v is before[k], k
        assert not np.array_equal(v, copies[k]), k  # trained, in place
    assert np.shares_memory(before["dense1.W"], trainer.flat.theta)
