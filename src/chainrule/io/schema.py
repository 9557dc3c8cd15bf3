"""A small validator for the JSON a model file carries: types, ranges, sizes, nesting depth.

A schema is built from a handful of node types — :class:`Int`, :class:`Num`, :class:`Str`,
:class:`Bool`, :class:`Opt`, :class:`List`, :class:`Obj`, :class:`Map`, :class:`AnyJSON` —
and :func:`validate` walks a value against it, raising :class:`SchemaError` with the JSON
path of the first mismatch (``meta.history.best_epoch: expected an integer, got 'x'``).
Each node checks only what it is given, so the walk costs one pass over the value and never
allocates more than the value itself. This module knows no chainrule classes; the schemas of
the saved kinds live in :mod:`chainrule.model_schema`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of lists and objects accepted anywhere in the metadata."""

_NON_FINITE = ("NaN", "Infinity", "-Infinity")  # how the writer stores non-finite floats


class SchemaError(ValueError):
    """Metadata that is valid JSON but not what chainrule writes; the message names the path."""


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of lists and dicts in ``value``, counted without recursion up to ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Node:
    """A schema node; :meth:`check` raises :class:`SchemaError` on a mismatch."""

    def check(self, value: Any, path: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class Int(Node):
    """An integer (not a bool) in ``[lo, hi]``."""

    lo: int | None = None
    hi: int | None = None

    def check(self, value: Any, path: str) -> None:
        if type(value) is not int:
            raise SchemaError(f"{path}: expected an integer, got {_shown(value)}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise SchemaError(f"{path}: {value} is outside [{self.lo}, {self.hi}]")


@dataclass
class Num(Node):
    """A number (int or float), or one of the strings non-finite floats are stored as."""

    finite: bool = False
    lo: float | None = None

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, str) and value in _NON_FINITE and not self.finite:
            return
        if type(value) not in (int, float) or not math.isfinite(value):
            raise SchemaError(f"{path}: expected a number, got {_shown(value)}")
        if self.lo is not None and value < self.lo:
            raise SchemaError(f"{path}: {value} is below {self.lo}")


@dataclass
class Str(Node):
    """A string of at most ``max_len`` characters, from ``choices`` when given."""

    choices: tuple[str, ...] | Callable[[], Any] | None = None
    max_len: int = 10_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise SchemaError(f"{path}: expected a string, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: a string of {len(value)} characters is too long")
        choices = self.choices() if callable(self.choices) else self.choices
        if choices is not None and value not in choices:
            known = ", ".join(sorted(map(str, choices))[:20])
            raise SchemaError(f"{path}: unknown value {_shown(value)} (known: {known})")


class Bool(Node):
    """``true`` or ``false``."""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise SchemaError(f"{path}: expected true or false, got {_shown(value)}")


@dataclass
class Opt(Node):
    """``null`` or ``inner``."""

    inner: Node

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


@dataclass
class List(Node):
    """A list of at most ``max_len`` items, each matching ``item``."""

    item: Node
    max_len: int = 10_000_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise SchemaError(f"{path}: expected a list, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: {len(value)} items is more than {self.max_len}")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


@dataclass
class Obj(Node):
    """An object with ``required`` and ``optional`` keys; others only when ``extra`` is set."""

    required: Mapping[str, Node]
    optional: Mapping[str, Node] = field(default_factory=dict)
    extra: Node | None = None

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object, got {_shown(value)}")
        for key, node in self.required.items():
            if key not in value:
                raise SchemaError(f"{path}: the key {key!r} is missing")
            node.check(value[key], f"{path}.{key}")
        for key, item in value.items():
            if key in self.required:
                continue
            node = self.optional.get(key, self.extra)
            if node is None:
                raise SchemaError(f"{path}: unexpected key {_shown(key)}")
            node.check(item, f"{path}.{key}")


@dataclass
class Map(Node):
    """An object with any string keys, each value matching ``value``."""

    value: Node
    max_len: int = 100_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaError(f"{path}: expected an object, got {_shown(value)}")
        if len(value) > self.max_len:
            raise SchemaError(f"{path}: {len(value)} keys is more than {self.max_len}")
        for key, item in value.items():
            self.value.check(item, f"{path}.{key}")


class AnyJSON(Node):
    """Any JSON value (depth is bounded by :func:`validate` as a whole)."""

    def check(self, value: Any, path: str) -> None:
        return None


def validate(value: Any, schema: Node, path: str = "meta") -> None:
    """Check ``value`` against ``schema``, and its nesting against :data:`MAX_DEPTH`.

    Raises
    ------
    SchemaError
        One line with the JSON path of the first mismatch.
    """
    if depth(value) > MAX_DEPTH:
        raise SchemaError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    schema.check(value, path)
