"""Every trainable parameter as a view into one buffer, so an update is one operation, not one per array.

The lecture's 2-4-1 network has four parameter arrays of at most eight numbers. NumPy spends
about a microsecond per call whatever the size, so an SGD step costs eight calls
(``u = -η g`` and ``θ += u`` per array), the per-epoch finite check four reductions and the
best-weights snapshot four copies. Laid end to end in one vector

.. math::
    \\theta = [\\operatorname{vec} W_1, b_1, \\operatorname{vec} W_2, b_2]
    \\in \\mathbb{R}^{P}, \\qquad
    g = [\\operatorname{vec} \\partial L/\\partial W_1, \\ldots] \\in \\mathbb{R}^{P}

with every layer's array a view of its slice, each of those is one call:
``θ += -η g``, ``isfinite(Σ θ)``, ``copyto(best, θ)``. The values are the same: every
optimizer chainrule ships works element by element (its transformations say so with
``elementwise=True``), so updating θ at once is updating each array in turn, bit for bit.

A container lays its parameters out this way when it is built
(:meth:`~chainrule.network.containers.Container.pack_parameters`), and :meth:`FlatParams.of`
adopts that buffer, so the arrays ``net.params`` hands out are the ones training updates.
When the trainable parameters are not laid out so (some are frozen, or were rebound), it lays
them out anew and the layers hold views of the new buffer; either way they are ordinary
C-ordered arrays (saving, ONNX and ``coefs_`` see no difference). If anything rebinds a
parameter during a run, the layout is no longer :meth:`FlatParams.intact` and the solver
falls back to one call per array.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.network.fastpaths import contiguous_views
from chainrule.training.checks import all_finite, params_finite

if TYPE_CHECKING:
    from chainrule.network.containers import Sequential

FLAT = "θ"
"""The one key of the parameter and gradient dicts an optimizer sees on the flat path."""


class FlatParams:
    """One C-ordered NumPy buffer :math:`\\theta` ``(P,)`` holding every trainable parameter.

    Build it with :meth:`of`, which returns ``None`` when the network cannot be laid out so
    (parameters on a device, of mixed dtypes, or none trainable).

    Attributes
    ----------
    theta, grad : ndarray, shape (P,)
        The parameters, and the gradient gathered by :meth:`gather`.
    views : dict of str to ndarray
        Each trainable parameter by full name, as the view of ``theta`` its layer holds.
    params : dict
        ``{FLAT: theta}``, what the optimizer updates.
    """

    def __init__(self, network: Sequential, names: list[str], buffer: np.ndarray) -> None:
        current = network.params
        self.network, self.names = network, names
        self._name_set = set(names)
        self.others = [k for k in current if k not in self._name_set]  # frozen: not in θ
        self.theta = buffer  # the layers' parameters are consecutive views of it
        self.views = {k: current[k] for k in names}
        self.grad = np.empty_like(self.theta)
        self.grad_views = self._views(self.grad, self.views)
        where = {full: (layer, key) for full, layer, key in network.param_slots()}
        # (layer, key, its view of θ, its view of g) per parameter: one flat list, read per step
        self._slots = [(*where[k], self.views[k], self.grad_views[k]) for k in names]
        self.params = {FLAT: self.theta}
        self._snapshots: dict[int, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self._state_views: dict[int, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self._named_state: Any = None
        self._flat_state: Any = None
        self._state_has_dicts = True

    @classmethod
    def of(cls, network: Sequential, previous: FlatParams | None = None) -> FlatParams | None:
        """The network's flat layout: ``previous`` while it still holds, else a new one or ``None``."""
        names = network.trainable_names()
        if previous is not None and previous.network is network and previous.names == names:
            if previous.intact():
                return previous
        params = network.params
        if not names or any(type(params[k]) is not np.ndarray for k in params):
            return None
        buffer = _shared_buffer([params[k] for k in names])
        if buffer is None:  # not laid out (frozen parameters, a rebound one): lay them out anew
            views = contiguous_views({k: params[k] for k in names})
            if views is None:  # mixed or non-float dtypes
                return None
            network.set_params(views, copy=False)  # the layers now hold the views
            buffer = _shared_buffer(list(views.values()))
        return cls(network, names, buffer)

    def _views(self, buffer: np.ndarray, like: dict[str, Any]) -> dict[str, np.ndarray]:
        views, offset = {}, 0
        for k in self.names:
            shape = like[k].shape
            size = math.prod(shape)
            views[k] = buffer[offset : offset + size].reshape(shape)
            offset += size
        return views

    def intact(self) -> bool:
        """Whether every layer still holds its view of :attr:`theta` (nothing rebound one)."""
        for layer, key, view, _ in self._slots:
            if layer.params.get(key) is not view:
                return False
        return True

    @contextmanager
    def lending_gradients(self) -> Iterator[None]:
        """Offer each layer its slice of :attr:`grad` to write its gradients into, for a run.

        A layer that takes the offer (:class:`~chainrule.layers.Dense`) fills ``g`` in place,
        so :meth:`gather` has nothing to copy; its ``grads`` are then overwritten by every
        batch, so a callback that keeps them across batches must copy them. Outside the
        ``with`` block, layers allocate their gradients again.
        """
        for layer, key, _, grad_view in self._slots:
            vars(layer).setdefault("grad_buffers", {})[key] = grad_view  # one's own layer too
        try:
            yield
        finally:
            for layer, key, _, _ in self._slots:
                getattr(layer, "grad_buffers", {}).pop(key, None)

    # -- per batch ----------------------------------------------------------------------------
    def gather(self, grads: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """``{FLAT: g}``: the named gradients (default: the layers' own) laid out as θ is.

        Those a layer wrote into their slice already are there; any other (a layer that
        allocates, a hook that replaced one) is copied in.
        """
        if grads is None:
            for layer, key, _, view in self._slots:
                g = layer.grads[key]
                if g is not view:
                    np.copyto(view, g)
        else:
            for k, view in self.grad_views.items():
                g = grads[k]
                if g is not view:
                    np.copyto(view, g)
        return {FLAT: self.grad}

    # -- per epoch ----------------------------------------------------------------------------
    def finite(self) -> bool:
        """Whether every parameter is finite: one reduction over :attr:`theta` (+ frozen ones)."""
        if not all_finite(self.theta):
            return False
        return not self.others or params_finite(self.network.params[k] for k in self.others)

    def snapshot(self, into: dict[str, Any] | None) -> dict[str, Any]:
        """A copy of every parameter, reusing ``into``'s buffer when it came from here: one copy."""
        params = self.network.params if self.others else self.views
        known = self._snapshots.get(id(into)) if into is not None else None
        if known is None or known[0] is not into:
            buffer = self.theta.copy()
            copies = self._views(buffer, self.views)
            copies.update({k: params[k].copy() for k in self.others})
            if len(self._snapshots) > 16:  # snapshots of earlier runs: forget them
                self._snapshots.clear()
            self._snapshots[id(copies)] = (copies, buffer)
            return copies
        np.copyto(known[1], self.theta)
        for k in self.others:
            np.copyto(into[k], params[k])
        return into

    # -- the optimizer's state ------------------------------------------------------------------
    def flat_state(self, state: Any) -> Any:
        """``state`` with every per-parameter dict turned into ``{FLAT: buffer}``.

        The state last returned by :meth:`named_state` maps back at no cost; any other (a new
        ``init``, a state loaded from a checkpoint, one a callback replaced) is laid out anew.
        """
        if state is self._named_state:
            return self._flat_state
        self._state_has_dicts = self._has_dicts(state)  # an update keeps the state's shape
        return self._map(state, self._to_flat) if self._state_has_dicts else state

    def named_state(self, state: Any) -> Any:
        """``state`` as the named dicts the rest of chainrule reads: views of the flat buffers.

        A state with no per-parameter arrays (plain SGD's step count and rate) is its own
        named form: nothing is walked.
        """
        self._flat_state = state
        self._named_state = self._map(state, self._to_named) if self._state_has_dicts else state
        return self._named_state

    def _to_flat(self, d: dict) -> dict:
        if not self._name_set <= d.keys():
            return d
        known = self._state_views.get(id(d))
        if known is not None and known[0] is d:
            return {FLAT: known[1]}
        buffer = np.concatenate([np.asarray(d[k]).ravel() for k in self.names]).astype(
            self.theta.dtype, copy=False
        )
        self._remember(buffer, d)
        return {FLAT: buffer}

    def _to_named(self, d: dict) -> dict:
        if set(d) != {FLAT}:
            return d
        buffer = d[FLAT]
        known = self._state_views.get(id(buffer))
        if known is None or known[1] is not buffer:
            known = self._remember(buffer, self.views)
        return known[0]

    def _remember(
        self, buffer: np.ndarray, like: dict[str, Any]
    ) -> tuple[dict[str, Any], np.ndarray]:
        """The named form of a flat state ``buffer``: views, plus ``like``'s frozen entries."""
        views = self._views(buffer, self.views)
        named = {k: views.get(k, like[k]) for k in like}  # the frozen ones: as they were
        entry = (named, buffer)
        if len(self._state_views) > 64:  # old runs' states: forget them
            self._state_views.clear()
        self._state_views[id(buffer)] = self._state_views[id(named)] = entry
        return entry

    @classmethod
    def _has_dicts(cls, state: Any) -> bool:
        if isinstance(state, dict):
            return True
        return isinstance(state, tuple) and any(cls._has_dicts(s) for s in state)

    @classmethod
    def _map(cls, state: Any, fn: Any) -> Any:
        if isinstance(state, dict):
            return fn(state)
        if isinstance(state, tuple):
            parts = [cls._map(s, fn) for s in state]
            return type(state)(*parts) if hasattr(state, "_fields") else tuple(parts)
        return state


def _shared_buffer(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer ``arrays`` are consecutive views of, in order and filling it; else None."""
    base = arrays[0].base
    if type(base) is not np.ndarray or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    if sum(a.size for a in arrays) != base.size:
        return None
    address, step = base.ctypes.data, base.itemsize
    for a in arrays:
        if a.base is not base or not a.flags.c_contiguous or a.ctypes.data != address:
            return None
        address += a.size * step
    return base
