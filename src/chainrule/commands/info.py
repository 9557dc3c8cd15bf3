"""``chainrule info MODEL``: what a model file holds."""

from __future__ import annotations

import argparse

from chainrule.commands import _shared
from chainrule.persist import file_info, load
from chainrule.tabular.model import TabularModel, describe_history
from chainrule.tabular.preprocessing import value_key
from chainrule.training.protocol import trained_model

NAME = "info"
HELP = "show a model file's architecture, parameter count, preprocessing and training history"
EXAMPLE = "chainrule info iris.safetensors"
REQUIRES: tuple[str, ...] = ("safetensors",)
"""Optional packages (keys of chainrule.extras.EXTRAS) checked before the command runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chainrule info``."""
    parser.add_argument("model", metavar="MODEL", help="model file")


def _print(text: str) -> None:
    print(_shared.printable(text))  # names and classes come from the file: no escapes


def run(args: argparse.Namespace) -> int:
    """Print the file's facts, then the network, preprocessing and history."""

    obj = load(args.model)
    facts = file_info(args.model)
    _print(
        f"{args.model}: {_shared.with_article(facts['kind'])} ({_shared.human_size(facts['bytes'])}, model format "
        f"{facts['format_version']}, written by chainrule {facts['library_version']})"
    )
    rows: list[tuple[str, str]] = []
    if isinstance(obj, TabularModel):
        rows.append(("task", obj.task))
        rows.append(("target", obj.target))
        if obj.classes is not None:
            rows.append(("classes", ", ".join(value_key(c) for c in obj.classes)))
        else:
            rows.append(("target scaling", f"y = {obj.target_mean:.6g} + {obj.target_scale:.6g}·t"))
        rows.append(("loss", repr(obj.loss)))
        for key, value in obj.training.items():
            text = _shared.ensemble_text(value) if key == "ensemble" else str(value)
            rows.append((key.replace("_", " "), text))
    trained = trained_model(obj)
    if not isinstance(obj, TabularModel):  # an estimator's classes and parameters, if any
        if trained.classes is not None:
            rows.append(("classes", ", ".join(value_key(c) for c in trained.classes)))
        for key, value in trained.settings.items():
            rows.append((key, repr(value)))
    net = trained.network
    if net is not None:
        rows.append(("parameters", str(net.n_params)))
        rows.append(("dtype", net.dtype))
    if rows:
        _print(_shared.table(rows, indent="  "))
    if net is not None:
        _print("\nNetwork:")
        _print("\n".join("  " + line for line in net.summary_text().splitlines()))
    if trained.preprocessing is not None:
        _print("\nPreprocessing (fitted on the training table, applied again at prediction):")
        _print("\n".join("  " + line for line in trained.preprocessing.describe().splitlines()))
    history = trained.history
    if history is not None and len(history):
        ensemble = obj.training.get("ensemble") if isinstance(obj, TabularModel) else None
        _print("\nTraining history" + (" (the first network's run):" if ensemble else ":"))
        restored = bool((trained.settings or {}).get("early_stopping"))
        _print(_shared.table(describe_history(history, restored=restored), indent="  "))
    return 0
