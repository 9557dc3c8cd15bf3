"""Normalization layers: batch normalization and layer normalization, with hand-derived backward.

Both standardise the input and then scale and shift it with learnable :math:`\\gamma, \\beta`:

.. math:: \\hat x = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}, \\qquad y = \\gamma \\odot \\hat x + \\beta

:class:`BatchNorm` takes :math:`\\mu, \\sigma^2` over the batch (one pair per feature, axis 0);
:class:`LayerNorm` over the features (one pair per sample, axis 1). The backward pass is the
same formula along a different axis (see :func:`normalized_backward`).

Non-trainable state (``BatchNorm``'s running mean and variance) lives in ``self.buffers``, beside
``self.params``: a model file must save it, an optimizer must never see it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, from_numpy, namespace, to_numpy
from chainrule.network.layers import Layer


def normalized_backward(xp: Any, dxhat: Array, xhat: Array, inv_std: Array, axis: int) -> Array:
    """:math:`\\partial L/\\partial x` from :math:`\\partial L/\\partial \\hat x`, when :math:`\\mu, \\sigma^2` are taken along ``axis``.

    With :math:`M` the number of values each mean is taken over and :math:`s = 1/\\sqrt{\\sigma^2+\\epsilon}`:

    .. math::
        \\frac{\\partial L}{\\partial x} = s \\Big( \\frac{\\partial L}{\\partial \\hat x}
        - \\operatorname{mean}\\Big(\\frac{\\partial L}{\\partial \\hat x}\\Big)
        - \\hat x \\odot \\operatorname{mean}\\Big(\\frac{\\partial L}{\\partial \\hat x} \\odot \\hat x\\Big) \\Big)

    (the means along ``axis``); :class:`BatchNorm` derives it step by step.
    """
    mean_d = xp.mean(dxhat, axis=axis, keepdims=True)  # (1/M) Σ d̂
    mean_dx = xp.mean(dxhat * xhat, axis=axis, keepdims=True)  # (1/M) Σ d̂ ⊙ x̂
    return inv_std * (dxhat - mean_d - xhat * mean_dx)


class _Normalization(Layer):
    """Shared parameters ``gamma`` (ones) and ``beta`` (zeros) of shape ``(d,)``, and their gradients."""

    has_params = True

    def __init__(self, num_features: int, eps: float, affine: bool, dtype: str, name: str | None):
        super().__init__(name)
        if int(num_features) < 1:
            raise ValueError(f"num_features must be at least 1, got {num_features!r}.")
        if not float(eps) > 0:
            raise ValueError(f"eps must be positive, got {eps!r}.")
        self.num_features, self.eps, self.affine = int(num_features), float(eps), bool(affine)
        if self.affine:
            self.params["gamma"] = np.ones(self.num_features, dtype=dtype)
            self.params["beta"] = np.zeros(self.num_features, dtype=dtype)
        self._xhat: Array | None = None
        self._inv_std: Array | None = None

    def _scale_shift(self, xhat: Array) -> Array:
        if not self.affine:
            return xhat
        return xhat * self.params["gamma"] + self.params["beta"]  # y = γ ⊙ x̂ + β

    def _param_grads(self, xp: Any, grad: Array) -> Array:
        """Fill ∂L/∂γ, ∂L/∂β and return ∂L/∂x̂ = g ⊙ γ."""
        if not self.affine:
            return grad
        if "gamma" not in self.frozen:
            self.grads["gamma"] = xp.sum(grad * self._xhat, axis=0)  # ∂L/∂γ = Σₙ gₙ ⊙ x̂ₙ  (d,)
        if "beta" not in self.frozen:
            self.grads["beta"] = xp.sum(grad, axis=0)  # ∂L/∂β = Σₙ gₙ  (d,)
        return grad * self.params["gamma"]  # ∂L/∂x̂ = g ⊙ γ  (N, d)


class BatchNorm(_Normalization):
    """Batch normalization over the batch axis, as ``torch.nn.BatchNorm1d`` on ``(N, d)`` input.

    **Forward in training**, for each feature :math:`j` separately over the :math:`N` rows:

    .. math::
        \\mu = \\frac1N \\sum_n x_n, \\quad
        \\sigma^2 = \\frac1N \\sum_n (x_n - \\mu)^2, \\quad
        s = \\frac{1}{\\sqrt{\\sigma^2 + \\epsilon}}, \\quad
        \\hat x_n = (x_n - \\mu)\\, s, \\quad
        y_n = \\gamma \\hat x_n + \\beta \\qquad (N, d)

    and the running statistics move towards the batch's, with momentum :math:`m` (the running
    variance uses the unbiased :math:`\\tfrac{N}{N-1}\\sigma^2`, as PyTorch does):

    .. math::
        \\bar\\mu \\leftarrow (1 - m)\\,\\bar\\mu + m\\,\\mu, \\qquad
        \\bar\\sigma^2 \\leftarrow (1 - m)\\,\\bar\\sigma^2 + m\\,\\tfrac{N}{N-1}\\sigma^2

    **At inference** :math:`\\hat x = (x - \\bar\\mu)/\\sqrt{\\bar\\sigma^2 + \\epsilon}`: the
    output of a row no longer depends on the other rows.

    **Backward**, given :math:`g_n = \\partial L/\\partial y_n` ``(N, d)``. The parameters are
    the easy part, since :math:`y_n = \\gamma \\hat x_n + \\beta` is linear in them and every row
    uses them:

    .. math::
        \\frac{\\partial L}{\\partial \\beta} = \\sum_n g_n, \\qquad
        \\frac{\\partial L}{\\partial \\gamma} = \\sum_n g_n \\hat x_n \\quad (d,), \\qquad
        \\hat d_n := \\frac{\\partial L}{\\partial \\hat x_n} = g_n \\gamma \\quad (N, d)

    The input is harder, because :math:`x_n` reaches the loss by three paths: directly through
    :math:`\\hat x_n`, and through :math:`\\mu` and :math:`\\sigma^2`, which every
    :math:`\\hat x_m` uses. Take the statistics first (:math:`\\sigma^2` is one number per
    feature, so its gradient sums over the rows; :math:`ds/d\\sigma^2 = -\\tfrac12 s^3`):

    .. math::
        \\frac{\\partial L}{\\partial \\sigma^2} = \\sum_m \\hat d_m (x_m - \\mu)\\,(-\\tfrac12 s^3)
            = -\\tfrac12 s^2 \\sum_m \\hat d_m \\hat x_m

    .. math::
        \\frac{\\partial L}{\\partial \\mu} = \\sum_m \\hat d_m (-s)
            + \\frac{\\partial L}{\\partial \\sigma^2} \\cdot \\frac{-2}{N}\\sum_m (x_m - \\mu)
            = -s \\sum_m \\hat d_m \\quad (\\text{since } \\textstyle\\sum_m (x_m - \\mu) = 0)

    Then the three paths into :math:`x_n`, using :math:`\\partial \\mu/\\partial x_n = 1/N` and
    :math:`\\partial \\sigma^2/\\partial x_n = 2(x_n - \\mu)/N`:

    .. math::
        \\frac{\\partial L}{\\partial x_n}
            = \\hat d_n s + \\frac{\\partial L}{\\partial \\sigma^2}\\frac{2(x_n - \\mu)}{N}
              + \\frac{\\partial L}{\\partial \\mu}\\frac1N
            = \\frac{s}{N}\\Big(N \\hat d_n - \\sum_m \\hat d_m
              - \\hat x_n \\sum_m \\hat d_m \\hat x_m\\Big) \\quad (N, d)

    In words: the gradient a plain scaling by :math:`s` would give, minus its mean over the
    batch, minus its component along :math:`\\hat x` — the two directions in which a change to
    the input is undone by the normalization. At inference :math:`\\bar\\mu, \\bar\\sigma^2` are
    constants and the backward is just :math:`\\partial L/\\partial x_n = \\hat d_n \\bar s`.

    Parameters
    ----------
    num_features : int
        :math:`d`, the input (and output) width.
    eps : float
        :math:`\\epsilon` added to the variance.
    momentum : float
        :math:`m` of the running statistics (PyTorch's convention: weight of the *new* batch).
    affine : bool
        Learn :math:`\\gamma` (``params["gamma"]``, ones) and :math:`\\beta` (``params["beta"]``, zeros).
    dtype : str
        ``"float64"`` or ``"float32"``.

    Attributes
    ----------
    buffers : dict
        ``"running_mean"`` (zeros) and ``"running_var"`` (ones), shape ``(d,)``: state that is
        saved with the model but never trained.
    """

    formula: ClassVar[str] = "x̂ = (x − μ_B)/√(σ²_B + ε),  y = γ ⊙ x̂ + β"
    derivative: ClassVar[str] = (
        "∂L/∂x = (s/N)·(N·d̂ − Σₙ d̂ₙ − x̂ ⊙ Σₙ d̂ₙ⊙x̂ₙ),  d̂ = g ⊙ γ,  s = 1/√(σ²_B + ε);  "
        "∂L/∂γ = Σₙ gₙ⊙x̂ₙ,  ∂L/∂β = Σₙ gₙ"
    )

    def __init__(
        self,
        num_features: int,
        *,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        dtype: str = "float64",
        name: str | None = None,
    ) -> None:
        super().__init__(num_features, eps, affine, dtype, name)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}.")
        self.momentum = float(momentum)
        self._training = False
        self.buffers: dict[str, Array] = {
            "running_mean": np.zeros(self.num_features, dtype=dtype),
            "running_var": np.ones(self.num_features, dtype=dtype),
        }

    def _buffers_like(self, x: Array) -> None:
        """Move the running statistics to ``x``'s namespace and dtype (models are cast lazily)."""
        for key, value in self.buffers.items():
            if type(value) is type(x) and value.dtype == x.dtype:
                continue
            xp = namespace(x)
            moved = from_numpy(np.array(to_numpy(value)), xp, like=x)
            self.buffers[key] = xp.astype(moved, x.dtype)

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        self._forwarded = True
        self._training = training
        self._buffers_like(x)
        if training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    "BatchNorm needs at least 2 rows per batch in training to estimate a "
                    "variance; use a larger batch_size or LayerNorm."
                )
            mean = xp.mean(x, axis=0)  # μ = (1/N) Σₙ xₙ            (d,)
            centered = x - mean  # xₙ − μ                        (N, d)
            var = xp.mean(centered * centered, axis=0)  # σ² = (1/N) Σₙ (xₙ − μ)²  (d,)
            m = self.momentum
            running = self.buffers
            running["running_mean"] = (1 - m) * running["running_mean"] + m * mean
            running["running_var"] = (1 - m) * running["running_var"] + m * (var * (n / (n - 1)))
        else:
            centered = x - self.buffers["running_mean"]
            var = self.buffers["running_var"]
        self._inv_std = 1.0 / xp.sqrt(var + self.eps)  # s = 1/√(σ² + ε)   (d,)
        self._xhat = centered * self._inv_std  # x̂ = (x − μ)·s   (N, d)
        return self._scale_shift(self._xhat)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        xp = namespace(grad)
        dxhat = self._param_grads(xp, grad)  # d̂ = g ⊙ γ
        if not need_input_grad:
            return None
        if not self._training:
            return dxhat * self._inv_std  # μ̄, σ̄² are constants: ∂L/∂x = d̂·s̄
        # ∂L/∂x = (s/N)(N d̂ − Σₘ d̂ₘ − x̂ Σₘ d̂ₘ x̂ₘ), derived in the class docstring.
        return normalized_backward(xp, dxhat, self._xhat, self._inv_std, axis=0)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
        }

    def onnx(self, graph: Any, x: str) -> str:
        """ONNX ``BatchNormalization`` (inference mode) with the running statistics."""
        lname = self.name or "batchnorm"
        d = self.num_features
        gamma = to_numpy(self.params["gamma"]) if self.affine else np.ones(d)
        beta = to_numpy(self.params["beta"]) if self.affine else np.zeros(d)
        arrays = [gamma, beta, self.buffers["running_mean"], self.buffers["running_var"]]
        names = ["gamma", "beta", "running_mean", "running_var"]
        inputs = [
            graph.const(f"{lname}.{n}", np.asarray(to_numpy(a), dtype=np.float32))
            for n, a in zip(names, arrays, strict=True)
        ]
        return graph.op("BatchNormalization", [x, *inputs], lname, epsilon=self.eps)


class LayerNorm(_Normalization):
    """Layer normalization over the features of each row, as ``torch.nn.LayerNorm(d)``.

    Forward, for each row :math:`n` over its :math:`d` features (no running statistics: training
    and inference compute the same thing):

    .. math::
        \\mu_n = \\frac1d \\sum_j x_{nj}, \\quad
        \\sigma_n^2 = \\frac1d \\sum_j (x_{nj} - \\mu_n)^2, \\quad
        \\hat x_n = \\frac{x_n - \\mu_n}{\\sqrt{\\sigma_n^2 + \\epsilon}}, \\quad
        y_n = \\gamma \\odot \\hat x_n + \\beta \\qquad (N, d)

    Backward, given :math:`g = \\partial L/\\partial y` ``(N, d)``: the derivation of
    :class:`BatchNorm` with the roles of rows and features exchanged, so with
    :math:`\\hat d = g \\odot \\gamma` and :math:`s_n = 1/\\sqrt{\\sigma_n^2 + \\epsilon}`:

    .. math::
        \\frac{\\partial L}{\\partial x_{nj}} = \\frac{s_n}{d}\\Big(d\\, \\hat d_{nj}
            - \\sum_k \\hat d_{nk} - \\hat x_{nj} \\sum_k \\hat d_{nk} \\hat x_{nk}\\Big), \\qquad
        \\frac{\\partial L}{\\partial \\gamma} = \\sum_n g_n \\odot \\hat x_n, \\qquad
        \\frac{\\partial L}{\\partial \\beta} = \\sum_n g_n

    Parameters
    ----------
    num_features : int
        :math:`d`.
    eps : float
        :math:`\\epsilon` added to the variance.
    elementwise_affine : bool
        Learn :math:`\\gamma, \\beta` of shape ``(d,)``.
    dtype : str
        ``"float64"`` or ``"float32"``.
    """

    formula: ClassVar[str] = "x̂ₙ = (xₙ − μₙ)/√(σ²ₙ + ε) over the features,  y = γ ⊙ x̂ + β"
    derivative: ClassVar[str] = (
        "∂L/∂xₙ = (sₙ/d)·(d·d̂ₙ − Σⱼ d̂ₙⱼ − x̂ₙ Σⱼ d̂ₙⱼx̂ₙⱼ),  d̂ = g ⊙ γ;  "
        "∂L/∂γ = Σₙ gₙ⊙x̂ₙ,  ∂L/∂β = Σₙ gₙ"
    )

    def __init__(
        self,
        num_features: int,
        *,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: str = "float64",
        name: str | None = None,
    ) -> None:
        super().__init__(num_features, eps, elementwise_affine, dtype, name)

    def forward(self, x: Array, training: bool = False) -> Array:
        xp = namespace(x)
        self._forwarded = True
        centered = x - xp.mean(x, axis=1, keepdims=True)  # xₙ − μₙ         (N, d)
        var = xp.mean(centered * centered, axis=1, keepdims=True)  # σₙ²  (N, 1)
        self._inv_std = 1.0 / xp.sqrt(var + self.eps)  # sₙ             (N, 1)
        self._xhat = centered * self._inv_std  # x̂ₙ = (xₙ − μₙ)·sₙ       (N, d)
        return self._scale_shift(self._xhat)

    def backward(self, grad: Array, need_input_grad: bool = True) -> Array | None:
        self._check_forwarded()
        xp = namespace(grad)
        dxhat = self._param_grads(xp, grad)  # d̂ = g ⊙ γ
        if not need_input_grad:
            return None
        return normalized_backward(xp, dxhat, self._xhat, self._inv_std, axis=1)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "num_features": self.num_features,
            "eps": self.eps,
            "elementwise_affine": self.affine,
        }

    def onnx(self, graph: Any, x: str) -> str:
        """Composed from ``MatMul`` (row means), ``Sub``, ``Mul``, ``Sqrt`` and ``Div``.

        The row means are ``x · (1/d)𝟙`` rather than ``ReduceMean``, whose signature changed in
        opset 18, so the same nodes are valid from opset 13 on (``LayerNormalization`` needs 17).
        """
        lname = self.name or "layernorm"
        d = self.num_features
        avg = graph.const(f"{lname}.avg", np.full((d, 1), 1.0 / d, dtype=np.float32))
        mean = graph.op("MatMul", [x, avg], f"{lname}_mean")  # μₙ  (N, 1)
        centered = graph.op("Sub", [x, mean], f"{lname}_centered")
        square = graph.op("Mul", [centered, centered], f"{lname}_sq")
        var = graph.op("MatMul", [square, avg], f"{lname}_var")  # σₙ²  (N, 1)
        eps = graph.const(f"{lname}.eps", np.array(self.eps, dtype=np.float32))
        std = graph.op("Sqrt", [graph.op("Add", [var, eps], f"{lname}_var_eps")], f"{lname}_std")
        y = graph.op("Div", [centered, std], f"{lname}_xhat")
        if self.affine:
            gamma = np.asarray(to_numpy(self.params["gamma"]), dtype=np.float32)
            beta = np.asarray(to_numpy(self.params["beta"]), dtype=np.float32)
            y = graph.op("Mul", [y, graph.const(f"{lname}.gamma", gamma)], f"{lname}_scaled")
            y = graph.op("Add", [y, graph.const(f"{lname}.beta", beta)], lname)
        return y


__all__ = ["BatchNorm", "LayerNorm", "normalized_backward"]
