"""The lecture's network, reproduced: the oracle is the lecture's own code, extracted and run."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest
from conftest import SEED_FILE, SHARED_SEED
from lecture_code import code_cells, run_cells

import chainrule as cr
from chainrule.lecture import (
    LEARNING_RATE,
    SEED,
    lecture_data,
    lecture_in_chainrule,
    lecture_loss,
    lecture_network,
    snippet,
)

PARAMS = {"W1": "dense1.W", "b1": "dense1.b", "W2": "dense2.W", "b2": "dense2.b"}


def lecture_setup() -> tuple[cr.Sequential, np.ndarray, np.ndarray]:
    """The lecture's data and 2-4-1 network as chainrule.lecture defines them (checked below
    against the lecture's own draws)."""
    rng = np.random.RandomState(SEED)
    X, y = lecture_data(rng)
    return lecture_network(rng), X, y


@pytest.fixture(scope="module")
def cells() -> list[str]:
    found = code_cells(SEED_FILE)
    assert len(found) == 4, "the lecture has four code cells: data, model, training, testing"
    assert "for epoch in range(epochs):" in found[2]
    return found


def test_vendored_lecture_is_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("../shared/seeds is not beside this checkout")
    assert SEED_FILE.read_text() == SHARED_SEED.read_text()


def test_demo_prints_the_lecture_lines(cells: list[str]) -> None:
    lecture_output, _ = run_cells(cells)
    demo = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "demo"], capture_output=True, text=True, check=True
    )
    lines = lecture_output.strip().splitlines()
    assert len(lines) == 5 + 1 + 10 + 1  # five data rows, labels, ten losses, predictions
    assert demo.stdout.splitlines()[: len(lines)] == lines
    assert "Epoch 900, Loss: 0.0025" in lines and "Test predictions: [0 0 1 0]" in lines
    assert snippet() in demo.stdout


def test_weights_match_the_lecture_epoch_by_epoch(cells: list[str]) -> None:
    """Run the lecture's training cell one epoch at a time and compare after every epoch."""
    _, ns = run_cells(cells[:2])
    one_epoch = cells[2].replace("epochs = 1000", "epochs = 1")
    assert one_epoch != cells[2]

    class Record(cr.Callback):
        def __init__(self) -> None:
            self.weights: list[dict[str, np.ndarray]] = []
            self.mse: list[float] = []

        def on_epoch_end(self, trainer, epoch, logs) -> None:
            self.weights.append({k: v.copy() for k, v in trainer.network.params.items()})
            self.mse.append(logs["mse"])

    net, X, y = lecture_setup()
    for lecture_name, ours in PARAMS.items():  # same initial draws from the same stream
        np.testing.assert_array_equal(net.params[ours], ns[lecture_name])
    record = Record()
    cr.Trainer(net, lecture_loss(), cr.sgd(LEARNING_RATE), metrics=["mse"]).fit(
        X, y, epochs=1000, callbacks=[record]
    )
    for epoch in range(1000):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(one_epoch, "<lecture>", "exec"), ns)
        assert record.mse[epoch] == pytest.approx(float(ns["loss"]), rel=1e-12)
        for lecture_name, ours in PARAMS.items():
            np.testing.assert_allclose(
                record.weights[epoch][ours], ns[lecture_name], rtol=1e-9, atol=0
            )
    assert LEARNING_RATE == ns["learning_rate"]  # the lecture's rate, with its own gradient
    for lecture_name, ours in PARAMS.items():  # in fact bit for bit
        np.testing.assert_array_equal(net.params[ours], ns[lecture_name])


def test_mean_mse_at_scaled_rate_is_the_same_update(cells: list[str]) -> None:
    """``MSE()`` (mean) at rate 0.1·n/2 equals the lecture's summed update up to rounding."""
    _, ns = run_cells(cells[:3])
    net, _ = _quiet(lecture_in_chainrule)
    mean_net, X, y = lecture_setup()
    cr.Trainer(mean_net, cr.MSE(), cr.sgd(0.1 * 500 / 2)).fit(X, y, epochs=1000)
    for lecture_name, ours in PARAMS.items():
        np.testing.assert_allclose(mean_net.params[ours], ns[lecture_name], rtol=1e-9)
        np.testing.assert_array_equal(net.params[ours], ns[lecture_name])


def test_snippet_is_the_code_that_ran() -> None:
    code = snippet()
    assert "Trainer(net, lecture_loss(), sgd(LEARNING_RATE)" in code
    assert "def lecture_network(rng" in code and "LEARNING_RATE = 0.1" in code
    out, ns = run_cells([code])
    assert out.strip().endswith("Test predictions: [0 0 1 0]")
    assert isinstance(ns["net"], cr.Sequential)


def _quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()
