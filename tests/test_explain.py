"""explain_step against independent oracles: the lecture's formulas in NumPy, PyTorch autograd,
central finite differences; and the ``chainrule explain`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explain import HalfSumSquaredError, explain_step, lecture_example

torch = pytest.importorskip("torch")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_lecture_step_matches_the_lecture_formulas_bit_for_bit() -> None:
    """One full-batch step of the lecture's loop, its formulas written out here in NumPy."""
    rng = np.random.RandomState(42)  # the lecture's np.random.seed(42) stream
    data = rng.randn(500, 2)
    labels = ((data[:, 0] + data[:, 1]) > 0).reshape(-1, 1)
    W1, b1 = rng.randn(2, 4), np.zeros(4)
    W2, b2 = rng.randn(4, 1), np.zeros(1)
    learning_rate = 0.1

    hidden = sigmoid(np.dot(data, W1) + b1)
    output = sigmoid(np.dot(hidden, W2) + b2)
    d_output = (output - labels) * (output * (1 - output))
    d_hidden = np.dot(d_output, W2.T) * (hidden * (1 - hidden))
    new_W2 = W2 - learning_rate * np.dot(hidden.T, d_output)
    new_b2 = b2 - learning_rate * np.sum(d_output, axis=0)
    new_W1 = W1 - learning_rate * np.dot(data.T, d_hidden)
    new_b1 = b1 - learning_rate * np.sum(d_hidden, axis=0)

    net, X, y = lecture_example()
    trace = explain_step(net, X, y, HalfSumSquaredError(), learning_rate=learning_rate)
    expected = {
        "W1": W1, "W2": W2, "h": hidden, "hidden": hidden, "ŷ": output, "output": output,
        "d_output": d_output, "d_hidden": d_hidden, "∂L/∂W2": np.dot(hidden.T, d_output),
        "∂L/∂W1": np.dot(data.T, d_hidden), "W2⁺": new_W2, "b2⁺": new_b2, "W1⁺": new_W1,
        "b1⁺": new_b1,
    }  # fmt: skip
    for symbol, value in expected.items():
        np.testing.assert_array_equal(trace[symbol], value, err_msg=symbol)
    np.testing.assert_array_equal(trace["z1"], np.dot(data, W1) + b1)
    np.testing.assert_array_equal(trace["σ′(z2)"], output * (1 - output))
    assert trace.loss_value == pytest.approx(0.5 * np.sum((output - labels) ** 2), rel=1e-14)
    # and the lecture's printed epoch-0 loss, mean((y − ŷ)²) = 0.2570
    assert f"{np.mean((trace['ŷ'] - trace['y']) ** 2):.4f}" == "0.2570"


def test_the_network_is_left_untouched() -> None:
    net, X, y = lecture_example()
    before = {k: v.copy() for k, v in net.params.items()}
    trainer = cr.Trainer(net, HalfSumSquaredError(), cr.sgd(0.1))
    trainer.fit(X[:5], y[:5], epochs=1)
    grads = {k: v.copy() for k, v in net.grads.items()}
    params = {k: v.copy() for k, v in net.params.items()}
    explain_step(net, X[5:8], y[5:8])
    for k in params:
        np.testing.assert_array_equal(net.params[k], params[k])
        np.testing.assert_array_equal(net.grads[k], grads[k])
    assert any(not np.array_equal(before[k], params[k]) for k in params)


def torch_net(net: cr.Sequential) -> tuple[list, list]:
    """The same network in PyTorch: ordered (kind, W, b) specs with leaf tensors."""
    specs = []
    for layer in net.layers:
        if isinstance(layer, cr.Dense):
            W = torch.tensor(layer.params["W"], requires_grad=True)
            b = torch.tensor(layer.params["b"], requires_grad=True)
            specs.append(("dense", W, b))
        else:
            specs.append((type(layer).__name__, None, None))
    return specs, [t for _, W, b in specs if W is not None for t in (W, b)]


def test_deep_network_against_torch_autograd() -> None:
    gen = np.random.default_rng(7)
    net = cr.Sequential(
        [
            cr.Dense(3, 5, rng=gen), cr.Tanh(),
            cr.Dense(5, 4, rng=gen), cr.ReLU(),
            cr.Dense(4, 3, rng=gen),
        ]
    )  # fmt: skip
    x = gen.standard_normal((4, 3))
    y = np.array([0, 2, 1, 2])
    trace = explain_step(net, x, y, cr.CrossEntropy(), learning_rate=0.3)

    specs, leaves = torch_net(net)
    a = torch.tensor(x)
    zs = []
    for kind, W, b in specs:
        if kind == "dense":
            a = a @ W + b
            a.retain_grad()
            zs.append(a)
        elif kind == "Tanh":
            a = torch.tanh(a)
        else:
            a = torch.relu(a)
    loss = torch.nn.functional.cross_entropy(a, torch.tensor(y))
    loss.backward()

    assert trace.loss_value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(trace["p"], torch.softmax(a, 1).detach().numpy(), rtol=1e-12)
    # Deltas: δ1, δ2 are ∂L/∂z of the hidden layers; the linear output's δ3 is d_output.
    for k, symbol in ((1, "δ1"), (2, "δ2"), (3, "d_output")):
        np.testing.assert_allclose(trace[symbol], zs[k - 1].grad.numpy(), rtol=1e-10, atol=1e-14)
    assert trace.get("δ3").symbol == "d_output"
    for k in (1, 2, 3):
        W, b = leaves[2 * (k - 1)], leaves[2 * (k - 1) + 1]
        np.testing.assert_allclose(trace[f"∂L/∂W{k}"], W.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(trace[f"∂L/∂b{k}"], b.grad.numpy(), rtol=1e-10, atol=1e-14)
        new_W = (W - 0.3 * W.grad).detach().numpy()
        np.testing.assert_allclose(trace[f"W{k}⁺"], new_W, rtol=1e-12)
        np.testing.assert_allclose(trace.updated[f"dense{k}.W"], new_W, rtol=1e-12)
    assert trace.symbols[:8] == ["W1", "b1", "W2", "b2", "W3", "b3", "x", "z1"]
    assert [q.symbol for q in trace.stage("forward")] == ["x", "z1", "a1", "z2", "a2", "ŷ"]


def test_adam_update_against_torch_optim() -> None:
    gen = np.random.default_rng(3)
    net = cr.Sequential([cr.Dense(2, 3, rng=gen), cr.Sigmoid(), cr.Dense(3, 1, rng=gen)])
    x, y = gen.standard_normal((5, 2)), gen.standard_normal(5)
    trace = explain_step(net, x, y, cr.MSE(), cr.adam(0.01))
    specs, leaves = torch_net(net)
    opt = torch.optim.Adam(leaves, lr=0.01)
    a = torch.sigmoid(torch.tensor(x) @ specs[0][1] + specs[0][2]) @ specs[2][1] + specs[2][2]
    torch.mean((a - torch.tensor(y).reshape(-1, 1)) ** 2).backward()
    opt.step()
    for k in (1, 2):
        np.testing.assert_allclose(
            trace[f"W{k}⁺"], leaves[2 * (k - 1)].detach().numpy(), rtol=1e-10
        )
        np.testing.assert_allclose(trace[f"b{k}⁺"], leaves[2 * k - 1].detach().numpy(), rtol=1e-10)
    assert "m̂_W1" in trace.get("W1⁺").formula  # Adam's rule written out, not "W + Δ"


def test_dropout_and_huber_against_finite_differences() -> None:
    gen = np.random.default_rng(11)
    net = cr.Sequential(
        [cr.Dense(2, 4, rng=gen), cr.ELU(), cr.Dropout(0.5, rng=1), cr.Dense(4, 2, rng=gen)]
    )
    x, y = gen.standard_normal((3, 2)), gen.standard_normal((3, 2))
    loss = cr.Huber(delta=0.5)
    trace = explain_step(net, x, y, loss)

    def value(params: dict[str, np.ndarray]) -> float:
        saved = {k: v.copy() for k, v in net.params.items()}
        net.set_params(params)
        out = net.forward(x, training=False)
        net.set_params(saved)
        return loss(out, y)[0]

    eps = 1e-6
    for name, param in net.params.items():
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            up, down = dict(net.params), dict(net.params)
            up[name], down[name] = param.copy(), param.copy()
            up[name][idx] += eps
            down[name][idx] -= eps
            numeric[idx] = (value(up) - value(down)) / (2 * eps)
        np.testing.assert_allclose(trace.gradients[name], numeric, rtol=1e-6, atol=1e-9)
    assert "drop(h)" in trace
    assert any("Dropout" in note for note in trace.notes)


def test_renderings_list_every_quantity() -> None:
    net, X, y = lecture_example()
    trace = explain_step(net, X[:2], y[:2])
    table, markdown, page = trace.table(), trace.markdown(), trace.html()
    for symbol in trace.symbols:
        assert f"  {symbol} " in table
        assert f"| {symbol} |" in markdown
    for name in ("z1", "h", "z2", "ŷ", "∂L/∂ŷ", "d_output", "d_hidden", "∂L/∂W2", "∂L/∂W1", "W1⁺"):
        assert name in trace.symbols
    assert markdown.count("\n| ") == len(trace.quantities) + 5  # and a header per stage
    assert page.count("<tr>") == len(trace.quantities) + 5
    data = json.loads(json.dumps(trace.to_dict()))
    assert [q["symbol"] for q in data["quantities"]] == trace.symbols


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([[1.0, 2.0, 3.0]], [1.0], "takes 2 input features"),
        ([[1.0, 2.0]], [1.0, 0.0], "target must have shape (1, 1)"),
        (["a", "b"], [1.0], "must be numbers"),
    ],
)
def test_bad_input_says_what_is_wrong(x: list, y: list, message: str) -> None:
    net, _, _ = lecture_example()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        explain_step(net, x, y)


def test_command_explains_mazur_and_the_lecture(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--example", "mazur", "--precision", "9"]) == 0
    out = capsys.readouterr().out
    for figure in ("0.593269992", "0.75136507", "0.298371109", "0.35891648", "0.149780716"):
        assert figure in out
    assert main(["explain", "--rows", "3", "--format", "markdown", "--lr", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "| d_hidden |" in out and "η = 0.05" in out and "(3, 4)" in out
    assert main(["explain", "--input", "0.5,-0.5", "--target", "1", "--loss", "mse_sum"]) == 0
    assert "2(ŷ − y)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--input", "1,2,3", "--target", "1"],
        ["explain", "--input", "1,x", "--target", "1"],
        ["explain", "--input", "1,2"],
        ["explain", "--loss", "nope"],
        ["explain", "missing-model.crm", "--input", "1,2", "--target", "1"],
    ],
)
def test_command_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("chainrule: error: ") and err.count("\n") == 1
