"""Regularization and stability as optimizer transforms: L1, gradient clipping, a max-norm constraint.

Each is a :class:`~chainrule.optimizers.GradientTransformation` to :func:`~chainrule.optimizers.chain`
with an optimizer; :func:`regularize` puts them where PyTorch's training loop has them:

.. code-block:: text

    g = ∂(L + λ₁‖θ‖₁)/∂θ           add_l1                  (the penalty is part of the loss)
    g ← clip_grad_norm_(g, c)      clip_by_global_norm     (after backward, before the step)
    g ← clip_grad_value_(g, v)     clip
    θ ← optimizer.step(g)          the optimizer (its own L2 weight_decay included)
    W ← renorm(W, c)               max_norm                (a constraint on the result)

``add_l1``, ``clip_by_global_norm`` and ``clip`` transform the gradient. ``max_norm`` constrains
the *parameters after* the update, which an optax-style transform cannot set directly: it
returns as update the difference between the constrained new value and the old one,
:math:`u' = \\Pi(\\theta + u) - \\theta`, so :func:`~chainrule.optimizers.apply_updates` lands
on :math:`\\Pi(\\theta + u)` (up to one rounding of the addition). It must therefore come last,
after the learning rate has scaled the update.
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule.backend import Array, namespace
from chainrule.network.optimizers import (
    EmptyState,
    GradientTransformation,
    Params,
    State,
    chain,
    with_spec,
)

RENORM_EPS = 1e-7
"""Added to the norm in the max-norm rescaling, as ``torch.renorm`` (and Keras' ``MaxNorm``) do."""


def _empty(params: Params) -> EmptyState:
    return EmptyState()


def add_l1(l1: float) -> GradientTransformation:
    """L1 penalty :math:`\\lambda_1 \\sum |\\theta|`: :math:`u \\leftarrow u + \\lambda_1 \\operatorname{sign}(\\theta)`.

    :math:`\\operatorname{sign}(0) = 0`, the subgradient PyTorch's ``abs`` back-propagates, so a
    weight that is exactly zero stays put. (Beside it, L2 is the optimizers' ``weight_decay``.)

    Parameters
    ----------
    l1 : float
        :math:`\\lambda_1 \\ge 0`.
    """
    if l1 < 0:
        raise ValueError(f"l1 must be non-negative, got {l1!r}.")

    def update(updates: Params, state: EmptyState, params: Params | None) -> tuple[Params, State]:
        if params is None:
            raise ValueError("add_l1 needs the parameters.")
        for k, u in updates.items():
            u += l1 * namespace(u).sign(params[k])  # ∂(λ₁|θ|)/∂θ = λ₁ sign(θ)
        return updates, state

    return with_spec(GradientTransformation(_empty, update, elementwise=True), "add_l1", l1=l1)


def is_weight(name: str) -> bool:
    """Whether parameter ``name`` is a weight matrix (``"dense1.W"``), not a bias or a scale."""
    return name.rsplit(".", 1)[-1] == "W"


def weights_only(transform: GradientTransformation) -> GradientTransformation:
    """``transform`` applied to the weight matrices alone (names ending in ``.W``).

    ``chain(weights_only(add_l1(1e-4)), sgd(0.1))`` penalises :math:`\\lambda_1 \\sum |W|`
    and leaves the biases alone, as scikit-learn's ``alpha`` and TensorFlow Playground do.
    It selects by name, so it is not ``elementwise``: a chain with it updates each named array
    by itself.
    """

    def update(updates: Params, state: State, params: Params | None) -> tuple[Params, State]:
        keys = [k for k in updates if is_weight(k)]
        sub_params = None if params is None else {k: params[k] for k in keys}
        changed, state = transform.update({k: updates[k] for k in keys}, state, sub_params)
        return {**updates, **changed}, state

    return GradientTransformation(transform.init, update)


def global_norm(updates: Params) -> float:
    """:math:`\\|g\\| = \\sqrt{\\sum_k \\|g_k\\|^2}` over every array, as one vector."""
    total = 0.0
    for u in updates.values():
        total += float(namespace(u).sum(u * u))
    return total**0.5


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale the whole gradient when its global norm exceeds ``max_norm`` (``clip_grad_norm_``).

    .. math::
        g \\leftarrow g \\cdot \\min\\Big(1, \\frac{c}{\\|g\\| + 10^{-6}}\\Big), \\qquad
        \\|g\\| = \\sqrt{\\textstyle\\sum_k \\|g_k\\|^2}

    One factor for all arrays, so the direction of the step is kept; the :math:`10^{-6}` is
    PyTorch's.

    Parameters
    ----------
    max_norm : float
        :math:`c > 0`.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}.")

    def update(updates: Params, state: EmptyState, params: Params | None) -> tuple[Params, State]:
        factor = max_norm / (global_norm(updates) + 1e-6)
        if factor < 1.0:  # (NaN compares False: a non-finite gradient passes through unchanged)
            for u in updates.values():
                u *= factor
        return updates, state

    return with_spec(
        GradientTransformation(_empty, update), "clip_by_global_norm", max_norm=max_norm
    )


def clip(max_value: float) -> GradientTransformation:
    """Clip every gradient element to :math:`[-v, v]` (``torch.nn.utils.clip_grad_value_``).

    .. math:: g \\leftarrow \\min(\\max(g, -v), v)

    Parameters
    ----------
    max_value : float
        :math:`v > 0`.
    """
    if not max_value > 0:
        raise ValueError(f"max_value must be positive, got {max_value!r}.")

    def update(updates: Params, state: EmptyState, params: Params | None) -> tuple[Params, State]:
        return {k: namespace(u).clip(u, -max_value, max_value) for k, u in updates.items()}, state

    return with_spec(
        GradientTransformation(_empty, update, elementwise=True), "clip", max_value=max_value
    )


def _is_matrix(name: str, value: Array) -> bool:
    return value.ndim == 2


def max_norm(
    max_value: float, axis: int = 0, where: Callable[[str, Array], bool] | None = None
) -> GradientTransformation:
    """Max-norm constraint: after the step, rescale each unit's weight vector to norm at most ``c``.

    For a ``Dense`` weight :math:`W` ``(in, out)``, ``axis=0`` takes the norm of each column,
    the incoming weights of one unit (Keras' ``MaxNorm(c, axis=0)``), and with
    :math:`W' = \\theta + u` the update is replaced by

    .. math::
        u' = W' \\odot f - \\theta, \\qquad
        f_j = \\begin{cases} c / (\\|W'_{:,j}\\| + 10^{-7}) & \\|W'_{:,j}\\| > c \\\\ 1 & \\text{else}
              \\end{cases}

    which is ``torch.renorm(W', 2, 1, c)``. (Keras multiplies *every* column by
    :math:`\\min(\\|W'_j\\|, c)/(\\|W'_j\\| + 10^{-7})`, shrinking the short ones by a relative
    :math:`10^{-7}` too; this leaves them alone.) Put it **last** in a chain: it needs the final
    update. See the module docstring.

    Parameters
    ----------
    max_value : float
        :math:`c > 0`.
    axis : int
        Axis the norm is taken over.
    where : callable ``(name, array) -> bool``, optional
        Which parameters are constrained; default every 2-D one (weights, not biases).
    """
    if not max_value > 0:
        raise ValueError(f"max_value must be positive, got {max_value!r}.")
    select = where or _is_matrix

    def update(updates: Params, state: EmptyState, params: Params | None) -> tuple[Params, State]:
        if params is None:
            raise ValueError("max_norm needs the parameters.")
        for k, u in updates.items():
            theta = params[k]
            if not select(k, theta):
                continue
            xp = namespace(u)
            new = theta + u  # W' = θ + u
            norms = xp.sqrt(xp.sum(new * new, axis=axis, keepdims=True))
            ones = xp.ones_like(norms)
            factor = xp.where(norms > max_value, max_value / (norms + RENORM_EPS), ones)
            updates[k] = new * factor - theta  # u' = Π(W') − θ
        return updates, state

    transform = GradientTransformation(_empty, update)
    if where is not None:  # a selection function is code: no JSON recipe
        return transform
    return with_spec(transform, "max_norm", max_value=max_value, axis=axis)


def regularize(
    optimizer: GradientTransformation,
    *,
    l1: float = 0.0,
    clip_grad_norm: float | None = None,
    clip_value: float | None = None,
    max_weight_norm: float | None = None,
) -> GradientTransformation:
    """``optimizer`` with L1, clipping and a max-norm constraint in PyTorch's order (module docstring).

    Parameters
    ----------
    optimizer : GradientTransformation
        Any optimizer (``sgd``, ``adam``…), with its own ``weight_decay`` if wanted.
    l1 : float
        L1 penalty :math:`\\lambda_1` (:func:`add_l1`); 0 for none.
    clip_grad_norm : float, optional
        Global-norm clipping threshold (:func:`clip_by_global_norm`).
    clip_value : float, optional
        Element-wise clipping threshold (:func:`clip`).
    max_weight_norm : float, optional
        Max-norm constraint on every weight matrix's columns (:func:`max_norm`).
    """
    before = [add_l1(l1)] if l1 else []
    if clip_grad_norm is not None:
        before.append(clip_by_global_norm(clip_grad_norm))
    if clip_value is not None:
        before.append(clip(clip_value))
    after = [max_norm(max_weight_norm)] if max_weight_norm is not None else []
    if not before and not after:
        return optimizer
    return chain(*before, optimizer, *after)


TRANSFORMS: dict[str, Callable[..., GradientTransformation]] = {
    "l1": add_l1,
    "clip_by_global_norm": clip_by_global_norm,
    "clip": clip,
    "max_norm": max_norm,
}
"""The transforms by name."""
