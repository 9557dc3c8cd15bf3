"""``plot --kind boundary`` on a model with text columns: the boundary is drawn over two numeric
columns with the others held at their mean / most frequent value, and the probabilities on the
grid are the model's own ``predict_proba`` on rows built here by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule import plots, save
from chainrule.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A CSV with a text column between numbers, and a classifier trained on it."""
    from chainrule.tabular.model import TabularModel

    gen = np.random.default_rng(3)
    n = 180
    colour = gen.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    a, b, c = gen.standard_normal(n), gen.standard_normal(n), gen.uniform(0, 10, n)
    shift = np.select([colour == "red", colour == "green"], [0.5, -0.5], 0.0)
    label = np.where(a + b + shift > 0, "yes", "no")
    frame = pd.DataFrame({"colour": colour, "a": a, "b": b, "c": c, "label": label})
    folder = tmp_path_factory.mktemp("boundary")
    data = folder / "train.csv"
    frame.to_csv(data, index=False)
    frame = pd.read_csv(data)  # the types a user's file has
    model, _ = TabularModel.fit(frame, "label", hidden=(6,), epochs=10, batch_size=32, seed=0)
    path = folder / "model.crm"
    save(model, path)
    return model, frame, data, path


def hand_rows(frame: pd.DataFrame, x: str, y: str, xx: np.ndarray, yy: np.ndarray) -> pd.DataFrame:
    """The grid as raw rows, other columns at their mean / mode, computed independently."""
    rows = frame.drop(columns=["label"]).iloc[[0] * xx.size].reset_index(drop=True)
    for col in rows.columns:
        if col == x:
            rows[col] = xx.ravel()
        elif col == y:
            rows[col] = yy.ravel()
        elif frame[col].dtype == object or str(frame[col].dtype) in ("str", "string"):
            rows[col] = frame[col].value_counts().idxmax()
        else:
            rows[col] = frame[col].mean()
    return rows


@pytest.mark.parametrize("axes", [None, ("c", "a")])
def test_grid_is_the_models_own_probabilities(mixed: tuple, axes: tuple | None) -> None:
    model, frame, _, _ = mixed
    grid = plots.decision_grid(model, frame.drop(columns=["label"]), columns=axes, resolution=25)
    x, y = axes or ("a", "b")  # default: the first two numeric input columns
    assert grid.names == (x, y)
    assert grid.held["colour"] == "red"  # the most frequent colour (p = 0.5)
    assert grid.xx.shape == (25, 25)
    # the axes span the data with 8 % either side
    span = frame[x].max() - frame[x].min()
    assert grid.xx[0, 0] == pytest.approx(frame[x].min() - 0.08 * span)
    expected = model.predict_proba(hand_rows(frame, x, y, grid.xx, grid.yy))
    np.testing.assert_allclose(grid.probs, np.asarray(expected), rtol=1e-12, atol=1e-15)


def test_plot_boundary_command_with_a_text_column(mixed: tuple, tmp_path: Path) -> None:
    _, _, data, model_path = mixed
    out = tmp_path / "boundary.png"
    base = ["plot", str(model_path), "--kind", "boundary", "--data", str(data)]
    assert main([*base, "--out", str(out)]) == 0
    pixels = imread(out)
    assert pixels.shape[:2] == (400, 640) and pixels[..., :3].std() > 0.05
    out2 = tmp_path / "ca.png"
    assert main([*base, "--x", "c", "--y", "a", "--out", str(out2)]) == 0
    assert out2.read_bytes() != out.read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--x", "colour", "--y", "a"], "'colour' is not numeric"),
        (["--x", "zzz", "--y", "a"], "'zzz' is not one of the model's input columns"),
        (["--x", "a"], "Give both --x COL and --y COL"),
    ],
)
def test_bad_axes_say_what_is_wrong(
    mixed: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list, message: str
) -> None:
    _, _, data, model_path = mixed
    out = tmp_path / "b.png"
    argv = ["plot", str(model_path), "--kind", "boundary", "--data", str(data), "--out", str(out)]
    assert main([*argv, *extra]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
