"""A :class:`~chainrule.training.trainer.Trainer` as arrays + JSON, to stop and resume training.

``chainrule.save(trainer, path)`` writes, and ``chainrule.load(path)`` reads back, everything
``fit`` needs to carry on as if it had never stopped:

=====================  ==================================================================
the weights            the network's arrays and architecture (``Sequential.state``)
the optimizer          its recipe (``GradientTransformation.spec``) and its state — Adam's
                       :math:`t, m, v`, momentum buffers, the rate multiplier — as arrays
the history            every epoch's logs, the best epoch, the monitor's best value and the
                       best weights (``best/<name>``)
the random generators  the shuffle generator (``trainer.rng``) and every layer's own
                       generator (Dropout), each once: layers sharing one generator still
                       share it after loading
the loss, metrics      by name and config (a metric given as a function cannot be saved)
=====================  ==================================================================

so that ``fit(X, y, epochs=5)`` on the loaded trainer gives, bit for bit, the weights of the
run that trained all the epochs in one go (``rng`` left ``None``: the trainer continues its
saved generator). ``validation_split`` draws a new split from the generator at every ``fit``;
pass ``validation_data`` for runs you mean to resume.

:class:`ModelCheckpoint` and :class:`CSVLogger` (Keras') are the callbacks that leave files
behind. A checkpoint is this whole state, written atomically (temporary file, fsync, rename:
:mod:`chainrule.io`), so a crash or Ctrl-C mid-write leaves the previous checkpoint
intact.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from chainrule.backend import from_numpy, namespace, to_numpy
from chainrule.extras import require
from chainrule.io import write_state
from chainrule.network import losses as losses_module
from chainrule.network import metrics as metrics_module
from chainrule.network.containers import Sequential, StateError
from chainrule.network.optimizer_state import (
    from_spec,
    rng_from_state,
    rng_state,
    state_from_arrays,
    state_to_arrays,
)
from chainrule.training.callbacks import Callback, Monitor
from chainrule.training.history import History

if TYPE_CHECKING:
    from chainrule.training.callbacks import Loop


__all__ = [
    "CSVLogger",
    "ModelCheckpoint",
    "generator_table",
    "restore_generator_table",
    "trainer_from_state",
    "trainer_state",
]


def generator_table(shuffle: Any, network: Sequential) -> dict[str, Any]:
    """JSON for the shuffle generator and every layer's generator, each distinct one once.

    ``{"generators": [state, ...], "shuffle": i, "layers": {layer name: i}}``: layers that
    share one generator (with each other or with the shuffles) share it again after
    :func:`restore_generator_table`.
    """
    found: list[Any] = []

    def index(rng: Any) -> int:
        for i, known in enumerate(found):
            if known is rng:
                return i
        found.append(rng)
        return len(found) - 1

    table: dict[str, Any] = {"shuffle": None if shuffle is None else index(shuffle)}
    layers = {}
    for name, layer in network.leaves():
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator | np.random.RandomState):
            layers[name] = index(rng)
    table["layers"] = layers
    table["generators"] = [rng_state(g) for g in found]
    return table


def restore_generator_table(saved: dict[str, Any], network: Sequential) -> Any:
    """Put the saved generators back into ``network``'s layers; return the shuffle generator."""
    try:
        generators = [rng_from_state(s) for s in saved.get("generators", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"has a random generator state chainrule cannot read ({exc})") from None

    def pick(index: Any, what: str) -> Any:
        if type(index) is not int or not 0 <= index < len(generators):
            raise StateError(f"has no random generator state for {what}")
        return generators[index]

    layers = dict(network.leaves())
    for name, index in saved.get("layers", {}).items():
        if name not in layers:
            raise StateError(f"has a random generator for a layer {name!r} it does not have")
        layers[name].rng = pick(index, f"layer {name!r}")
    shuffle = saved.get("shuffle")
    return None if shuffle is None else pick(shuffle, "the shuffles")


def trainer_state(trainer: Loop) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(tensors, meta)`` of a trainer between ``fit`` calls (or at an epoch's end).

    Raises
    ------
    ValueError
        When part of the trainer is code that JSON cannot carry: the L-BFGS solver, an
        optimizer with a learning-rate schedule or a custom transform, a metric function.
    """
    optimizer = trainer.optimizer
    if optimizer is None:
        raise ValueError("a Trainer with the L-BFGS solver cannot be saved; save its network.")
    if optimizer.spec is None:
        raise ValueError(
            "the optimizer holds code (a learning-rate schedule or a custom transform), which a "
            "model file cannot carry; use a constant learning_rate to save the trainer."
        )
    names = []
    for name, fn in trainer.metrics:
        if metrics_module.METRICS.get(name) is not fn:
            raise ValueError(f"metric {name!r} is a function; only named metrics can be saved.")
        names.append(name)
    loss = trainer.loss
    if type(loss) not in losses_module.LOSSES.values():
        raise ValueError(
            f"the loss {type(loss).__name__} is not a built-in loss; it cannot be saved."
        )
    tensors, network = trainer.network.state()
    opt_meta = None
    if trainer.opt_state is not None:
        opt_tensors, opt_meta = state_to_arrays(trainer.opt_state)
        tensors.update(opt_tensors)
    if trainer.best_params is not None:
        tensors.update({f"best/{k}": np.array(to_numpy(v)) for k, v in trainer.best_params.items()})
    best = trainer.monitor.best
    meta = {
        "network": network,
        "loss": {"type": type(loss).__name__, "config": loss.config()},
        "optimizer": {"spec": optimizer.spec, "state": opt_meta},
        "metrics": names,
        "monitor": {
            "monitor": trainer.monitor.monitor,
            "mode": trainer.monitor.mode,
            "min_delta": trainer.monitor.min_delta,
            "best": best if math.isfinite(best) else None,
        },
        "history": trainer.history.to_dict(),
        "rng": generator_table(trainer.rng, trainer.network),
    }
    return tensors, meta


def trainer_from_state(
    cls: type[Loop], tensors: dict[str, np.ndarray], meta: dict[str, Any]
) -> Loop:
    """Rebuild the trainer :func:`trainer_state` described (``cls`` is the Trainer class)."""
    prefixed = ("optimizer/", "best/")
    weights = {k: v for k, v in tensors.items() if not k.startswith(prefixed)}
    network = Sequential.from_state(weights, meta["network"])
    loss = losses_module.from_config(meta["loss"]["type"], meta["loss"]["config"])
    try:
        optimizer = from_spec(meta["optimizer"]["spec"])
    except ValueError as exc:
        raise StateError(f"has an optimizer chainrule cannot rebuild ({exc})") from None
    m = meta["monitor"]
    monitor = Monitor(str(m["monitor"]), str(m["mode"]), float(m["min_delta"]))
    if m.get("best") is not None:
        monitor.best = float(m["best"])
    trainer = cls(network, loss, optimizer, metrics=list(meta["metrics"]), monitor=monitor)
    trainer.history = History.from_dict(meta["history"])
    params = network.params
    if meta["optimizer"].get("state") is not None:
        try:
            template = optimizer.init(params)
            trainer.opt_state = state_from_arrays(template, tensors, meta["optimizer"]["state"])
        except ValueError as exc:
            raise StateError(f"has an optimizer state that does not fit ({exc})") from None
    best = {k[len("best/") :]: v for k, v in tensors.items() if k.startswith("best/")}
    if best:
        # the parameters, and the buffers when the snapshot carried them (files before did not)
        arrays = {**params, **network.buffers}
        if not params.keys() <= best.keys() <= arrays.keys():
            raise StateError("has best weights that do not match the network's parameters")
        trainer.best_params = {
            k: from_numpy(np.array(v, dtype=arrays[k].dtype), namespace(arrays[k]), like=arrays[k])
            for k, v in best.items()
        }
    trainer.rng = restore_generator_table(meta["rng"], network)
    return trainer


class ModelCheckpoint(Callback):
    """Save the trainer every ``every`` epochs and/or whenever the monitored value improves.

    Parameters
    ----------
    path : str or path
        Destination; may contain ``{epoch}`` (1-based, as people count) to keep one file per
        checkpoint, e.g. ``"run/epoch{epoch:03d}.safetensors"``.
    every : int, optional
        Save after every ``every``-th epoch (epochs ``every``, ``2·every``, … counting from 1).
        With neither ``every`` nor ``save_best`` it saves after every epoch.
    save_best : bool
        Save after each epoch that improves the trainer's monitored value (``val_loss``, else
        ``loss``: :attr:`Trainer.monitor <chainrule.training.trainer.Trainer.monitor>`), so the
        file holds the best weights seen.

    Attributes
    ----------
    saved : list of Path
        The files written, in order.

    Examples
    --------
    >>> ModelCheckpoint("best.safetensors", save_best=True)  # doctest: +SKIP
    >>> trainer = chainrule.load("best.safetensors"); trainer.fit(X, y, epochs=5)  # doctest: +SKIP
    """

    def __init__(
        self, path: str | os.PathLike[str], *, every: int | None = None, save_best: bool = False
    ) -> None:
        require("safetensors", purpose="Writing checkpoints")
        if every is not None and every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every!r}.")
        self.path = str(path)
        self.every = every if every is not None or save_best else 1
        self.save_best = save_best
        self.saved: list[Path] = []

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        shown = epoch + 1
        periodic = self.every is not None and shown % self.every == 0
        best = self.save_best and trainer.history.best_epoch == epoch
        if periodic or best:
            tensors, meta = trainer_state(trainer)
            target = Path(self.path.format(epoch=shown))
            target.parent.mkdir(parents=True, exist_ok=True)
            self.saved.append(write_state(target, tensors, {**meta, "kind": "Trainer"}))


class CSVLogger(Callback):
    """Append one row per epoch — ``epoch`` (1-based) and every logged value — to a CSV file.

    Parameters
    ----------
    path : str or path
        The CSV file.
    append : bool
        Add to an existing file (a resumed run) instead of starting it afresh; the header is
        written only when the file is new or empty.
    separator : str
        Field separator.

    Notes
    -----
    The columns are fixed by the first epoch written (``loss``, ``val_loss``, metrics, ``lr``);
    a value missing later is left empty. Each row is flushed, so ``tail -f`` follows the run.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, append: bool = False, separator: str = ","
    ) -> None:
        self.path, self.append, self.separator = Path(path), append, separator
        self._file: TextIO | None = None
        self._writer: csv.DictWriter | None = None
        self._header_needed = True

    def on_train_begin(self, trainer: Loop) -> None:
        existing = self.append and self.path.exists() and self.path.stat().st_size > 0
        self._header_needed = not existing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None
        if existing:  # keep the columns the file already has
            with open(self.path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            if header:
                self._writer = self._make_writer(header)
        self.append = True  # a later fit of the same run continues the file

    def _make_writer(self, fields: list[str]) -> csv.DictWriter:
        assert self._file is not None
        return csv.DictWriter(
            self._file, fieldnames=fields, delimiter=self.separator, extrasaction="ignore"
        )

    def on_epoch_end(self, trainer: Loop, epoch: int, logs: dict[str, float]) -> None:
        if self._file is None:
            return
        if self._writer is None:
            self._writer = self._make_writer(["epoch", *logs])
        if self._header_needed:
            self._writer.writeheader()
            self._header_needed = False
        self._writer.writerow({"epoch": epoch + 1, **{k: repr(float(v)) for k, v in logs.items()}})
        self._file.flush()

    def on_train_end(self, trainer: Loop) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
