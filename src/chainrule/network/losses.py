"""Losses: one call returns the value and :math:`\\partial L/\\partial \\hat y`, which always agree.

``loss(y_pred, y_true, sample_weight=None) -> (value, grad)`` with ``y_pred`` of shape
``(N, K)`` (the network's output) and ``grad`` of the same shape. The losses here: squared,
absolute and Huber errors, binary and softmax cross-entropy, Poisson. Each is one class holding
its value and gradient and its facts (formula text, ONNX link, scikit-learn name, PyTorch
oracle).

Reduction
---------
Each loss first computes a per-element loss :math:`\\ell_{nk}`. With ``reduction="mean"``
(default) the value is the mean over all :math:`N K` elements, so its gradient carries a factor
:math:`1/(NK)`; with ``reduction="sum"`` it is the plain sum. With sample weights :math:`w_n`
the mean is :math:`\\sum_n w_n \\sum_k \\ell_{nk} / (K \\sum_n w_n)` and the sum
:math:`\\sum_n w_n \\sum_k \\ell_{nk}`. :class:`CrossEntropy` has one loss per sample, so there
:math:`K = 1`.

The lecture's update
--------------------
The lecture prints :math:`\\text{mean}((y - \\hat y)^2)` but back-propagates
``mse_derivative = y_pred - y_true`` for every sample, summed over the batch by the matrix
products, with no :math:`1/n`: that is the gradient of :math:`\\tfrac12 \\sum_n (\\hat y_n - y_n)^2`.
``MSE(reduction="sum")`` has gradient :math:`2 (\\hat y - y)`, so

* ``MSE(reduction="sum")`` with ``sgd(0.05)`` *is* the lecture's update, bit for bit
  (halving the rate and doubling the gradient are exact in binary floating point);
* ``HalfSumSquaredError()`` (:math:`\\tfrac12\\sum(\\hat y - y)^2`, gradient exactly ``y_pred - y_true``)
  with ``sgd(0.1)`` is also the lecture's update bit for bit, at the lecture's own rate;
* ``MSE()`` (the mean) with ``sgd(0.1 * n / 2)`` = ``sgd(25.0)`` for ``n = 500`` is the same
  update up to rounding.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.backend import Array, namespace
from chainrule.devices import scalar
from chainrule.network.activations import sigmoid

__all__ = [
    "LOSSES",
    "MAE",
    "MSE",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "HalfSquaredError",
    "HalfSumSquaredError",
    "Huber",
    "Loss",
    "PoissonNLL",
    "from_config",
    "get",
]


def _total(values: Array) -> float | Array:
    """:math:`\\sum` of every element: a Python float on NumPy (its ufunc reduce skips the
    wrapper), a 0-d array on other namespaces so a GPU never waits for the host per batch."""
    if type(values) is np.ndarray:
        return float(np.add.reduce(values, axis=None))
    return namespace(values).sum(values)


def _scaled(text: str, scale: str) -> str:
    """``text`` divided by ``scale``, in parentheses when a top-level minus needs them."""
    if not scale:
        return text
    depth, top_level_minus = 0, False
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        top_level_minus |= depth == 0 and text[i : i + 3] == " − "
    return f"({text}){scale}" if top_level_minus else f"{text}{scale}"


class Loss:
    """Base class. Subclasses implement :meth:`elementwise` (value and gradient per element).

    Every loss carries the facts the rest of chainrule needs about it, so adding one is one
    class in this file: ``value_text`` and ``gradient_text`` (its formula for ``explain``, in
    the lecture's notation, before the reduction's scale), ``link_onnx`` (the ONNX operators of
    :meth:`link`), ``sklearn_name`` (scikit-learn's name for it, if it has one) and
    ``torch_oracle`` (a PyTorch expression of ``z``, ``y`` and ``loss`` the tests compare with).

    Attributes
    ----------
    reduction : {"mean", "sum"}
        How the per-element losses are combined (see the module docstring).
    """

    name: ClassVar[str] = "loss"
    value_text: ClassVar[str] = ""
    gradient_text: ClassVar[str] = ""
    per_sample: ClassVar[bool] = False
    """One loss per row (the mean divides by N), not one per output (N·K)."""
    sklearn_name: ClassVar[str | None] = None
    torch_oracle: ClassVar[str] = ""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
        self.reduction = reduction

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        """Per-element loss :math:`\\ell` and :math:`\\partial \\ell / \\partial \\hat y`, shape ``(N, K)``."""
        raise NotImplementedError

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        """Return ``(value, grad)``: the reduced loss and :math:`\\partial L/\\partial \\hat y` ``(N, K)``."""
        per_element, grad = self.elementwise(y_pred, y_true)
        if sample_weight is not None:
            return self._weighted(per_element, grad, sample_weight)
        total = _total(per_element)  # unweighted, every batch: no namespace lookup
        if self.reduction == "sum":
            return total, grad
        n_out = per_element.shape[1] if per_element.ndim == 2 else 1
        scale = 1.0 / (per_element.shape[0] * n_out)
        grad *= scale
        return total * scale, grad

    def _weighted(
        self, per_element: Array, grad: Array, sample_weight: Array
    ) -> tuple[float, Array]:
        """The reduction with per-sample weights, broadcast along the outputs."""
        n_out = per_element.shape[1] if per_element.ndim == 2 else 1
        xp = namespace(per_element)
        w_column = xp.reshape(sample_weight, (-1, 1))
        value = _total(per_element * (w_column if per_element.ndim == 2 else sample_weight))
        grad = grad * w_column  # the gradient is always (N, K)
        if self.reduction == "mean":
            scale = 1.0 / (scalar(xp, xp.sum(sample_weight)) * n_out)
            value *= scale
            grad *= scale
        return value, grad

    def link(self, y_pred: Array) -> Array:
        """Map the network's raw output into target space (probabilities for logit losses)."""
        return y_pred

    def link_onnx(self, graph: Any, x: str) -> str:
        """The ONNX operators of :meth:`link` (see :meth:`chainrule.Layer.onnx`)."""
        return x

    def formula(self) -> tuple[str, str]:
        """``(L, ∂L/∂ŷ)`` as text in the lecture's notation, reduction included."""
        scale = ""
        if self.reduction == "mean":
            scale = " / N" if self.per_sample else " / (N·K)"
        return f"{self.value_text}{scale}", _scaled(self.gradient_text, scale)

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for model files."""
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class MSE(Loss):
    """Squared error, :math:`\\ell = (\\hat y - y)^2`, :math:`\\partial\\ell/\\partial\\hat y = 2(\\hat y - y)`.

    ``MSE()`` is the mean squared error the lecture prints; ``MSE(reduction="sum")`` with half
    the learning rate is the lecture's update (see the module docstring).
    """

    name = "mse"
    value_text = "Σ (ŷ − y)²"
    gradient_text = "2(ŷ − y)"
    sklearn_name = "squared_error"
    torch_oracle = "torch.nn.functional.mse_loss(z, y, reduction=loss.reduction)"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        diff = y_pred - y_true  # the lecture's mse_derivative: ŷ − y
        return diff * diff, 2 * diff


class HalfSquaredError(Loss):
    """Half the squared error, :math:`\\ell = \\tfrac12 (\\hat y - y)^2`, :math:`\\partial\\ell/\\partial\\hat y = \\hat y - y`.

    With the default mean reduction it is scikit-learn's ``squared_error`` (its ``loss_``
    for any number of outputs); :class:`HalfSumSquaredError` is the same loss summed.
    """

    name = "half_squared_error"
    value_text = "½ Σ (ŷ − y)²"
    gradient_text = "ŷ − y"
    sklearn_name = "squared_error"
    torch_oracle = "0.5 * torch.nn.functional.mse_loss(z, y, reduction=loss.reduction)"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        diff = y_pred - y_true  # the lecture's mse_derivative: ŷ − y
        return 0.5 * diff * diff, diff


class HalfSumSquaredError(HalfSquaredError):
    """Half the summed squared error, the loss whose gradient the lecture back-propagates.

    .. math::
        L = \\tfrac12 \\sum_{n,k} (\\hat y_{nk} - y_{nk})^2, \\qquad
        \\frac{\\partial L}{\\partial \\hat y} = \\hat y - y \\quad (N, K)

    The lecture's ``mse_derivative(y_true, y_pred) = y_pred - y_true``, summed over the batch
    by its matrix products, is exactly this gradient, and Matt Mazur's worked example uses
    :math:`E = \\sum \\tfrac12 (t - o)^2`. With it, :func:`chainrule.explain.explain_step` shows the lecture's
    own ``d_output`` and ``d_hidden`` at the lecture's learning rate 0.1 (``MSE(reduction="sum")``
    has twice this gradient and is used at half the rate).

    Parameters
    ----------
    reduction : {"sum", "mean"}
        ``"sum"`` (default) as above; ``"mean"`` divides value and gradient by :math:`N K`.
    """

    name = "half_sse"
    sklearn_name = None

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction)


class MAE(Loss):
    """Absolute error, :math:`\\ell = |\\hat y - y|`, :math:`\\partial\\ell/\\partial\\hat y = \\operatorname{sign}(\\hat y - y)`."""

    name = "mae"
    value_text = "Σ |ŷ − y|"
    gradient_text = "sign(ŷ − y)"
    sklearn_name = "absolute_error"
    torch_oracle = "torch.nn.functional.l1_loss(z, y, reduction=loss.reduction)"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        diff = y_pred - y_true
        return xp.abs(diff), xp.sign(diff)


class Huber(Loss):
    """Huber loss: quadratic near zero, linear beyond :math:`\\delta`.

    With :math:`r = \\hat y - y`:

    .. math::
        \\ell = \\begin{cases} \\tfrac12 r^2 & |r| \\le \\delta \\\\
                               \\delta (|r| - \\tfrac12 \\delta) & |r| > \\delta \\end{cases},
        \\qquad \\frac{\\partial \\ell}{\\partial \\hat y} = \\operatorname{clip}(r, -\\delta, \\delta)
    """

    name = "huber"
    sklearn_name = "huber"
    torch_oracle = (
        "torch.nn.functional.huber_loss(z, y, reduction=loss.reduction, delta=loss.delta)"
    )

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"Huber delta must be positive, got {delta!r}.")
        self.delta = float(delta)

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        r = y_pred - y_true
        a = xp.abs(r)
        d = self.delta
        value = xp.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        return value, xp.clip(r, -d, d)

    def formula(self) -> tuple[str, str]:
        d = f"{self.delta:g}"
        scale = " / (N·K)" if self.reduction == "mean" else ""
        return f"Σ huber_{d}(ŷ − y){scale}", f"clip(ŷ − y, −{d}, {d}){scale}"

    def config(self) -> dict[str, Any]:
        return {"delta": self.delta, "reduction": self.reduction}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for targets :math:`y \\in [0, 1]`, on probabilities or on logits.

    On probabilities :math:`p` (clipped to :math:`[\\epsilon, 1-\\epsilon]` so the log is finite):

    .. math::
        \\ell = -[y \\log p + (1 - y) \\log(1 - p)], \\qquad
        \\frac{\\partial \\ell}{\\partial p} = \\frac{p - y}{p (1 - p)}

    From logits :math:`z` (``from_logits=True``, stable for any :math:`|z|`):

    .. math::
        \\ell = \\max(z, 0) - z y + \\log(1 + e^{-|z|}), \\qquad
        \\frac{\\partial \\ell}{\\partial z} = \\sigma(z) - y

    With ``label_smoothing`` :math:`\\varepsilon` the targets are first pulled towards ½, as
    Keras' ``BinaryCrossentropy(label_smoothing=ε)`` does: :math:`y \\leftarrow y(1-\\varepsilon) + \\varepsilon/2`.
    """

    name = "binary_crossentropy"
    sklearn_name = "log_loss"
    torch_oracle = "(torch.nn.functional.binary_cross_entropy_with_logits if loss.from_logits else torch.nn.functional.binary_cross_entropy)(z, y, reduction=loss.reduction)"

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str = "mean",
        eps: float | None = None,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.eps = eps
        self.label_smoothing = float(label_smoothing)

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        if self.label_smoothing:
            y_true = y_true * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            z = y_pred
            # log(1 + eᶻ) = max(z, 0) + log(1 + e^{−|z|}): the stable softplus, which never
            # overflows (NumPy's logaddexp computes the same but is not vectorised: 2× slower).
            value = xp.log1p(xp.exp(-xp.abs(z)))
            value += xp.maximum(z, xp.zeros((), dtype=z.dtype))
            value -= z * y_true
            return value, sigmoid(z) - y_true
        eps = self.eps if self.eps is not None else float(xp.finfo(y_pred.dtype).eps)
        p = xp.clip(y_pred, eps, 1 - eps)
        value = -(y_true * xp.log(p) + (1 - y_true) * xp.log1p(-p))
        return value, (p - y_true) / (p * (1 - p))

    def link(self, y_pred: Array) -> Array:
        return sigmoid(y_pred) if self.from_logits else y_pred

    def link_onnx(self, graph: Any, x: str) -> str:
        return graph.op("Sigmoid", [x], "probability") if self.from_logits else x

    def formula(self) -> tuple[str, str]:
        scale = " / (N·K)" if self.reduction == "mean" else ""
        if self.from_logits:
            return f"Σ [max(ŷ, 0) − ŷ·y + log(1 + e^−|ŷ|)]{scale}", f"(σ(ŷ) − y){scale}"
        return f"−Σ [y log ŷ + (1 − y) log(1 − ŷ)]{scale}", f"(ŷ − y) / (ŷ(1 − ŷ)){scale}"

    def config(self) -> dict[str, Any]:
        return {
            "from_logits": self.from_logits,
            "reduction": self.reduction,
            "eps": self.eps,
            "label_smoothing": self.label_smoothing,
        }


def _log_softmax(xp: Any, z: Array) -> Array:
    """:math:`\\log \\operatorname{softmax}(z) = z - m - \\log\\sum_j e^{z_j - m}`, row-wise."""
    shifted = z - xp.max(z, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits, fused (log-sum-exp stable).

    For logits :math:`z` ``(N, K)`` and targets :math:`t` — class indices ``(N,)`` or one-hot /
    probability rows ``(N, K)``:

    .. math::
        \\ell_n = \\log \\sum_k e^{z_{nk}} - \\sum_k t_{nk} z_{nk}, \\qquad
        \\frac{\\partial \\ell_n}{\\partial z_{nk}} = \\operatorname{softmax}(z_n)_k - t_{nk}

    The network's last layer should be linear (no :class:`~chainrule.activations.Softmax`);
    :meth:`link` turns logits into probabilities. ``label_smoothing`` :math:`\\varepsilon` replaces
    :math:`t` by :math:`t (1 - \\varepsilon) + \\varepsilon / K`, as ``torch.nn.CrossEntropyLoss`` does.
    """

    name = "crossentropy"
    value_text = "Σₙ [log Σₖ e^ŷₙₖ − Σₖ yₙₖ ŷₙₖ]"
    gradient_text = "softmax(ŷ) − y"
    sklearn_name = "log_loss"
    torch_oracle = "torch.nn.functional.cross_entropy(z, y, reduction=loss.reduction)"
    per_sample = True

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = float(label_smoothing)

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        log_p = _log_softmax(xp, y_pred)
        probs = xp.exp(log_p)
        if y_true.ndim == 1:  # class indices
            classes = xp.arange(y_pred.shape[1], dtype=y_true.dtype)
            y_true = xp.astype(y_true[:, None] == classes[None, :], y_pred.dtype)
        if self.label_smoothing:  # t ← t(1 − ε) + ε/K
            y_true = y_true * (1 - self.label_smoothing) + self.label_smoothing / y_pred.shape[1]
        value = -xp.sum(y_true * log_p, axis=-1)  # ℓₙ = logsumexp(zₙ) − ⟨tₙ, zₙ⟩
        return value, probs - y_true  # ∂ℓ/∂z = softmax(z) − t

    def __call__(
        self, y_pred: Array, y_true: Array, sample_weight: Array | None = None
    ) -> tuple[float, Array]:
        if (
            type(y_pred) is np.ndarray
            and type(y_true) is np.ndarray
            and y_true.ndim == 1
            and y_true.dtype.kind in "iu"
            and sample_weight is None
        ):
            return self._from_indices(y_pred, y_true)
        # One loss per sample (per_sample is (N,)), so the mean divides by N, not N·K, as
        # PyTorch and Keras do.
        return super().__call__(y_pred, y_true, sample_weight)

    def _from_indices(self, z: np.ndarray, classes: np.ndarray) -> tuple[float, np.ndarray]:
        """The NumPy path for class indices: the same formulas without building one-hot rows.

        With :math:`s_n = z_n - \\max_k z_{nk}` and :math:`S_n = \\sum_k e^{s_{nk}}`:
        :math:`\\ell_n = \\log S_n - s_{n, t_n}` and
        :math:`\\partial \\ell_n / \\partial z_{nk} = e^{s_{nk}} / S_n - [k = t_n]`, each
        divided by :math:`N` for the mean, in one buffer. With smoothing the target row is
        :math:`(1-\\varepsilon)[k = t_n] + \\varepsilon/K`, so :math:`\\ell_n` loses
        :math:`\\tfrac{\\varepsilon}{K}\\sum_k s_{nk} - \\varepsilon s_{n,t_n}` more.
        """
        n, k = z.shape
        eps = self.label_smoothing
        rows = np.arange(n)
        shifted = z - z.max(axis=1, keepdims=True)  # s = z − max_k z   (N, K)
        target = shifted[rows, classes]  # s_{n,tₙ}            (N,)
        grad = np.exp(shifted)  # e^{s}
        total = np.add.reduce(grad, axis=1, keepdims=True)  # S       (N, 1)
        per_sample = np.log(total[:, 0]) - (1 - eps) * target  # ℓₙ
        scale = 1.0 if self.reduction == "sum" else 1.0 / n
        grad *= scale / total  # softmax(z) (· 1/N)
        grad[rows, classes] -= scale * (1 - eps)  # − t (· 1/N)
        if eps:  # the ε/K every class gets
            per_sample -= (eps / k) * np.add.reduce(shifted, axis=1)
            grad -= scale * eps / k
        return float(np.add.reduce(per_sample)) * scale, grad

    def link(self, y_pred: Array) -> Array:
        return namespace(y_pred).exp(_log_softmax(namespace(y_pred), y_pred))

    def link_onnx(self, graph: Any, x: str) -> str:
        return graph.op("Softmax", [x], "probabilities", axis=-1)

    def config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "label_smoothing": self.label_smoothing}


class PoissonNLL(Loss):
    """Poisson negative log-likelihood on the log of the rate (a log link), for counts :math:`y \\ge 0`.

    .. math::
        \\ell = e^{z} - y z, \\qquad \\frac{\\partial \\ell}{\\partial z} = e^{z} - y

    as PyTorch's ``poisson_nll_loss(log_input=True, full=False)``; :meth:`link` gives the rate
    :math:`e^z`.
    """

    name = "poisson"
    value_text = "Σ (e^ŷ − y·ŷ)"
    gradient_text = "e^ŷ − y"
    sklearn_name = "poisson"
    torch_oracle = "torch.nn.functional.poisson_nll_loss(z, y, log_input=True, full=False, reduction=loss.reduction)"

    def elementwise(self, y_pred: Array, y_true: Array) -> tuple[Array, Array]:
        xp = namespace(y_pred)
        rate = xp.exp(y_pred)
        return rate - y_true * y_pred, rate - y_true

    def link(self, y_pred: Array) -> Array:
        return namespace(y_pred).exp(y_pred)

    def link_onnx(self, graph: Any, x: str) -> str:
        return graph.op("Exp", [x], "rate")


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "squared_error": MSE,
    "half_sse": HalfSumSquaredError,
    "half_squared_error": HalfSquaredError,
    "mae": MAE,
    "absolute_error": MAE,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "crossentropy": CrossEntropy,
    "cross_entropy": CrossEntropy,
    "poisson": PoissonNLL,
}


def get(name: str | Loss, **kwargs: Any) -> Loss:
    """A loss by name (``"mse"``, ``"crossentropy"``…) or pass a :class:`Loss` through."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name.lower()](**kwargs)
    except (KeyError, AttributeError):
        raise ValueError(
            f"Unknown loss {name!r}; choose one of {', '.join(sorted(LOSSES))}."
        ) from None


def from_config(kind: str, config: dict[str, Any]) -> Loss:
    """Rebuild a loss from its class name and :meth:`Loss.config`."""
    classes = {cls.__name__: cls for cls in LOSSES.values()}
    if kind not in classes:
        raise ValueError(f"Unknown loss type {kind!r}.")
    return classes[kind](**config)
