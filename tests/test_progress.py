"""The progress display: a live bar that fits the terminal, plain lines everywhere else."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import chainrule as cr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def train(stream: io.StringIO, epochs: int = 12, **bar) -> cr.History:
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((64, 3)), gen.integers(0, 2, 64)
    net = cr.Sequential([cr.Dense(3, 8, rng=gen), cr.Tanh(), cr.Dense(8, 2, rng=gen)])
    trainer = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01), metrics=["accuracy"])
    return trainer.fit(
        X,
        y,
        epochs=epochs,
        validation_split=0.25,
        rng=0,
        callbacks=[cr.ProgressBar(stream=stream, **bar)],
    )


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    train(out, every=5)
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/12", "6/12", "11/12", "12/12"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "elapsed", "left"):
        assert name in lines[0]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_live_bar_redraws_one_line_within_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    out = FakeTerminal()
    train(out)
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1  # one line, redrawn in place
    frames = [f for f in text.rstrip("\n").split("\r\x1b[2K") if f]
    assert len(frames) == 12
    assert all(len(f) <= 60 - 3 for f in frames)  # room left for the cursor and an echoed ^C
    assert re.match(r"^█+·*\s+epoch 12/12", frames[-1]) and "·" not in frames[-1][:24]


def test_stop_reason_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    class StopNow(cr.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                trainer.stop_reason = "early_stopping"

    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((32, 2)), gen.standard_normal(32)
    out = FakeTerminal()
    cr.Trainer(cr.Sequential([cr.Dense(2, 1, rng=0)]), "mse", cr.sgd(0.1)).fit(
        X, y, epochs=10, callbacks=[cr.ProgressBar(stream=out), StopNow()]
    )
    assert out.getvalue().endswith("\nstopped: early_stopping\n")
