"""``explain_step``: one forward pass, backward pass and update, every quantity recorded.

The lecture names the quantities of its 2-4-1 network and shows where each comes from::

    z1 = x·W1 + b1            h = σ(z1)            z2 = h·W2 + b2          ŷ = σ(z2)
    L  = loss(ŷ, y)           ∂L/∂ŷ
    d_output = ∂L/∂ŷ ⊙ σ′(z2)                       (σ′(z2) = ŷ(1 − ŷ))
    ∂L/∂W2 = hᵀ·d_output      ∂L/∂b2 = Σₙ d_output  ∂L/∂h = d_output·W2ᵀ
    d_hidden = ∂L/∂h ⊙ σ′(z1)                       (σ′(z1) = h(1 − h))
    ∂L/∂W1 = xᵀ·d_hidden      ∂L/∂b1 = Σₙ d_hidden
    W⁺ = W − η·∂L/∂W          (plain gradient descent; other optimizers: W⁺ = W + Δ)

:func:`explain_step` produces exactly these for any network, loss and optimizer, one short
function per stage: :func:`record_parameters`, the forward walk, :func:`record_loss`, the
backward walk (both in :mod:`chainrule.explain.walk`) and :func:`record_update`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from chainrule.backend import to_numpy
from chainrule.explain.notation import Notation, describe_layer, describe_loss
from chainrule.explain.trace import StepTrace
from chainrule.explain.walk import Walker
from chainrule.lecture import LEARNING_RATE, lecture_loss
from chainrule.network import losses as losses_module
from chainrule.network import optimizers as optimizers_module
from chainrule.network.containers import Container
from chainrule.network.layers import Dropout, Layer
from chainrule.network.losses import CrossEntropy, Loss
from chainrule.network.optimizers import AdamState, GradientTransformation, LearningRateState


def explain_step(
    network: Container,
    x: Any,
    y: Any,
    loss: Loss | str | None = None,
    optimizer: GradientTransformation | None = None,
    *,
    learning_rate: float = LEARNING_RATE,
    opt_state: Any = None,
) -> StepTrace:
    """Run one forward pass, backward pass and update, and record every quantity.

    The network's own layers compute everything (``forward`` as in training — BatchNorm on
    the batch's statistics — but with dropout off, then each layer's hand-derived
    ``backward``), so the trace shows what training computes. One sample alone runs in
    inference mode (a batch statistic needs two rows). The network is left as it was: its
    parameters are not updated, and its gradients and buffers (running statistics) are put
    back.

    Parameters
    ----------
    network : Sequential or other Container
        Any stack of layers; nested ``Sequential`` and ``Residual`` blocks are walked through.
    x : array, shape (d,) or (N, d)
        One sample or a small batch.
    y : array
        Targets: ``(K,)`` for one sample, ``(N,)`` or ``(N, K)``; class indices ``(N,)`` for
        :class:`~chainrule.network.losses.CrossEntropy`.
    loss : Loss or str, optional
        Default the lecture's, :func:`chainrule.lecture.lecture_loss`: ``½ Σ (ŷ − y)²``.
    optimizer : GradientTransformation, optional
        Default plain gradient descent, ``sgd(learning_rate)``:
        :math:`W^+ = W - \\eta\\,\\partial L/\\partial W`.
    learning_rate : float
        :math:`\\eta` of the default optimizer (the lecture's 0.1).
    opt_state : optional
        An optimizer state to continue from (copied, never modified), e.g. ``trainer.opt_state``.

    Returns
    -------
    StepTrace
        The quantities, looked up by symbol (``trace["d_hidden"]``) and rendered with
        :meth:`StepTrace.table`, :meth:`StepTrace.markdown` or :meth:`StepTrace.html`.

    Examples
    --------
    >>> from chainrule.explain import lecture_example
    >>> net, X, y = lecture_example()
    >>> trace = explain_step(net, X[:1], y[:1])
    >>> trace["d_output"].shape
    (1, 1)
    """
    if not isinstance(network, Container):
        raise TypeError(f"explain_step needs a Sequential network, got {type(network).__name__}.")
    loss = lecture_loss() if loss is None else losses_module.get(loss)
    x, y = prepare(network, loss, x, y)
    leaves = list(network.leaves())
    if not leaves:
        raise ValueError("The network has no layers to explain.")
    trace = StepTrace(architecture=[describe_layer(layer) for layer in network.layers])
    training = x.shape[0] >= 2
    walker = Walker(trace, Notation(leaves), training)
    saved_grads = [dict(layer.grads) for _, layer in leaves]
    saved_buffers = [dict(layer.buffers) for _, layer in leaves]
    try:
        record_parameters(walker, leaves)
        walker.add("forward", "x", "the input", x)
        out, _ = walker.forward(network, x, "x", "", is_output=True)
        grad, grad_sym = record_loss(walker, loss, out, y)
        walker.backward(network, grad, grad_sym, need_input=False)
        record_update(walker, network, leaves, optimizer, learning_rate, opt_state)
    finally:
        for (_, layer), grads, buffers in zip(leaves, saved_grads, saved_buffers, strict=True):
            layer.grads = grads
            layer.buffers.clear()
            layer.buffers.update(buffers)
    if any(isinstance(layer, Dropout) for _, layer in leaves):
        trace.notes.append("Dropout is switched off when explaining, so the step is deterministic.")
    if not training and any(layer.buffers for _, layer in leaves):
        trace.notes.append("One sample: layers with batch statistics ran in inference mode.")
    return trace


def record_parameters(walker: Walker, leaves: list[tuple[str, Layer]]) -> None:
    """Every parameter before the step: ``Wk``, ``bk`` for Dense layer ``k``, else full names."""
    for full, layer in leaves:
        for p, value in layer.params.items():
            note = " (frozen)" if p in layer.frozen else ""
            symbol = walker.notation.param(layer, full, p)
            walker.add("parameters", symbol, f"{full}.{p}{note}", value, layer, (f"{full}.{p}",))


def record_loss(walker: Walker, loss: Loss, out: Any, y: Any) -> tuple[Any, str]:
    """``y``, ``L``, the link's prediction when there is one, and ``∂L/∂ŷ`` (returned)."""
    value_formula, grad_formula = describe_loss(loss)
    walker.trace.loss_description = f"{type(loss).__name__}: L = {value_formula}"
    walker.add("loss", "y", "the target", y)
    value, grad = loss(out, y)
    walker.trace.loss_value = float(value)
    walker.add("loss", "L", value_formula, np.asarray(value))
    link = loss.link(out)
    if link is not out:
        walker.add("loss", "p", "link(ŷ): the prediction as a probability or rate", link)
    return grad, walker.add("loss", "∂L/∂ŷ", grad_formula, grad)


def record_update(
    walker: Walker,
    network: Container,
    leaves: list[tuple[str, Layer]],
    optimizer: GradientTransformation | None,
    learning_rate: float,
    opt_state: Any,
) -> None:
    """Apply the optimizer to copies of the parameters and record every ``θ⁺``."""
    trace = walker.trace
    params = {k: np.array(to_numpy(v), copy=True) for k, v in network.params.items()}
    trainable = {k: params[k] for k in trace.gradients}
    grads = {k: v.copy() for k, v in trace.gradients.items()}
    if optimizer is None:
        optimizer = optimizers_module.sgd(learning_rate)
        trace.optimizer_description = (
            f"gradient descent, W⁺ = W − η·∂L/∂W with η = {learning_rate:g}"
        )
        rule = "{s} − η·∂L/∂{s}"
    else:
        trace.optimizer_description = "the given optimizer: W⁺ = W + Δ (its step)"
        rule = "{s} + Δ{s}"
    state = optimizer.init(trainable) if opt_state is None else copy.deepcopy(opt_state)
    updates, new_state = optimizer.update(grads, state, trainable)
    optimizers_module.apply_updates(trainable, updates)
    trace.updated = params
    adam = _adam_part(optimizer.spec, new_state)
    if adam is not None:  # the rule written out: moments, bias corrections, the step
        rule = _record_adam(walker, leaves, adam, opt_state is not None)
    for full, layer in reversed(leaves):
        for p in layer.params:
            name, symbol = f"{full}.{p}", walker.notation.param(layer, full, p)
            frozen = p in layer.frozen
            formula = f"{symbol} (frozen: not updated)" if frozen else rule.format(s=symbol)
            walker.add("update", f"{symbol}⁺", formula, params[name], layer, (f"new {name}",))


def _adam_part(spec: Any, state: Any) -> tuple[dict[str, Any], Any, float] | None:
    """``(scale_by_adam's spec, its state after the step, η)`` in a chain's state, or None."""
    if not isinstance(spec, dict):
        return None
    specs = spec.get("transforms", [spec]) if spec.get("name") == "chain" else [spec]
    states = state if spec.get("name") == "chain" else (state,)
    found, lr = None, None
    for part, part_state in zip(specs, states, strict=False):
        if part.get("name") == "scale_by_adam" and isinstance(part_state, AdamState):
            found = (part, part_state)
        if isinstance(part_state, LearningRateState):
            lr = part_state.last
    if found is None or lr is None:
        return None
    return found[0], found[1], float(lr)


def _record_adam(
    walker: Walker,
    leaves: list[tuple[str, Layer]],
    adam: tuple[dict[str, Any], AdamState, float],
    continued: bool,
) -> str:
    r"""Record Adam's new moments ``m``, ``v`` per parameter; describe the rule; return θ⁺'s.

    The moments are the optimizer state after this step (from the model file's state when
    it carries one, else from zero); the description gives :math:`t`, the bias corrections
    and where :math:`\epsilon` sits (PyTorch's or scikit-learn's rule).
    """
    spec, state, lr = adam
    b1, b2, eps, t = spec["b1"], spec["b2"], spec["eps"], state.count
    for full, layer in leaves:
        for p in layer.params:
            name = f"{full}.{p}"
            if name not in state.mu:
                continue
            s = walker.notation.param(layer, full, p)
            walker.add("update", f"m_{s}", f"β₁·m_{s} + (1 − β₁)·∂L/∂{s}", state.mu[name], layer)
            walker.add("update", f"v_{s}", f"β₂·v_{s} + (1 − β₂)·(∂L/∂{s})²", state.nu[name], layer)
    c1, c2 = 1 - b1**t, 1 - b2**t
    start = "continuing the model file's optimizer state" if continued else "from zero moments"
    if spec.get("eps_placement") == "sklearn":
        step = "W⁺ = W − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε)  (scikit-learn's Adam)"
        rule = "{s} − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m_{s}/(√v_{s} + ε)"
    else:
        step = "W⁺ = W − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)  (torch.optim.Adam)"
        rule = "{s} − η·m̂_{s}/(√v̂_{s} + ε)"
    walker.trace.optimizer_description = (
        f"Adam, {start}: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², {step}; "
        f"η = {lr:g}, β₁ = {b1:g}, β₂ = {b2:g}, ε = {eps:g}, step t = {t} "
        f"(1 − β₁ᵗ = {c1:.6g}, 1 − β₂ᵗ = {c2:.6g})"
    )
    return rule


def _as_batch(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x) if isinstance(x, np.ndarray | list | tuple | float | int) else to_numpy(x)
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)  # labels such as the lecture's x0 + x1 > 0
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"The {name} must be numbers, got values of type {arr.dtype}.")
    return arr


def prepare(network: Container, loss: Loss, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``x`` as ``(N, d)`` in the network's dtype and ``y`` as the loss expects it."""
    x = _as_batch(x, "input")
    if x.ndim == 1:
        x = x[None, :]  # one sample
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(
            f"The input must be one sample (d,) or a batch (N, d); got shape {x.shape}."
        )
    d_in = network.in_features
    if d_in is not None and x.shape[1] != d_in:
        raise ValueError(
            f"The network takes {d_in} input features but the input has {x.shape[1]}; "
            f"give {d_in} numbers per sample."
        )
    x = x.astype(np.dtype(network.dtype))
    n, d_out = x.shape[0], network.output_dim(x.shape[1])
    y = _as_batch(y, "target")
    if isinstance(loss, CrossEntropy) and (y.ndim == 1 or (y.ndim == 0 and n == 1)):
        return x, _class_indices(y, n, d_out)
    if y.ndim <= 1:
        y = y.reshape(n, -1) if y.size == n * d_out else y.reshape(-1, 1)
    if y.shape != (n, d_out):
        raise ValueError(
            f"The target must have shape ({n}, {d_out}) for {n} sample(s) and {d_out} "
            f"output(s); got {y.size} number(s)."
        )
    return x, y.astype(x.dtype)


def _class_indices(y: np.ndarray, n: int, d_out: int) -> np.ndarray:
    y = y.reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"Give one class index per sample: {n} targets, got {y.shape[0]}.")
    if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y >= d_out):
        raise ValueError(
            f"Class-index targets must be integers from 0 to {d_out - 1}; got {y.tolist()}."
        )
    return y.astype(np.int64)


__all__ = ["explain_step", "prepare", "record_loss", "record_parameters", "record_update"]
