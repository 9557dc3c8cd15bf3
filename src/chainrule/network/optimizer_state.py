"""An optimizer and its state, and a random generator, as arrays + JSON (for checkpoints).

A checkpoint must continue training exactly where it stopped, so besides the weights it keeps

* the optimizer's **recipe** — every :class:`~chainrule.network.optimizers.GradientTransformation`
  carries its JSON ``spec``, and :func:`from_spec` rebuilds the same transformation;
* the optimizer's **state** — Adam's step count :math:`t` and moments :math:`m, v`, the
  momentum buffers, the learning-rate multiplier set by callbacks — split by
  :func:`state_to_arrays` into arrays (one per buffer) and JSON (the counts and the nesting);
  :func:`state_from_arrays` fills a fresh ``optimizer.init(params)`` with them, so the
  structure always comes from the code and only the numbers from the file;
* each **random generator**'s bit-generator state (:func:`rng_state` / :func:`rng_from_state`),
  so shuffles and dropout masks draw the same numbers as a run that was never stopped.

Nothing here knows about files (see :mod:`chainrule.io`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.backend import Array, from_numpy, namespace, to_numpy
from chainrule.network import optimizers, regularization
from chainrule.network.optimizers import GradientTransformation, State

__all__ = [
    "SPEC_FACTORIES",
    "from_spec",
    "rng_from_state",
    "rng_state",
    "state_from_arrays",
    "state_to_arrays",
]

SPEC_FACTORIES: dict[str, Callable[..., GradientTransformation]] = {
    "add_decayed_weights": optimizers.add_decayed_weights,
    "trace": optimizers.trace,
    "scale_by_adam": optimizers.scale_by_adam,
    "scale_by_rms": optimizers.scale_by_rms,
    "scale_by_learning_rate": optimizers.scale_by_learning_rate,
    "add_l1": regularization.add_l1,
    "clip_by_global_norm": regularization.clip_by_global_norm,
    "clip": regularization.clip,
    "max_norm": regularization.max_norm,
}
"""The primitive transformations a ``spec`` may name (``"chain"`` nests them)."""


def from_spec(spec: dict[str, Any]) -> GradientTransformation:
    """Rebuild the transformation whose :attr:`GradientTransformation.spec` is ``spec``.

    Raises
    ------
    ValueError
        For a name that is not a known transformation, or arguments it does not take.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"an optimizer spec must be an object, got {type(spec).__name__}")
    args = {k: v for k, v in spec.items() if k != "name"}
    name = spec.get("name")
    if name == "chain":
        return optimizers.chain(*(from_spec(part) for part in args.get("transforms", [])))
    if name not in SPEC_FACTORIES:
        raise ValueError(f"unknown optimizer transformation {str(name)[:40]!r}")
    try:
        return SPEC_FACTORIES[name](**args)
    except TypeError as exc:
        raise ValueError(f"optimizer transformation {name!r}: {exc}") from None


# -- the state -----------------------------------------------------------------------------------
def state_to_arrays(state: State, prefix: str = "optimizer") -> tuple[dict[str, np.ndarray], Any]:
    """``(arrays, json)`` of an optimizer state: each buffer an array named ``prefix/…``.

    A chain's tuple becomes a JSON list, a NamedTuple ``{"type": name, "fields": {...}}``, a
    dict of buffers ``{"arrays": [keys]}`` (the arrays under ``prefix/<path>/<key>``), and
    numbers stay numbers.
    """
    tensors: dict[str, np.ndarray] = {}

    def encode(value: Any, path: str) -> Any:
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            fields = {f: encode(getattr(value, f), f"{path}/{f}") for f in value._fields}
            return {"type": type(value).__name__, "fields": fields}
        if isinstance(value, tuple):
            return [encode(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            for key, array in value.items():
                tensors[f"{path}/{key}"] = np.ascontiguousarray(to_numpy(array))
            return {"arrays": list(value)}
        if isinstance(value, bool | int | float | np.number):
            return value.item() if isinstance(value, np.number) else value
        raise TypeError(f"cannot save optimizer state of type {type(value).__name__}")

    return tensors, encode(state, prefix)


def state_from_arrays(
    template: State, tensors: dict[str, np.ndarray], meta: Any, prefix: str = "optimizer"
) -> State:
    """``template`` (a fresh ``optimizer.init(params)``) with the saved numbers put in.

    Raises
    ------
    ValueError
        When the saved state does not fit the template: another optimizer, other parameters.
    """

    def decode(value: Any, saved: Any, path: str) -> Any:
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            if not isinstance(saved, dict) or saved.get("type") != type(value).__name__:
                raise ValueError(f"{path}: the saved state is not a {type(value).__name__}")
            fields = saved.get("fields", {})
            return value._replace(
                **{
                    f: decode(getattr(value, f), fields.get(f), f"{path}/{f}")
                    for f in value._fields
                }
            )
        if isinstance(value, tuple):
            if not isinstance(saved, list) or len(saved) != len(value):
                raise ValueError(
                    f"{path}: the saved optimizer has another chain of transformations"
                )
            return tuple(
                decode(v, s, f"{path}/{i}")
                for i, (v, s) in enumerate(zip(value, saved, strict=True))
            )
        if isinstance(value, dict):
            return {key: _array_like(tensors, f"{path}/{key}", like) for key, like in value.items()}
        if isinstance(saved, bool | int | float) and not isinstance(value, bool):
            return type(value)(saved)
        raise ValueError(f"{path}: expected a number in the saved optimizer state")

    return decode(template, meta, prefix)


def _array_like(tensors: dict[str, np.ndarray], name: str, like: Array) -> Array:
    if name not in tensors:
        raise ValueError(f"the optimizer state has no array {name!r}")
    array = tensors[name]
    if tuple(array.shape) != tuple(like.shape):
        raise ValueError(
            f"{name} has shape {tuple(array.shape)}, the parameter {tuple(like.shape)}"
        )
    xp = namespace(like)
    return xp.astype(from_numpy(np.array(array), xp, like=like), like.dtype)  # a writable copy


# -- random generators ---------------------------------------------------------------------------
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _encode_arrays(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.str}
    raise TypeError(f"cannot save a {type(value).__name__} in a random generator's state")


def _decode_arrays(obj: dict[str, Any]) -> Any:
    if "__array__" in obj:
        return np.asarray(obj["__array__"], dtype=np.dtype(obj["dtype"]))
    return obj


def rng_state(rng: np.random.Generator | np.random.RandomState) -> dict[str, str]:
    """The generator's exact state as JSON text (its 128-bit integers kept whole)."""
    if isinstance(rng, np.random.Generator):
        return {
            "kind": "Generator",
            "state": json.dumps(rng.bit_generator.state, default=_encode_arrays),
        }
    state = rng.get_state(legacy=False)
    return {"kind": "RandomState", "state": json.dumps(state, default=_encode_arrays)}


def rng_from_state(saved: dict[str, str]) -> np.random.Generator | np.random.RandomState:
    """A new generator that will draw exactly what the saved one would have drawn next."""
    state = json.loads(saved["state"], object_hook=_decode_arrays)
    if saved.get("kind") == "RandomState":
        rng = np.random.RandomState()
        rng.set_state(state)
        return rng
    name = state.get("bit_generator")
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {str(name)[:40]!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
