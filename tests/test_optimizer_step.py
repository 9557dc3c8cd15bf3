"""The trainer's update step (``GradientTransformation.step``) against independent references.

* PyTorch: a ``torch.nn`` network trained by ``torch.optim`` on the same batches, in the same
  order, reaches the same weights (float64, within 1e-12) — the Trainer's step end to end, for
  every built-in rule.
* The parameters a caller holds are the arrays training updates: no copy is trained instead.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_optimizers import CASES

import chainrule as cr
from chainrule.network.optimizers import GradientTransformation
from chainrule.training.callbacks import Callback

# every built-in rule, each beside the torch.optim one it must match (test_optimizers.py)
TORCH_RULES = CASES


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


@pytest.mark.parametrize("name", sorted(TORCH_RULES))
def test_trainer_matches_torch_optim_on_the_same_batches(name: str) -> None:
    ours_rule, torch_rule = TORCH_RULES[name]
    X, y = data(48)
    ours = cr.Sequential([cr.Dense(3, 6, rng=3), cr.ReLU(), cr.Dense(6, 1, rng=4)])
    start = {k: v.copy() for k, v in ours.params.items()}
    trainer = cr.Trainer(ours, cr.MSE(), ours_rule())
    trainer.fit(X, y, epochs=5, batch_size=12, shuffle=False)

    model = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1)
    ).double()
    with torch.no_grad():
        for layer, layer_name in ((model[0], "dense1"), (model[2], "dense2")):
            layer.weight.copy_(torch.from_numpy(start[f"{layer_name}.W"].T.copy()))
            layer.bias.copy_(torch.from_numpy(start[f"{layer_name}.b"]))
    opt = torch_rule(model.parameters())
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(5):
        for s in range(0, 48, 12):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(Xt[s : s + 12]), yt[s : s + 12]).backward()
            opt.step()
    for layer, layer_name in ((model[0], "dense1"), (model[2], "dense2")):
        np.testing.assert_allclose(
            ours.params[f"{layer_name}.W"], layer.weight.detach().numpy().T, rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            ours.params[f"{layer_name}.b"], layer.bias.detach().numpy(), rtol=0, atol=1e-12
        )


class Rebind(Callback):
    """At epoch 2, gives a layer a new weight array (the flat layout no longer holds)."""

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        if epoch == 2:
            W = trainer.network.params["dense1.W"]
            trainer.network.set_params({"dense1.W": W.copy()}, copy=False)


def test_a_rebound_parameter_keeps_training() -> None:
    """A callback that gives a layer a new array of the same values changes nothing."""
    rebound = fit(cr.adam(0.01), callbacks=[Rebind()])
    ref = fit(cr.adam(0.01))
    for k, v in ref.network.params.items():
        np.testing.assert_allclose(rebound.network.params[k], v, rtol=1e-12, atol=1e-14)


def test_frozen_parameters_stay_unchanged() -> None:
    X, y = data()
    net = network()
    net.freeze("dense2")
    before = net.params["dense2.W"].copy()
    trainer = cr.Trainer(net, cr.BinaryCrossEntropy(from_logits=True), cr.sgd(0.1, momentum=0.9))
    trainer.fit(X, y, epochs=4, batch_size=16, shuffle=True, rng=3)
    assert np.array_equal(net.params["dense2.W"], before)
    assert not np.array_equal(net.params["dense1.W"], network().params["dense1.W"])


def test_best_weights_snapshot_is_a_copy_not_a_view() -> None:
    trainer = fit(cr.sgd(0.1), epochs=5)
    best = trainer.best_params
    assert best is not None
    for k, v in best.items():
        assert not np.shares_memory(v, trainer.network.params[k]), k


def test_a_name_dependent_transformation_sees_every_name() -> None:
    seen: list[set[str]] = []

    def update(updates, state, params):
        seen.append(set(updates))
        return {k: -0.1 * u if k.endswith(".W") else 0 * u for k, u in updates.items()}, state

    custom = GradientTransformation(lambda params: (), update)
    trainer = fit(custom, epochs=1)
    assert seen and seen[0] == set(trainer.network.trainable_names())


def test_arrays_from_net_params_are_the_ones_training_updates() -> None:
    """Training updates the arrays ``net.params`` handed out, in place: nothing is copied."""
    net = network()
    before = {k: v for k, v in net.params.items()}  # the arrays themselves
    copies = {k: v.copy() for k, v in before.items()}
    X, y = data()
    trainer = cr.Trainer(net, cr.BinaryCrossEntropy(from_logits=True), cr.adam(0.01))
    trainer.fit(X, y, epochs=3, batch_size=16, shuffle=True, rng=7)
    for k, v in net.params.items():
        assert v is before[k], k
        assert not np.array_equal(v, copies[k]), k  # trained, in place
