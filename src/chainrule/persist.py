"""One way to save and load: :func:`save` and :func:`load` for every kind of chainrule object.

Every saveable object turns itself into plain data — ``obj.state() -> (tensors, meta)``, NumPy
arrays and JSON — and back with ``type(obj).from_state(tensors, meta)``; nothing of it knows
about files. This module adds the one thing a file needs beyond that, the object's ``kind``,
and hands the bytes to :mod:`chainrule.io` (safetensors with a checksum, written
atomically). Pickling uses the same ``state()`` (see the classes' ``__getstate__``).

The kinds, and the class each is rebuilt as:

========================  ===============================================================
``"Sequential"``          :class:`chainrule.network.Sequential` (any nesting of containers)
``"TabularModel"``        :class:`chainrule.tabular.TabularModel` (``chainrule train``)
``"MLPClassifier"``,      the scikit-learn estimators (need scikit-learn installed)
``"MLPRegressor"``
``"TabularClassifier"``,  :mod:`chainrule.tabular.estimator`'s (need scikit-learn)
``"TabularRegressor"``
``"Trainer"``             :class:`chainrule.training.Trainer` with its optimizer state,
                          history and random generators, to resume ``fit`` exactly
                          (:mod:`chainrule.training.checkpoint`)
========================  ===============================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.extras import require
from chainrule.io import ModelFileError, file_info, read_state, write_state
from chainrule.model_schema import SchemaError, check_meta
from chainrule.network.containers import Sequential, StateError
from chainrule.tabular.model import TabularModel
from chainrule.training.trainer import Trainer

__all__ = ["ModelFileError", "file_info", "from_state", "load", "save", "state_of"]

_LOCAL_KINDS: dict[str, type] = {
    "Sequential": Sequential,
    "TabularModel": TabularModel,
    "Trainer": Trainer,
}
_ESTIMATOR_KINDS = ("MLPClassifier", "MLPRegressor")
_TABLE_ESTIMATOR_KINDS = ("TabularClassifier", "TabularRegressor")


def _kind_of(obj: Any) -> str:
    for kind, cls in _LOCAL_KINDS.items():
        if type(obj) is cls or (kind == "Sequential" and isinstance(obj, Sequential)):
            return kind
    if type(obj).__name__ in _ESTIMATOR_KINDS + _TABLE_ESTIMATOR_KINDS and hasattr(obj, "state"):
        return type(obj).__name__
    raise TypeError(
        f"Cannot save a {type(obj).__name__}: chainrule.save takes a Sequential network, a "
        "TabularModel, a Trainer or a fitted MLPClassifier / MLPRegressor / "
        "TabularClassifier / TabularRegressor."
    )


def kind_article(kind: str) -> str:
    """``"an MLPClassifier"``, ``"a TabularModel"``."""
    return ("an " if kind.startswith("MLP") else "a ") + kind


def _class_of(kind: str, where: str) -> Any:
    if kind in _LOCAL_KINDS:
        return _LOCAL_KINDS[kind]
    if kind in _ESTIMATOR_KINDS:
        require("sklearn", "scipy", purpose=f"Loading {where} (it holds {kind_article(kind)})")
        # The estimators need scikit-learn, an optional extra: import them for their files only.
        from chainrule import estimators

        return getattr(estimators, kind)
    if kind in _TABLE_ESTIMATOR_KINDS:
        require("sklearn", "scipy", purpose=f"Loading {where} (it holds a {kind})")
        from chainrule.tabular import estimator

        return getattr(estimator, kind)
    raise ModelFileError(
        f"{where} holds a {kind!r}, which this chainrule does not know; upgrade chainrule."
    )


def state_of(obj: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(tensors, meta)`` of any saveable object, ``meta["kind"]`` naming its class."""
    kind = _kind_of(obj)
    tensors, meta = obj.state()
    return tensors, {**meta, "kind": kind}


def from_state(
    tensors: dict[str, np.ndarray], meta: dict[str, Any], where: str = "the file"
) -> Any:
    """Rebuild the object :func:`state_of` described, choosing its class by ``meta["kind"]``.

    Raises
    ------
    ModelFileError
        One line naming ``where`` and what does not fit.
    """
    kind = meta.get("kind")
    cls = _class_of(str(kind), where)
    try:  # before any layer is allocated: see chainrule.model_schema
        check_meta(kind, meta, sum(int(t.size) for t in tensors.values()))
    except SchemaError as exc:
        raise ModelFileError(
            f"{where} has metadata that chainrule did not write ({exc}); re-save the model."
        ) from None
    try:
        return cls.from_state(tensors, meta)
    except ModelFileError:
        raise
    except StateError as exc:
        raise ModelFileError(f"{where} {exc}.") from None
    except Exception as exc:  # validated metadata that still does not fit: one line, no trace
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelFileError(f"{where} has invalid {kind} metadata ({detail}).") from None


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Save a network, a tabular model or a fitted estimator to one file.

    The file is written atomically: an interrupted save leaves any previous file intact.

    Parameters
    ----------
    obj : Sequential, TabularModel, Trainer, MLPClassifier or MLPRegressor
        What to save (a Trainer with everything ``fit`` needs to resume exactly).
    path : str or path
        Destination (conventionally ``*.safetensors``).

    Returns
    -------
    Path
        The path written.
    """
    require("safetensors", purpose="Saving a model")
    tensors, meta = state_of(obj)
    return write_state(path, tensors, meta)


def load(path: str | os.PathLike[str]) -> Any:
    """Load what :func:`save` saved, after validating every part of the file.

    Raises
    ------
    ModelFileError
        A one-line reason when the file is missing, not a model file, truncated, corrupted,
        modified, written by a newer chainrule, or inconsistent with its architecture.
    """
    require("safetensors", purpose="Loading a model")
    tensors, meta = read_state(path)
    return from_state(tensors, meta, where=f"'{path}'")
