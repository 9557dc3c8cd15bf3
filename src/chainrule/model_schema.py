"""The schema of a model file's metadata, checked before any object is built from it.

:func:`chainrule.load` reads a file whose JSON might be damaged or forged yet still carry a
valid checksum (the checksum is unkeyed: it proves integrity against accidents, not against
forgery). Before a class is chosen or a layer allocated, :func:`check_meta` checks the metadata
of each kind against a schema — types, ranges, nesting depth (:mod:`chainrule.io`),
known layer, loss and task names — and bounds the parameters the architecture would allocate
by the tensors actually present:

.. math:: \\sum_{\\text{layers}} n_{\\text{params}}(\\text{config}) \\le \\sum_t \\text{size}(t)

so that a few hundred forged bytes declaring ``Dense(100000, 100000)`` are refused instead of
allocating 80 GB. For layer types chainrule does not ship (registered by user code), each
integer in the config must be at most the number of tensor elements.
"""

from __future__ import annotations

import re
from typing import Any

from chainrule.io import (
    AnyJSON,
    Bool,
    Int,
    List,
    Map,
    Node,
    Num,
    Obj,
    Opt,
    SchemaError,
    Str,
    validate,
)
from chainrule.network.layers import LAYER_TYPES
from chainrule.network.losses import LOSSES
from chainrule.tabular.preprocessing import IMPUTE_CHOICES

__all__ = ["SchemaError", "check_meta"]

_ABSTRACT_LAYERS = frozenset({"Layer", "Container", "Activation"})
_CONTAINER_KEYS = ("layers", "block", "projection")


def _param_elements(kind: str, spec: dict[str, Any]) -> int:
    """How many parameter and buffer elements a layer of ``kind`` with ``spec`` allocates."""

    def size(key: str) -> int:
        value = spec.get(key, 0)
        return value if type(value) is int and value >= 0 else 0

    if kind == "Dense":
        bias = size("out_features") if spec.get("use_bias", True) is not False else 0
        return size("in_features") * size("out_features") + bias
    if kind == "Embedding":
        return size("num_embeddings") * size("embedding_dim")
    if kind == "ColumnEmbedding":
        nums, dims = spec.get("num_embeddings"), spec.get("embedding_dims")
        if isinstance(nums, list) and isinstance(dims, list):
            return sum(n * d for n, d in zip(nums, dims, strict=False) if type(n) is type(d) is int)
        return 0
    if kind == "BatchNorm":  # running mean and variance always; scale and shift when affine
        return size("num_features") * (4 if spec.get("affine", True) is not False else 2)
    if kind == "LayerNorm":
        return size("num_features") * (
            2 if spec.get("elementwise_affine", True) is not False else 0
        )
    return 0


def _integers(value: Any) -> list[int]:
    if type(value) is int:
        return [value]
    if isinstance(value, list):
        return [v for item in value for v in _integers(item)]
    return []


class _Architecture(Node):
    """A layer spec tree: known types, non-negative sizes, parameters bounded by ``budget``."""

    def __init__(self) -> None:
        self.budget = 0
        self.used = 0

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected a layer object, got {type(value).__name__}")
        kind = value.get("type")
        loadable = sorted(k for k in LAYER_TYPES if k not in _ABSTRACT_LAYERS and k[0] != "_")
        if kind in _ABSTRACT_LAYERS or (isinstance(kind, str) and kind[:1] == "_"):
            raise SchemaError(f"{path}: layer type {kind!r} is a base class, not a loadable layer")
        if kind not in LAYER_TYPES:
            raise SchemaError(
                f"{path}: layer type {str(kind)[:40]!r}, which is not registered in this process; import "
                f"the module that defines it before loading (known: {', '.join(loadable)})"
            )
        Opt(Str(max_len=200)).check(value.get("name"), f"{path}.name")
        for key, item in value.items():
            if type(item) is int and item < 0 and key != "padding_idx":
                raise SchemaError(f"{path}.{key}: a size cannot be negative ({item})")
        children = value.get("layers", [])
        List(self, max_len=10_000).check(children, f"{path}.layers")
        for key in ("block", "projection"):
            if value.get(key) is not None:
                self.check(value[key], f"{path}.{key}")
        if kind in ("Dense", "Embedding", "ColumnEmbedding", "BatchNorm", "LayerNorm"):
            self.used += _param_elements(kind, value)
        elif kind not in ("Sequential", "Residual"):
            big = [v for k, v in value.items() if k not in _CONTAINER_KEYS for v in _integers(v)]
            if any(v > self.budget for v in big):
                raise SchemaError(f"{path}: a size of {max(big)} exceeds the tensors in the file")
        if self.used > self.budget:
            raise SchemaError(
                f"{path}: the architecture needs at least {self.used} parameters but the file "
                f"holds {self.budget} tensor elements"
            )


def _network(arch: _Architecture) -> Obj:
    return Obj(
        {
            "architecture": Obj({"layers": List(arch, max_len=10_000)}, {"name": Opt(Str())}),
            "dtype": Str(("float32", "float64")),
        },
        optional={"kind": Str()},
    )


_HISTORY = Obj(
    {},
    optional={
        "epoch": List(Int(0)),
        "history": Map(List(Num()), max_len=10_000),
        "stop_reason": Opt(Str(max_len=100)),
        "best_epoch": Opt(Int(0)),
    },
)


class _Scalar(Node):
    def check(self, value: Any, path: str) -> None:
        if isinstance(value, str):
            Str().check(value, path)
        elif type(value) not in (int, float, bool):
            raise SchemaError(f"{path}: expected a number or text, got {type(value).__name__}")


class _Column(Node):
    def check(self, value: Any, path: str) -> None:
        numeric = {"mean": Num(True), "scale": Num(True), "fill": Opt(Num(True))}
        categorical = {"categories": List(Str(), max_len=100_000)}
        kind = value.get("kind") if isinstance(value, dict) else None
        fields = numeric if kind == "numeric" else categorical
        optional = (
            {"fill": Opt(Num(True)), "clip": Num(True), "indicator": Bool()}
            if kind == "numeric"
            else {"missing": Bool()}
        )
        Str(("numeric", "categorical", "embedded")).check(kind, f"{path}.kind")
        Obj({"name": Str(), "kind": Str(), **fields}, optional=optional).check(value, path)


class _Classes(Node):
    """The estimator's ``{"dtype", "values"}``: a plain NumPy dtype no wider than its values."""

    def check(self, value: Any, path: str) -> None:
        Obj({"dtype": Str(max_len=10), "values": List(_Scalar(), 100_000)}).check(value, path)
        match = re.fullmatch(r"[<>|=]?([biufU])(\d{1,4})", value["dtype"])
        if match is None or value["dtype"] in ("|O", "O"):
            raise SchemaError(f"{path}.dtype: unsupported class dtype {value['dtype']!r}")
        if match[1] == "U" and int(match[2]) > max([len(str(v)) for v in value["values"]] + [1]):
            raise SchemaError(f"{path}.dtype: {value['dtype']!r} is wider than its values")


def _loss_names() -> set[str]:
    return {cls.__name__ for cls in LOSSES.values()}


def _tabular(arch: _Architecture) -> Obj:
    return Obj(
        {
            "network": _network(arch),
            "loss": Obj({"type": Str(_loss_names), "config": Map(AnyJSON(), max_len=20)}),
            "task": Str(("classification", "regression")),
            "target": Str(),
            "classes": Opt(List(_Scalar(), max_len=100_000)),
            "target_mean": Num(True),
            "target_scale": Num(True),
            "preprocessing": Obj({"impute": Str(IMPUTE_CHOICES), "columns": List(_Column())}),
            "history": _HISTORY,
            "kind": Str(),
        },
        optional={
            "training": Opt(Map(AnyJSON())),
            # TabularClassifier / TabularRegressor: their parameters and fitted attributes
            "estimator": Obj(
                {"params": Map(AnyJSON(), max_len=100), "fitted": Map(AnyJSON(), max_len=20)}
            ),
        },
    )


def _estimator(arch: _Architecture) -> Obj:
    fitted = Obj(
        {
            "n_features_in_": Int(1),
            "n_outputs_": Int(1),
            "n_layers_": Int(2),
            "out_activation_": Str(max_len=40),
        },
        optional={
            **{k: Opt(Num()) for k in ("n_iter_", "t_", "loss_", "best_loss_")},
            "best_validation_score_": Opt(Num()),
            **{k: Opt(List(Num())) for k in ("loss_curve_", "validation_scores_")},
            "validation_loss_curve_": Opt(List(Num())),
            "feature_names_in_": Opt(List(Str())),
            "learning_rate": Num(True, lo=0.0),
            "no_improvement_count": Int(0),
        },
    )
    return Obj(
        {
            "network": _network(arch),
            "params": Map(AnyJSON(), max_len=100),
            "fitted": fitted,
            "history": _HISTORY,
            "kind": Str(),
        },
        optional={
            "classes": _Classes(),
            "target_type": Str(("binary", "multiclass", "multilabel-indicator", "continuous")),
        },
        extra=AnyJSON(),
    )


def _trainer(arch: _Architecture) -> Obj:
    generator = Obj({"kind": Str(("Generator", "RandomState")), "state": Str(max_len=100_000)})
    return Obj(
        {
            "network": _network(arch),
            "loss": Obj({"type": Str(_loss_names), "config": Map(AnyJSON(), max_len=20)}),
            # the recipe is checked again, name by name, when it is rebuilt (optimizer_state.py)
            "optimizer": Obj({"spec": Map(AnyJSON(), max_len=20), "state": AnyJSON()}),
            "metrics": List(Str(max_len=40), max_len=100),
            "monitor": Obj(
                {
                    "monitor": Str(max_len=100),
                    "mode": Str(("min", "max")),
                    "min_delta": Num(True, lo=0.0),
                    "best": Opt(Num(True)),
                }
            ),
            "history": _HISTORY,
            "rng": Obj(
                {"generators": List(generator, max_len=10_000), "layers": Map(Int(0))},
                optional={"shuffle": Opt(Int(0))},
            ),
            "kind": Str(),
        }
    )


def check_meta(kind: Any, meta: dict[str, Any], n_elements: int) -> None:
    """Check a model file's metadata for ``kind`` before anything is built from it.

    Parameters
    ----------
    kind : str
        ``meta["kind"]`` as stored (``"Sequential"``, ``"TabularModel"``, ``"MLPClassifier"``…).
    meta : dict
        The object's metadata.
    n_elements : int
        Total number of elements of the file's tensors: the architecture may allocate no more.

    Raises
    ------
    SchemaError
        One line with the JSON path of the first part that is not what chainrule writes.
    """
    arch = _Architecture()
    # Twice the elements present, plus a little: small mismatches reach the precise per-tensor
    # message of from_state, while the allocation stays a small multiple of the file.
    arch.budget = 2 * n_elements + 4096
    schemas = {
        "Sequential": _network(arch),
        "TabularModel": _tabular(arch),
        "TabularClassifier": _tabular(arch),
        "TabularRegressor": _tabular(arch),
        "MLPClassifier": _estimator(arch),
        "MLPRegressor": _estimator(arch),
        "Trainer": _trainer(arch),
    }
    if kind not in schemas:
        raise SchemaError(f"kind: unknown kind {str(kind)[:40]!r}")
    validate(meta, schemas[kind])
