"""What people read: the network summary, HTML reprs, the History repr, the estimator's init.

Oracles: parameter counts computed here from the layer widths (``in·out + out`` per Dense),
the epoch of the lowest validation loss found here with ``argmin``, an HTML parser for the
notebook reprs, and scikit-learn's Glorot bound for the estimator's draw.
"""

from __future__ import annotations

import io
import math
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        self._cell = tag in ("td", "th")

    def handle_endtag(self, tag: str) -> None:
        self._cell = False

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.rows[-1].append(data)


def _net() -> cr.Sequential:
    gen = np.random.default_rng(0)
    return cr.Sequential(
        [cr.Dense(3, 5, rng=gen), cr.Tanh(), cr.Dropout(0.1, rng=gen), cr.Dense(5, 2, rng=gen)]
    )


def test_summary_prints_a_keras_style_table_and_returns_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    net = _net()
    net.freeze("dense2")
    assert net.summary() is None
    printed = capsys.readouterr().out
    buffer = io.StringIO()
    net.summary(file=buffer)
    assert printed == buffer.getvalue() == net.summary_text() + "\n"
    lines = printed.splitlines()
    assert lines[2].split() == ["Layer", "(type)", "Output", "shape", "Param", "#"]
    body = [line.split() for line in lines[4:8]]
    assert body == [
        ["dense1", "(Dense)", "(N,", "5)", str(3 * 5 + 5)],
        ["tanh1", "(Tanh)", "(N,", "5)", "0"],
        ["dropout1", "(Dropout)", "(N,", "5)", "0"],
        ["dense2", "(Dense)", "(N,", "2)", str(5 * 2 + 2)],
    ]
    assert lines[9:12] == ["Total params: 32", "Trainable params: 20", "Non-trainable params: 12"]


def test_network_html_repr_is_the_same_table() -> None:
    parser = _Cells()
    parser.feed(_net()._repr_html_())
    assert parser.rows[0] == ["Layer (type)", "Output shape", "Param #"]
    assert parser.rows[1:] == [
        ["dense1 (Dense)", "(N, 5)", "20"],
        ["tanh1 (Tanh)", "(N, 5)", "0"],
        ["dropout1 (Dropout)", "(N, 5)", "0"],
        ["dense2 (Dense)", "(N, 2)", "12"],
    ]


def test_history_repr_is_short_and_counts_epochs_from_one() -> None:
    gen = np.random.default_rng(3)
    X = gen.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = cr.Sequential([cr.Dense(2, 8, rng=gen), cr.ReLU(), cr.Dense(8, 2, rng=gen)])
    trainer = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.05))
    stream = io.StringIO()
    history = trainer.fit(
        X,
        y,
        epochs=300,
        validation_split=0.25,
        rng=gen,
        callbacks=[cr.EarlyStopping(patience=5), cr.ProgressBar(stream=stream)],
    )
    n = len(history["loss"])
    best = int(np.argmin(history["val_loss"]))  # the lowest validation loss, found here
    text = repr(history)
    assert len(text) < 200  # not every list in full
    assert text.startswith(f"History({n} epochs, last loss {history['loss'][-1]:.4g}")
    assert f"best epoch {best + 1}" in text and "stopped: early_stopping" in text
    # the progress bar counts the same way: its first line is epoch 1, its last epoch n
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/300") and lines[-2].startswith(f"epoch {n}/300")
    parser = _Cells()
    parser.feed(history._repr_html_())
    assert parser.rows[0] == ["key", f"epoch {n}"]
    assert dict(parser.rows[1:])["val_loss"] == f"{history['val_loss'][-1]:.4g}"


@pytest.mark.parametrize(
    ("activation", "factor", "label"),
    [("relu", 6.0, "sklearn_glorot_uniform"), ("logistic", 2.0, "sklearn_glorot_uniform_logistic")],
)
def test_estimator_network_names_its_real_initialisation(
    activation: str, factor: float, label: str
) -> None:
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch
        mlp = cr.MLPClassifier(
            (6,), activation=activation, max_iter=1, learning_rate_init=1e-9, random_state=0
        )
        mlp.fit(X, y)
    dense = mlp.network_[0]
    assert f"weight_init='{label}'" in repr(mlp.network_) and "zeros" not in repr(mlp.network_)
    assert dense.config()["weight_init"] == dense.config()["bias_init"] == label
    # scikit-learn's draw: U(−a, a), a = √(factor / (fan_in + fan_out)), biases included
    bound = math.sqrt(factor / (3 + 6))
    for values in (dense.params["W"], dense.params["b"]):
        assert np.all(np.abs(values) <= bound + 1e-6) and np.abs(values).max() > bound / 2
