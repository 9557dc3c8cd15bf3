r"""One browser tab's playground: its data, network, chainrule Trainer and training thread.

Training runs in a background thread, one epoch per tick through
:meth:`chainrule.training.Trainer.fit`, so the web server (and the page) never waits for it.
After every tick the thread builds the next screen update and publishes it as a JSON string;
the page's stream picks up whichever is newest. Everything a session holds lives in memory.

The network, loss, optimizer and trainer a set-up stands for are plain chainrule.
Classification ends in one logit per class trained with
:class:`~chainrule.losses.CrossEntropy` (the softmax is fused into the loss); regression ends
in one linear output trained with :class:`~chainrule.losses.MSE`. L2 is the optimizers'
``weight_decay`` (:math:`g + \lambda_2 W`); L1 is ``weights_only(add_l1(λ₁))`` in front of the
optimizer (:math:`g + \lambda_1 \operatorname{sign}(W)` on the weights, not the biases), so
training and an explained step run the same transformation.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any

import numpy as np

from chainrule.explain import explain_step
from chainrule.io import encode
from chainrule.network import activations
from chainrule.network.containers import Sequential
from chainrule.network.layers import Dense, Dropout, Layer
from chainrule.network.losses import MSE, CrossEntropy, Loss
from chainrule.network.optimizers import GradientTransformation, adam, chain, rmsprop, sgd
from chainrule.network.regularization import add_l1, weights_only
from chainrule.persist import state_of
from chainrule.playground import frames
from chainrule.playground.config import UPLOAD, Config, feature_matrix
from chainrule.playground.datasource import Points, Table, builtin_points, table_points
from chainrule.playground.snippet import python_snippet
from chainrule.training.trainer import Trainer

MAX_TICKS_PER_SECOND = 60.0
"""Training ticks (epochs) per second at most while playing: more than a screen can show."""
MIN_PAUSE = 0.002
"""Seconds the thread sleeps between ticks even when behind, so the server always gets a turn."""

log = logging.getLogger(__name__)


def build_network(config: Config, n_in: int, n_out: int) -> tuple[Sequential, np.random.Generator]:
    """The network for ``config`` and the generator its training draws from.

    Weights come from ``default_rng(config.init)``; batch order and dropout masks from
    ``default_rng([config.init, 1])`` — the exported snippet builds the same two.
    """
    init = np.random.default_rng(config.init)
    train_gen = np.random.default_rng([config.init, 1])
    layers: list[Layer] = []
    width = n_in
    for units in config.hidden:
        layers += [Dense(width, units, rng=init), activations.get(config.activation)]
        if config.dropout:
            layers.append(Dropout(config.dropout, rng=train_gen))
        width = units
    layers.append(Dense(width, n_out, rng=init))
    return Sequential(layers), train_gen


def make_loss(config: Config) -> Loss:
    """Cross-entropy on logits for classification, mean squared error for regression."""
    return CrossEntropy() if config.problem == "classification" else MSE()


def make_optimizer(config: Config) -> GradientTransformation:
    """The configured optimizer: L2 as its weight decay, L1 on the weights in front of it."""
    factory = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop}[config.optimizer]
    optimizer = factory(config.learning_rate, weight_decay=config.l2)
    if config.l1:  # λ₁·sign(W) added to the weights' gradients before the rule sees them
        return chain(weights_only(add_l1(config.l1)), optimizer)
    return optimizer


def describe_optimizer(config: Config) -> str:
    """One line for the explain panel: the update rule training uses."""
    name = {"sgd": "plain SGD", "adam": "Adam", "rmsprop": "RMSprop"}[config.optimizer]
    parts = [f"{name}, η = {config.learning_rate:g}", f"batches of {config.batch_size}"]
    if config.l2:
        parts.append(f"L2: g + {config.l2:g}·W")
    if config.l1:
        parts.append(f"L1: g + {config.l1:g}·sign(W)")
    if config.dropout:
        parts.append(f"dropout {config.dropout:g} (off when explaining)")
    return "; ".join(parts)


def make_trainer(config: Config, network: Sequential) -> Trainer:
    """A chainrule :class:`~chainrule.training.Trainer` for ``network`` and ``config``."""
    metrics = ["accuracy"] if config.problem == "classification" else []
    return Trainer(network, make_loss(config), make_optimizer(config), metrics=metrics)


def explain_optimizer(config: Config, opt_state: Any) -> tuple[GradientTransformation, Any]:
    """The optimizer training uses (L1 included) and the state to continue an explained step from."""
    return make_optimizer(config), opt_state


class Session:
    """A playground session.

    Parameters
    ----------
    sid : str
        Its identifier (random, unguessable).
    table : Table, optional
        A table to start with (``chainrule playground --data``).
    """

    def __init__(self, sid: str, table: Table | None = None) -> None:
        self.id = sid
        self.table = table
        self.lock = threading.RLock()  # held by a tick, a rebuild, an explain or an export
        self.last_used = time.monotonic()
        self.streams = 0  # open event streams: a tab shows this session
        self.last_streamed = -math.inf  # when the last one closed (time.monotonic)
        self.config = Config()
        self.playing = False
        self.status = ""
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self.frame: tuple[int, str] = (0, "")
        self.static: tuple[int, str] = (0, "")
        self.ticks = 0
        self.network: Sequential
        self.trainer: Trainer
        self.points: Points
        self.grid: frames.Grid
        self.curves: dict[str, list[float]] = {}

    # -- set-up -------------------------------------------------------------------------------
    def configure(self, config: Config) -> None:
        """Adopt a new set-up: new data, a new network at its initial weights, paused.

        Raises
        ------
        ValueError
            The set-up does not fit the data (e.g. a column the table lacks).
        """
        if config.dataset == UPLOAD and self.table is None:
            raise ValueError("No table is loaded; upload a CSV file first.")
        with self.lock:
            points = (
                table_points(self.table, config)
                if config.dataset == UPLOAD
                else builtin_points(config)
            )
            self.playing = False
            self.config, self.points = config, points
            self._rebuild()

    def _inputs(self, idx: np.ndarray) -> np.ndarray:
        p = self.points
        return feature_matrix(p.x1[idx], p.x2[idx], self.config.features, p.extra[idx])

    def _rebuild(self) -> None:
        """Fresh weights and trainer for the current set-up; publish its first frame."""
        config, points = self.config, self.points
        self.X_train, self.y_train = self._inputs(points.train), points.y[points.train]
        self.X_test, self.y_test = self._inputs(points.test), points.y[points.test]
        n_out = len(points.classes) if config.problem == "classification" else 1
        self.network, self.train_gen = build_network(config, self.X_train.shape[1], n_out)
        self.trainer = make_trainer(config, self.network)
        self.grid = frames.Grid(points, config.features)
        self.curves = {"train": [], "test": []}
        self.status = ""
        static = frames.static(points, self.grid, config.features, config.problem)
        seq = self.static[0] + 1
        static.update(config=config.to_dict(), seq=seq)
        self.static = (seq, json.dumps(static))
        self._publish()

    # -- training -----------------------------------------------------------------------------
    def _losses(self) -> dict[str, float]:
        """Loss (and accuracy) on both parts at the current weights, by the Trainer itself."""
        train = self.trainer.evaluate(self.X_train, self.y_train)
        test = self.trainer.evaluate(self.X_test, self.y_test)
        out = {"train_loss": train["loss"], "test_loss": test["loss"]}
        if "accuracy" in train:
            out.update(train_accuracy=train["accuracy"], test_accuracy=test["accuracy"])
        return {k: frames.finite(v) for k, v in out.items()}

    def _publish(self) -> None:
        """Build the screen update for the current weights and make it the newest."""
        with np.errstate(all="ignore"):  # a diverged network draws as grey, not as warnings
            body = frames.frame(self.network, self.grid, self.points, self.config.problem)
            losses = self._losses()
        if len(self.curves["train"]) <= self.epoch:  # one point per epoch, from epoch 0
            for part in ("train", "test"):
                value = losses[f"{part}_loss"]
                self.curves[part].append(float("nan") if value is None else value)
        body.update(losses)
        body.update(
            epoch=self.epoch,
            playing=self.playing,
            status=self.status,
            curves={k: frames.thin(v) for k, v in self.curves.items()},
            static=self.static[0],
        )
        self.frame = (self.frame[0] + 1, json.dumps(body, allow_nan=False, default=float))

    @property
    def epoch(self) -> int:
        """Epochs trained so far."""
        return len(self.trainer.history)

    def _tick(self) -> None:
        """One epoch through chainrule's Trainer, then a screen update."""
        config = self.config
        self.trainer.fit(
            self.X_train,
            self.y_train,
            epochs=1,
            batch_size=config.batch_size,
            rng=self.train_gen,
            validation_data=(self.X_test, self.y_test),
            verbose=0,  # the browser is the display
        )
        self.ticks += 1
        if self.trainer.stop_reason == "non_finite":
            self.playing = False
            self.status = "The loss became infinite or NaN: lower the learning rate and reset."
        self._publish()

    def _guarded_tick(self) -> None:
        """:meth:`_tick`, but a failure becomes the session's status, shown on the page.

        Without this a failing epoch would end the training thread with a traceback in the
        server's log only, while the page kept showing "playing" at an epoch that never moves.
        """
        try:
            self._tick()
        except Exception as exc:
            log.exception("playground training failed")
            self.playing = False
            self.status = f"Training stopped: {exc} Change the set-up or reset."
            try:
                self._publish()
            except Exception:  # the frame cannot be drawn either: resend the last with the news
                body = json.loads(self.frame[1]) if self.frame[1] else {}
                body.update(status=self.status, playing=False)
                self.frame = (self.frame[0] + 1, json.dumps(body, default=float))

    def _run(self) -> None:
        period = 1.0 / MAX_TICKS_PER_SECOND
        while self.playing and not self._closed.is_set():
            start = time.perf_counter()
            with self.lock:
                if not self.playing:
                    break
                self._guarded_tick()
            time.sleep(max(MIN_PAUSE, period - (time.perf_counter() - start)))

    def control(self, action: str) -> None:
        """``play``, ``pause``, ``step`` (one epoch), ``reset`` (new weights) or ``regenerate``."""
        with self.lock:
            if action == "play":
                if self.status:  # diverged: nothing sensible to continue from
                    return
                self.playing = True
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name=f"playground-{self.id[:6]}", daemon=True
                    )
                    self._thread.start()
            elif action == "pause":
                self.playing = False
                self._publish()
            elif action == "step":
                self.playing = False
                if not self.status:
                    self._guarded_tick()
            elif action in ("reset", "regenerate"):
                config = Config(**self.config.to_dict())
                if action == "reset":
                    config.init = (config.init + 1) % 2**31
                else:
                    config.seed = (config.seed + 1) % 2**31
                self.configure(config)
            else:
                raise ValueError(f"Unknown action {action!r}; use play, pause, step or reset.")

    def close(self) -> None:
        """Stop training for good (the thread ends after its current tick)."""
        self.playing = False
        self._closed.set()

    # -- explaining and exporting ----------------------------------------------------------
    def explain(self, part: str, index: int) -> dict[str, Any]:
        """chainrule's explain trace of one point, at the current weights and optimizer state."""
        if part not in ("train", "test"):
            raise ValueError("part must be 'train' or 'test'.")
        with self.lock:
            rows = self.points.train if part == "train" else self.points.test
            if not 0 <= index < len(rows):
                raise ValueError(f"There is no {part} point number {index}.")
            row = rows[index : index + 1]
            x, y = self._inputs(row), self.points.y[row]
            optimizer, state = explain_optimizer(self.config, self.trainer.opt_state)
            trace = explain_step(self.network, x, y, self.trainer.loss, optimizer, opt_state=state)
            label = self.points.classes[int(y[0])] if self.points.classes else f"{y[0]:.4g}"
            return {
                "html": trace.html(precision=4),
                "point": [float(self.points.x1[row[0]]), float(self.points.x2[row[0]])],
                "target": label,
                "epoch": self.epoch,
                "optimizer": describe_optimizer(self.config),
                "loss": trace.loss_value,
                "inputs": x[0].tolist(),
            }

    def export(self, kind: str) -> tuple[bytes, str, str]:
        """``(content, file name, media type)`` of a download: model, onnx, python or data."""
        with self.lock:
            if kind == "model":
                tensors, meta = state_of(self.network)
                return encode(tensors, meta), "playground.safetensors", "application/octet-stream"
            if kind == "onnx":
                from chainrule.onnx_export import build_onnx

                blob = build_onnx(self.network).SerializeToString()
                return blob, "playground.onnx", "application/octet-stream"
            if kind == "python":
                text = python_snippet(self.config, self.points, self.epoch, self._table_name())
                return text.encode("utf-8"), "playground.py", "text/x-python; charset=utf-8"
            if kind == "data":
                return self._data_csv().encode("utf-8"), "playground-data.csv", "text/csv"
        raise ValueError(f"Unknown export {kind!r}; use model, onnx, python or data.")

    def _table_name(self) -> str:
        return self.table.name if self.table is not None else "data.csv"

    def _data_csv(self) -> str:
        """The points as the network sees them on the plane: axes, other columns, target, part."""
        p = self.points
        names = ["x1", "x2", *p.extra_names, "y", "part"]
        part = np.full(len(p.y), "train", dtype=object)
        part[p.test] = "test"
        lines = [",".join(names)]
        for i in range(len(p.y)):
            cells = [repr(float(p.x1[i])), repr(float(p.x2[i]))]
            cells += [repr(float(v)) for v in p.extra[i]]
            cells += [str(p.y[i]) if p.classes else repr(float(p.y[i])), part[i]]
            lines.append(",".join(cells))
        return "\n".join(lines) + "\n"
