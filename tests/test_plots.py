"""Every plot renders to a PNG of the expected pixel size that is not blank; the vanishing
gradient of a deep sigmoid network shows in the recorded gradient norms; ``chainrule plot``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import plots
from chainrule.cli import main
from chainrule.training.callbacks import GradientNorms

matplotlib = pytest.importorskip("matplotlib")
pd = pytest.importorskip("pandas")
from matplotlib.image import imread  # noqa: E402


def assert_png(path: Path, width: int, height: int) -> None:
    """A PNG of exactly ``width × height`` pixels with real content (not one flat colour)."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width)
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05  # a blank or single-colour image has (almost) none
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50


def moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, 2))
    return X, (X[:, 0] ** 2 + X[:, 1] > 0.5).astype(np.float64)


@pytest.fixture(scope="module")
def trained() -> tuple[cr.Sequential, cr.Loss, cr.History, np.ndarray, np.ndarray]:
    X, y = moons(200, 0)
    gen = np.random.default_rng(1)
    net = cr.Sequential([cr.Dense(2, 12, rng=gen), cr.Tanh(), cr.Dense(12, 1, rng=gen)])
    loss = cr.BinaryCrossEntropy(from_logits=True)
    trainer = cr.Trainer(
        net, loss, cr.adam(0.03), metrics=["accuracy"], callbacks=[GradientNorms()]
    )
    history = trainer.fit(X, y, epochs=40, batch_size=50, validation_split=0.25, rng=2)
    return net, loss, history, X, y


def test_each_plot_renders(trained: tuple, tmp_path: Path) -> None:
    net, loss, history, X, y = trained
    figures = {
        "loss": plots.plot_loss(history),
        "boundary": plots.plot_decision_boundary(net, X, y, loss=loss),
        "gradients": plots.plot_gradient_norms(history, params="all"),
        "weights": plots.plot_weight_histograms(net, include_bias=True),
    }
    for kind, fig in figures.items():
        path = plots.save(fig, tmp_path / f"{kind}.png")
        assert_png(path, 640, 400)
    big = plots.save(plots.plot_loss(history, figsize=(5, 3)), tmp_path / "big.png", dpi=150)
    assert_png(big, 750, 450)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "big.png", "boundary.png", "gradients.png", "loss.png", "weights.png"
    ]  # fmt: skip


def test_boundary_separates_the_classes_it_learned(trained: tuple) -> None:
    # The shaded probability is the network's own: points it classifies as 1 lie where the
    # grid's P(class 1) > 0.5. Checked by reading the contour back from the figure's data.
    net, loss, _, X, y = trained
    fig = plots.plot_decision_boundary(net, X, y, loss=loss, resolution=50)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] < X[:, 0].min() and ax.get_xlim()[1] > X[:, 0].max()
    accuracy = np.mean((loss.link(net.predict(X))[:, 0] > 0.5) == (y > 0.5))
    assert accuracy > 0.9  # it learned the curved boundary the plot shows


def test_vanishing_gradient_in_a_deep_sigmoid_network(tmp_path: Path) -> None:
    X, y = moons(256, 3)
    histories = {}
    for name, activation in (("sigmoid", cr.Sigmoid), ("relu", cr.ReLU)):
        gen = np.random.default_rng(5)
        layers: list = []
        width = 2
        for _ in range(8):
            layers += [cr.Dense(width, 16, rng=gen), activation()]
            width = 16
        net = cr.Sequential([*layers, cr.Dense(16, 1, rng=gen)])
        trainer = cr.Trainer(
            net, cr.BinaryCrossEntropy(from_logits=True), cr.sgd(0.1), callbacks=[GradientNorms()]
        )
        histories[f"8 hidden layers, {name}"] = trainer.fit(X, y, epochs=5, batch_size=64, rng=0)
    first = {k: h.history["grad_norm/dense1.W"][0] for k, h in histories.items()}
    last = {k: h.history["grad_norm/dense9.W"][0] for k, h in histories.items()}
    # σ′ ≤ 1/4 per layer: the first layer's gradient is thousands of times below the last's.
    assert first["8 hidden layers, sigmoid"] / last["8 hidden layers, sigmoid"] < 1e-3
    assert first["8 hidden layers, relu"] / last["8 hidden layers, relu"] > 0.1
    fig = plots.plot_gradient_norms(histories, figsize=(9, 4))
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    assert_png(plots.save(fig, tmp_path / "vanishing.png"), 900, 400)


def test_model_bundle_boundary_with_three_classes(tmp_path: Path) -> None:
    gen = np.random.default_rng(4)
    centers = np.array([[0, 0], [3, 0], [0, 3]])
    labels = gen.integers(0, 3, 150)
    points = centers[labels] + gen.standard_normal((150, 2)) * 0.6
    frame = pd.DataFrame({"a": points[:, 0], "b": points[:, 1]})
    frame["kind"] = np.array(["red", "green", "blue"])[labels]
    from chainrule.tabular.model import TabularModel

    model, _ = TabularModel.fit(frame, "kind", hidden=(8,), epochs=30, batch_size=32, seed=0)
    fig = plots.plot_decision_boundary(model, frame[["a", "b"]].to_numpy(), frame["kind"])
    assert fig.axes[0].get_xlabel() == "a"
    assert_png(plots.save(fig, tmp_path / "three.png"), 640, 400)


def test_bad_requests_say_what_is_wrong(trained: tuple, tmp_path: Path) -> None:
    net, _, history, _, _ = trained
    with pytest.raises(ValueError, match="exactly 2 features"):
        plots.plot_decision_boundary(net, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="no gradient norms"):
        plots.plot_gradient_norms(cr.History(epoch=[0], history={"loss": [1.0]}))
    with pytest.raises(ValueError, match="no training history"):
        plots.plot_loss(net)
    with pytest.raises(ValueError, match=r"ending in \.png"):
        plots.save(plots.plot_loss(history), tmp_path / "loss.jpg")
    with pytest.raises(TypeError, match="holds no chainrule network"):
        plots.plot_weight_histograms(object())
    assert list(tmp_path.iterdir()) == []


def test_plot_command_draws_each_kind_from_a_model_file(tmp_path: Path) -> None:
    X, y = moons(120, 6)
    frame = pd.DataFrame({"u": X[:, 0], "v": X[:, 1], "label": np.where(y > 0, "yes", "no")})
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    from chainrule import save
    from chainrule.tabular.model import TabularModel

    model, _ = TabularModel.fit(frame, "label", hidden=(8,), epochs=15, batch_size=32, seed=0)
    model_path = tmp_path / "model.crm"
    save(model, model_path)
    for kind in plots.KINDS:
        out = tmp_path / f"{kind}.png"
        argv = ["plot", str(model_path), "--kind", kind, "--out", str(out)]
        if kind == "boundary":
            argv += ["--data", str(data)]
        assert main(argv) == 0, kind
        assert_png(out, 640, 400)
    assert (
        main(["plot", str(model_path), "--kind", "boundary", "--out", str(tmp_path / "b.png")]) == 1
    )
    assert not (tmp_path / "b.png").exists()
