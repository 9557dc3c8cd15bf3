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


def _frames(text: str) -> list[str]:
    return [f for f in re.split(r"[\r\n]", text) if f.strip()]


@pytest.mark.parametrize("columns", [80, 120])
def test_live_bar_updates_every_batch_within_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr("chainrule.training.progress.POSTFIX_EVERY_S", 0.0)
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((640, 3)), gen.integers(0, 2, 640)
    net = cr.Sequential([cr.Dense(3, 8, rng=gen), cr.Tanh(), cr.Dense(8, 2, rng=gen)])
    trainer = cr.Trainer(net, cr.CrossEntropy(), cr.adam(0.01), metrics=["accuracy"])
    out = FakeTerminal()
    trainer.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, rng=0,
                callbacks=[cr.ProgressBar(stream=out)])  # fmt: skip
    frames = _frames(out.getvalue())
    assert all(len(f) < columns for f in frames)  # never as wide as the terminal
    last = frames[-1]
    # 480 training rows / 16 = 30 batches an epoch: the bar counts batches, not epochs
    assert re.match(r"^epoch 3/3 \|.+\| 90/90 \d\d:\d\d<00:00 [\d.]+batch/s, loss=", last)
    if columns >= 120:
        assert "val_loss=" in last and "accuracy=" in last


def test_verbose_keras_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((32, 2)), gen.standard_normal(32)

    def run(verbose, terminal: bool, callbacks=()) -> str:
        err = FakeTerminal() if terminal else io.StringIO()
        monkeypatch.setattr("sys.stderr", err)
        trainer = cr.Trainer(cr.Sequential([cr.Dense(2, 1, rng=0)]), "mse", cr.sgd(0.1))
        trainer.fit(X, y, epochs=3, batch_size=8, verbose=verbose, callbacks=callbacks)
        return err.getvalue()

    assert run("auto", terminal=False) == ""  # a log file or a pipe: nothing by default
    assert "epoch 3/3 |" in run("auto", terminal=True)  # a terminal: the bar
    assert run(0, terminal=True) == ""
    assert [line.split()[:2] for line in run(2, terminal=True).splitlines()] == [
        ["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]
    ]  # fmt: skip
    own = io.StringIO()
    assert run(1, terminal=True, callbacks=[cr.ProgressBar(stream=own)]) == ""  # no second bar
    assert own.getvalue().count("epoch") == 3
    with pytest.raises(ValueError, match="verbose must be"):
        run(True, terminal=False)


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
