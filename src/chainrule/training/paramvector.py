"""The trainable parameters as one flat vector: the layout L-BFGS and any objective share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from chainrule.backend import Array, from_numpy, namespace, to_numpy

if TYPE_CHECKING:
    from chainrule.network.containers import Sequential

__all__ = ["ParamVector"]


class ParamVector:
    """The trainable parameters as one float64 vector :math:`\\theta`, in ``trainable_names()`` order.

    ``θ = [vec(W₁), vec(b₁), vec(W₂), …]`` (row-major), the layout L-BFGS and any
    :data:`Objective` share.
    """

    def __init__(self, network: Sequential) -> None:
        self.network = network
        params = network.params
        self.names = network.trainable_names()
        self.shapes = {k: tuple(params[k].shape) for k in self.names}
        self.slices: dict[str, slice] = {}
        start = 0
        for k, shape in self.shapes.items():
            size = int(np.prod(shape))
            self.slices[k] = slice(start, start + size)
            start += size
        self.size = start

    def get(self) -> np.ndarray:
        """:math:`\\theta` from the network's current parameters (a new float64 array)."""
        params = self.network.params
        return np.concatenate(
            [np.asarray(to_numpy(params[k]), np.float64).ravel() for k in self.names]
        )

    def set(self, theta: np.ndarray) -> None:
        """Copy :math:`\\theta` into the network's parameters (cast to their dtype)."""
        params = self.network.params
        values = {}
        for k in self.names:
            part = theta[self.slices[k]].reshape(self.shapes[k])
            if not isinstance(params[k], np.ndarray):
                part = from_numpy(part, namespace(params[k]), like=params[k])
            values[k] = part
        self.network.set_params(values)

    def flatten(self, grads: dict[str, Array]) -> np.ndarray:
        """The gradients as one float64 vector in the layout of :math:`\\theta`."""
        return np.concatenate([to_numpy(grads[k]).ravel() for k in self.names]).astype(np.float64)
