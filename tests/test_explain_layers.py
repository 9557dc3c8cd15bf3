"""explain_step on layers beyond the lecture's: BatchNorm, a Residual block, Dropout, LayerNorm.

The oracle is PyTorch autograd on the same weights (BatchNorm in training mode, on the batch's
statistics; dropout off, as explain documents), and each layer's own formula text must appear
in the trace."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import explain_step

torch = pytest.importorskip("torch")


def build() -> cr.Sequential:
    gen = np.random.default_rng(11)
    block = cr.Sequential([cr.Dense(4, 4, rng=gen), cr.Tanh(), cr.Dropout(0.3, rng=1)])
    return cr.Sequential(
        [
            cr.Dense(3, 4, rng=gen),
            cr.BatchNorm(4),
            cr.ReLU(),
            cr.Residual(block),
            cr.LayerNorm(4),
            cr.Dense(4, 2, rng=gen),
        ]
    )


def torch_forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The same network written directly in PyTorch (dropout off)."""
    F = torch.nn.functional
    z1 = x @ params["dense1.W"] + params["dense1.b"]
    bn = F.batch_norm(
        z1, None, None, params["batchnorm1.gamma"], params["batchnorm1.beta"], training=True
    )
    a = torch.relu(bn)
    fx = torch.tanh(a @ params["residual1.block.dense1.W"] + params["residual1.block.dense1.b"])
    r = a + fx
    ln = F.layer_norm(r, (4,), params["layernorm1.gamma"], params["layernorm1.beta"])
    return ln @ params["dense2.W"] + params["dense2.b"]


def test_gradients_match_torch_and_formulas_are_listed() -> None:
    net = build()
    gen = np.random.default_rng(5)
    x, y = gen.standard_normal((6, 3)), gen.standard_normal((6, 2))
    # non-trivial γ, β so the affine part is exercised
    net.set_params({"batchnorm1.gamma": 1 + 0.3 * gen.standard_normal(4)})
    net.set_params({"layernorm1.beta": 0.2 * gen.standard_normal(4)})
    buffers_before = {k: v.copy() for k, v in net.buffers.items()}
    trace = explain_step(net, x, y, cr.MSE(), learning_rate=0.2)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    out = torch_forward(params, torch.tensor(x))
    loss = torch.mean((out - torch.tensor(y)) ** 2)
    loss.backward()

    assert trace.loss_value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(trace["ŷ"], out.detach().numpy(), rtol=1e-12)
    assert set(trace.gradients) == set(params)
    for name, tensor in params.items():
        np.testing.assert_allclose(
            trace.gradients[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=name
        )
        new = (tensor - 0.2 * tensor.grad).detach().numpy()
        np.testing.assert_allclose(trace.updated[name], new, rtol=1e-12, atol=1e-13, err_msg=name)
    # running statistics are put back
    for k, v in net.buffers.items():
        np.testing.assert_array_equal(v, buffers_before[k])

    formulas = " | ".join(q.formula for q in trace.quantities)
    for layer_type in (cr.BatchNorm, cr.LayerNorm, cr.Dropout):
        assert layer_type.formula in formulas, layer_type.__name__
        assert layer_type.derivative in formulas, layer_type.__name__
    assert "x + f(x)" in formulas and "skip + block" in formulas
    assert "drop(" in " ".join(trace.symbols)
    assert any("residual1" in line and "Residual" in line for line in trace.architecture)
    assert "batchnorm1.gamma" in trace and "∂L/∂batchnorm1.gamma" in trace


def test_residual_input_gradient_is_the_sum_of_both_paths() -> None:
    """∂L/∂x of a Residual at the input equals autograd's, so the sum is recorded right."""
    gen = np.random.default_rng(2)
    net = cr.Sequential(
        [cr.Dense(2, 3, rng=gen), cr.Residual(cr.Sequential([cr.Dense(3, 3, rng=gen), cr.ELU()]))]
    )
    x, y = gen.standard_normal((4, 2)), gen.standard_normal((4, 3))
    trace = explain_step(net, x, y, cr.MSE())
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    z1 = torch.tensor(x) @ params["dense1.W"] + params["dense1.b"]
    z1.retain_grad()
    w, b = params["residual1.block.dense1.W"], params["residual1.block.dense1.b"]
    out = z1 + torch.nn.functional.elu(z1 @ w + b)
    torch.mean((out - torch.tensor(y)) ** 2).backward()
    # the output is the Residual's sum, so it is ŷ; δ1 = ∂L/∂z1 sums the skip and the block
    np.testing.assert_allclose(trace["ŷ"], out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(trace["∂L/∂z1"], z1.grad.numpy(), rtol=1e-10, atol=1e-14)
    for name, tensor in params.items():
        np.testing.assert_allclose(trace.gradients[name], tensor.grad.numpy(), rtol=1e-10)
