"""BatchNorm and LayerNorm against torch.nn (float64, several optimizer steps), finite differences,
float32 training and onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import make_moons

import chainrule as cr
from chainrule.backend import to_numpy
from chainrule.network.gradcheck import check_layer
from chainrule.onnx_export import build_onnx

TOL = 1e-10


def _pair(kind: str, seed: int) -> tuple[cr.Sequential, torch.nn.Sequential]:
    """The same 4 → 6 → norm → tanh → 3 network in chainrule and in torch, float64."""
    gen = np.random.default_rng(seed)
    norm = cr.BatchNorm(6, momentum=0.3) if kind == "batch" else cr.LayerNorm(6)
    ours = cr.Sequential([cr.Dense(4, 6, rng=gen), norm, cr.Tanh(), cr.Dense(6, 3, rng=gen)])
    norm.params["gamma"][:] = gen.uniform(0.5, 1.5, 6)
    norm.params["beta"][:] = gen.standard_normal(6)
    tnorm = torch.nn.BatchNorm1d(6, momentum=0.3) if kind == "batch" else torch.nn.LayerNorm(6)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 6), tnorm, torch.nn.Tanh(), torch.nn.Linear(6, 3)
    ).double()
    with torch.no_grad():
        for i, dense in ((0, ours[0]), (3, ours[3])):
            theirs[i].weight.copy_(torch.tensor(dense.params["W"].T))
            theirs[i].bias.copy_(torch.tensor(dense.params["b"]))
        tnorm.weight.copy_(torch.tensor(norm.params["gamma"]))
        tnorm.bias.copy_(torch.tensor(norm.params["beta"]))
    return ours, theirs


def _torch_grads(theirs: torch.nn.Sequential) -> dict[str, np.ndarray]:
    lin1, norm, _, lin2 = theirs
    return {
        "dense1.W": lin1.weight.grad.numpy().T,
        "dense1.b": lin1.bias.grad.numpy(),
        "dense2.W": lin2.weight.grad.numpy().T,
        "dense2.b": lin2.bias.grad.numpy(),
        f"{type(norm).__name__.lower()}.gamma": norm.weight.grad.numpy(),
        f"{type(norm).__name__.lower()}.beta": norm.bias.grad.numpy(),
    }


def _max_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_matches_torch_over_training_steps(kind: str) -> None:
    """Forward, ∂L/∂x, every parameter gradient, the parameters and the running statistics
    equal torch's to 1e-10 over six SGD steps; then the inference forward and backward do."""
    ours, theirs = _pair(kind, seed=3)
    norm_name = ours[1].name
    # SGD, not Adam: BatchNorm cancels the bias before it, whose gradient is then rounding noise
    # that Adam's g/√v would blow up to full steps of arbitrary sign in both libraries.
    opt = cr.sgd(0.1, momentum=0.9)
    state = opt.init(ours.params)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    gen = np.random.default_rng(7)
    for _step in range(6):
        x = gen.standard_normal((9, 4)) * 2 + 1
        t = gen.standard_normal((9, 3))
        out = ours.forward(x, training=True)
        _, grad = cr.MSE()(out, t)
        grad_x = ours.backward(grad)
        xt = torch.tensor(x, requires_grad=True)
        theirs.train()
        tout = theirs(xt)
        torch.nn.functional.mse_loss(tout, torch.tensor(t)).backward()
        assert _max_err(out, tout.detach().numpy()) < TOL
        assert _max_err(grad_x, xt.grad.numpy()) < TOL
        tgrads = _torch_grads(theirs)
        for name, g in ours.grads.items():
            assert (
                _max_err(g, tgrads[name.replace(norm_name, type(theirs[1]).__name__.lower())]) < TOL
            )
        updates, state = opt.update(ours.grads, state, ours.params)
        cr.apply_updates(ours.params, updates)
        topt.step()
        topt.zero_grad()
        np.testing.assert_allclose(
            ours[0].params["W"], theirs[0].weight.detach().numpy().T, atol=TOL
        )
        np.testing.assert_allclose(
            ours[1].params["gamma"], theirs[1].weight.detach().numpy(), atol=TOL
        )
        if kind == "batch":
            for key in ("running_mean", "running_var"):
                np.testing.assert_allclose(
                    ours[1].buffers[key], getattr(theirs[1], key).numpy(), rtol=0, atol=TOL
                )
    # inference: running statistics (BatchNorm), gradients through the eval-mode layer
    x = gen.standard_normal((5, 4))
    out = ours.forward(x, training=False)
    grad_x = ours.backward(np.ones_like(out))
    theirs.eval()
    xt = torch.tensor(x, requires_grad=True)
    tout = theirs(xt)
    tout.sum().backward()
    assert _max_err(out, tout.detach().numpy()) < TOL
    assert _max_err(grad_x, xt.grad.numpy()) < TOL


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("make", [lambda: cr.BatchNorm(5), lambda: cr.LayerNorm(5)])
def test_finite_differences(make, training: bool) -> None:
    gen = np.random.default_rng(1)
    layer = make()
    layer.params["gamma"][:] = gen.uniform(0.5, 2.0, 5)
    layer.params["beta"][:] = gen.standard_normal(5)
    if "running_mean" in layer.buffers:  # BatchNorm; every layer has (maybe empty) buffers
        layer.buffers["running_mean"][:] = gen.standard_normal(5)
        layer.buffers["running_var"][:] = gen.uniform(0.5, 2.0, 5)
    x = gen.standard_normal((7, 5)) * 3
    report = check_layer(layer, x, rng=2, training=training)
    assert set(report.errors) == {"input", "gamma", "beta"}
    assert report.passed(1e-6), report.table()


def test_batchnorm_refuses_one_row_in_training() -> None:
    with pytest.raises(ValueError, match="at least 2 rows"):
        cr.BatchNorm(3).forward(np.ones((1, 3)), training=True)
    assert cr.BatchNorm(3).forward(np.ones((1, 3))).shape == (1, 3)  # inference is per row


@pytest.mark.parametrize("kind", [cr.BatchNorm, cr.LayerNorm])
def test_float32_training_stays_float32_and_agrees_with_float64(kind) -> None:
    X, y = make_moons(128, noise=0.2, random_state=0)
    outputs = {}
    for dtype in ("float64", "float32"):
        gen = np.random.default_rng(0)
        net = cr.Sequential([cr.Dense(2, 8, rng=gen), kind(8), cr.ReLU(), cr.Dense(8, 2, rng=gen)])
        trainer = cr.Trainer(net, cr.CrossEntropy(), cr.sgd(0.05))
        trainer.fit(X.astype(dtype), y, epochs=2, batch_size=32, rng=1)
        arrays = [
            *net.params.values(),
            *net.grads.values(),
            *getattr(net[1], "buffers", {}).values(),
        ]
        assert {a.dtype for a in arrays} == {np.dtype(dtype)}
        outputs[dtype] = trainer.predict(X.astype(dtype))
        assert outputs[dtype].dtype == np.dtype(dtype)
    np.testing.assert_allclose(outputs["float32"], outputs["float64"], atol=1e-4)


def test_onnx_export_matches_onnxruntime() -> None:
    X, y = make_moons(200, noise=0.2, random_state=1)
    gen = np.random.default_rng(4)
    net = cr.Sequential(
        [
            cr.Dense(2, 8, rng=gen),
            cr.BatchNorm(8),
            cr.Tanh(),
            cr.Dense(8, 8, rng=gen),
            cr.LayerNorm(8),
            cr.ReLU(),
            cr.Dense(8, 2, rng=gen),
        ]
    )
    cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01)).fit(X, y, epochs=3, batch_size=32, rng=0)
    assert np.abs(net[1].buffers["running_mean"]).max() > 0.01  # the statistics really moved
    for layer in (net[1], net[4]):
        assert "∂L/∂" in layer.derivative and "γ" in layer.formula
    session = ort.InferenceSession(build_onnx(net).SerializeToString())
    X32 = X.astype(np.float32)
    (got,) = session.run(None, {"input": X32})
    np.testing.assert_allclose(got, net.predict(X).astype(np.float32), atol=1e-5, rtol=1e-5)


def _deep_moons_loss(normalize: bool) -> tuple[float, float]:
    """First- and last-epoch loss of a 12-layer sigmoid network (width 16) on make_moons."""
    X, y = make_moons(512, noise=0.2, random_state=0)
    gen = np.random.default_rng(0)
    layers: list[cr.Layer] = []
    width = 2
    for _ in range(12):
        layers.append(cr.Dense(width, 16, rng=gen))
        width = 16
        if normalize:
            layers.append(cr.BatchNorm(16))
        layers.append(cr.Sigmoid())
    layers.append(cr.Dense(16, 2, rng=gen))
    trainer = cr.Trainer(cr.Sequential(layers), cr.CrossEntropy(), cr.sgd(0.1, momentum=0.9))
    history = trainer.fit(X, y, epochs=15, batch_size=64, rng=1)
    return history["loss"][0], history["loss"][-1]


def test_batchnorm_trains_a_deep_sigmoid_network_that_does_not_train_without_it() -> None:
    first, last = _deep_moons_loss(normalize=False)
    assert last > 0.65 and last > first - 0.05  # stuck at chance: log 2 ≈ 0.693
    first, last = _deep_moons_loss(normalize=True)
    assert last < 0.3 and last < first / 2


@pytest.mark.parametrize("kind", [cr.BatchNorm, cr.LayerNorm])
def test_training_on_strict_arrays_agrees_with_numpy(kind) -> None:
    xps = pytest.importorskip("array_api_strict")
    X, y = make_moons(60, noise=0.2, random_state=2)
    nets = []
    for data in (X, xps.asarray(X)):
        gen = np.random.default_rng(0)
        net = cr.Sequential([cr.Dense(2, 4, rng=gen), kind(4), cr.Tanh(), cr.Dense(4, 1, rng=gen)])
        targets = y.astype(float) if data is X else xps.asarray(y.astype(float))
        cr.Trainer(net, cr.MSE(), cr.sgd(0.1)).fit(data, targets, epochs=2, batch_size=20, rng=0)
        nets.append(net)
    for k, v in nets[1].params.items():
        np.testing.assert_allclose(np.asarray(to_numpy(v)), nets[0].params[k], rtol=1e-12)
    for k, v in getattr(nets[1][1], "buffers", {}).items():
        np.testing.assert_allclose(np.asarray(to_numpy(v)), nets[0][1].buffers[k], rtol=1e-12)


def test_batchnorm_running_statistics_survive_save_and_load(tmp_path) -> None:
    gen = np.random.default_rng(3)
    net = cr.Sequential(
        [cr.Dense(3, 4, rng=gen), cr.BatchNorm(4), cr.ReLU(), cr.Dense(4, 1, rng=gen)]
    )
    X = gen.standard_normal((64, 3)) * 5 + 2
    cr.Trainer(net, cr.MSE(), cr.sgd(0.01)).fit(X, X[:, :1], epochs=5, batch_size=16)
    assert "batchnorm1.running_mean" in net.buffers
    cr.save(net, tmp_path / "bn.safetensors")
    back = cr.load(tmp_path / "bn.safetensors")
    np.testing.assert_array_equal(
        back.buffers["batchnorm1.running_var"], net.buffers["batchnorm1.running_var"]
    )
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
