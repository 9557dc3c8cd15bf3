"""Optimizers as ``init(params) -> state`` / ``update(grads, state, params) -> (updates, state)``.

As in optax, an optimizer holds no state of its own: the state lives outside, in the training
loop, so it can be inspected, saved or reset. Optimizers are recipes chained from small
transformations, each a :class:`GradientTransformation`; the final ``updates`` are *added* to
the parameters by :func:`apply_updates`.

``params``, ``grads`` and ``updates`` are dicts of arrays keyed by parameter name. For speed,
``update`` works in place: it may overwrite ``grads`` (the loop recomputes them every batch)
and updates the state's arrays in place, returning the state to keep.

=========== ===================================================================================
recipe      update rule (:math:`g` gradient, :math:`\\eta_t` learning rate at step :math:`t`)
=========== ===================================================================================
``sgd``     :math:`b \\leftarrow \\mu b + g`;  :math:`\\theta \\leftarrow \\theta - \\eta (g + \\mu b)`
            (Nesterov) or :math:`\\theta - \\eta b`;  :math:`\\mu = 0`: :math:`\\theta - \\eta g`
``adam``    :math:`m \\leftarrow \\beta_1 m + (1-\\beta_1) g`,
            :math:`v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2`,
            :math:`\\theta \\leftarrow \\theta - \\eta\\,\\hat m / (\\sqrt{\\hat v} + \\epsilon)`
            with :math:`\\hat m = m/(1-\\beta_1^t)`, :math:`\\hat v = v/(1-\\beta_2^t)`
            (``eps_placement="sklearn"``: scikit-learn's :math:`\\epsilon` on :math:`\\sqrt v`)
``adamw``   Adam plus decoupled decay: :math:`\\theta \\leftarrow \\theta - \\eta(\\hat m/(\\sqrt{\\hat v}+\\epsilon) + \\lambda \\theta)`
``rmsprop`` :math:`v \\leftarrow \\alpha v + (1-\\alpha) g^2`, :math:`\\theta \\leftarrow \\theta - \\eta\\, g / (\\sqrt v + \\epsilon)`
=========== ===================================================================================

L2 weight decay (``weight_decay`` in ``sgd``, ``adam``, ``rmsprop``) adds :math:`\\lambda\\theta` to
the gradient before anything else, as PyTorch does. Every rule matches ``torch.optim``.

Learning-rate schedules are functions of the update step :math:`t = 0, 1, 2, \\ldots`: any
callable ``schedule(t) -> float`` is accepted wherever a rate is. :math:`t` counts optimizer
updates (mini-batches), not epochs; wrap a per-epoch schedule with :func:`per_epoch`.
Reduce-on-plateau depends on the validation loss, not on :math:`t`, so it is a callback:
:class:`chainrule.callbacks.ReduceLROnPlateau`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from chainrule.backend import Array, namespace

Schedule = Callable[[int], float]


def constant(learning_rate: float) -> Schedule:
    """:math:`\\eta_t = \\eta_0`."""
    lr = float(learning_rate)
    return lambda t: lr


def step_decay(learning_rate: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """:math:`\\eta_t = \\eta_0\\,\\gamma^{\\lfloor t / s \\rfloor}` (PyTorch's ``StepLR``)."""
    if step_size < 1:
        raise ValueError("step_size must be at least 1.")
    return lambda t: learning_rate * gamma ** (t // step_size)


def exponential_decay(learning_rate: float, gamma: float) -> Schedule:
    """:math:`\\eta_t = \\eta_0\\,\\gamma^{t}` (PyTorch's ``ExponentialLR``)."""
    return lambda t: learning_rate * gamma**t


def cosine_decay(
    learning_rate: float, decay_steps: int, min_learning_rate: float = 0.0
) -> Schedule:
    """Cosine annealing to :math:`\\eta_{min}` over ``decay_steps``, then constant.

    .. math:: \\eta_t = \\eta_{min} + \\tfrac12 (\\eta_0 - \\eta_{min})
              \\big(1 + \\cos(\\pi \\min(t, T) / T)\\big)
    """
    if decay_steps < 1:
        raise ValueError("decay_steps must be at least 1.")

    def schedule(t: int) -> float:
        progress = min(t, decay_steps) / decay_steps
        return min_learning_rate + 0.5 * (learning_rate - min_learning_rate) * (
            1 + math.cos(math.pi * progress)
        )

    return schedule


def inverse_scaling(learning_rate: float, power_t: float = 0.5) -> Schedule:
    """:math:`\\eta_t = \\eta_0 / (t + 1)^{p}` (scikit-learn's ``invscaling``)."""
    return lambda t: learning_rate / (t + 1) ** power_t


def per_epoch(schedule: Schedule, steps_per_epoch: int) -> Schedule:
    """Evaluate ``schedule`` at the epoch number :math:`\\lfloor t / \\text{steps} \\rfloor`."""
    return lambda t: schedule(t // steps_per_epoch)


def linear_warmup(
    schedule: float | Schedule, warmup_steps: int, start_factor: float = 1.0 / 3.0
) -> Schedule:
    """Ramp linearly up to ``schedule``'s first rate over ``warmup_steps``, then run ``schedule``.

    With :math:`T` warm-up steps, start factor :math:`f_0` and :math:`\\eta_0` the schedule's
    rate at its step 0:

    .. math::
        \\eta_t = \\begin{cases}
            \\eta_0 \\big(f_0 + (1 - f_0)\\, t / T\\big) & t < T \\\\
            \\text{schedule}(t - T) & t \\ge T
        \\end{cases}

    which is ``SequentialLR([LinearLR(start_factor=f₀, total_iters=T), main], milestones=[T])``
    in PyTorch (whose ``LinearLR`` also starts at :math:`f_0 = 1/3` by default): the main
    schedule starts its own count when the warm-up ends.

    Parameters
    ----------
    schedule : float or schedule
        The rate, or schedule, to warm up into.
    warmup_steps : int
        :math:`T \\ge 1` (optimizer updates, as every schedule counts them).
    start_factor : float
        :math:`f_0 \\in (0, 1]`.
    """
    main = as_schedule(schedule)
    if warmup_steps < 1:
        raise ValueError("warmup_steps must be at least 1.")
    if not 0.0 < start_factor <= 1.0:
        raise ValueError(f"start_factor must be in (0, 1], got {start_factor!r}.")
    peak = float(main(0))

    def warm(t: int) -> float:
        if t < warmup_steps:
            return peak * (start_factor + (1.0 - start_factor) * t / warmup_steps)
        return main(t - warmup_steps)

    return warm


def as_schedule(learning_rate: float | Schedule) -> Schedule:
    """A number becomes :func:`constant`; a callable is already a schedule."""
    if callable(learning_rate):
        return learning_rate
    if not (isinstance(learning_rate, int | float) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}.")
    return constant(float(learning_rate))


Params = dict[str, Array]
State = Any


class GradientTransformation(NamedTuple):
    """A pair of pure-looking functions; the state they pass around is the caller's to keep.

    ``spec`` is the recipe as JSON (``{"name": "scale_by_adam", "b1": 0.9, ...}``, a chain's
    ``{"name": "chain", "transforms": [...]}``) so a checkpoint can rebuild the same
    transformation (:func:`chainrule.network.optimizer_state.from_spec`); ``None`` when it
    holds code that JSON cannot carry (a learning-rate schedule, a custom transform).
    A transformation of your own is applied per named array unless it says ``elementwise``.
    """

    init: Callable[[Params], State]
    update: Callable[[Params, State, Params | None], tuple[Params, State]]
    spec: dict[str, Any] | None = None
    elementwise: bool = False
    """Treats every element of every array alike and by itself, whatever its parameter's name
    or shape, so it could run on all parameters at once, laid end to end in one vector."""

    def step(self, params: Params, grads: Params, state: State) -> State:
        """One update in place, :math:`\\theta \\leftarrow \\theta + u` with
        :math:`(u, s') = \\text{update}(g, s, \\theta)`; returns the new state :math:`s'`.

        The one place a trainer changes parameters: ``grads`` may be overwritten, and
        ``params``' arrays are updated where they stand.
        """
        updates, state = self.update(grads, state, params)
        apply_updates(params, updates)
        return state


def with_spec(transform: GradientTransformation, name: str, **args: Any) -> GradientTransformation:
    """``transform`` labelled with its JSON recipe ``{"name": name, **args}``."""
    return transform._replace(spec={"name": name, **args})


Optimizer = GradientTransformation


class EmptyState(NamedTuple):
    """State of a transformation that keeps none."""


class TraceState(NamedTuple):
    """Momentum buffers :math:`b` by parameter name."""

    momentum: Params


class AdamState(NamedTuple):
    """Step count :math:`t` and the moment estimates :math:`m` and :math:`v`."""

    count: int
    mu: Params
    nu: Params


class RmsState(NamedTuple):
    """Running mean of :math:`g^2` (and of :math:`g` when centered)."""

    nu: Params
    mean_grad: Params


class LearningRateState(NamedTuple):
    """Step count :math:`t`, a multiplier set by callbacks, and the rate used last."""

    count: int
    scale: float
    last: float


def _zeros_like(params: Params) -> Params:
    out = {}
    for k, v in params.items():
        xp = namespace(v)
        out[k] = xp.zeros(v.shape, dtype=v.dtype)
    return out


def add_decayed_weights(weight_decay: float) -> GradientTransformation:
    """:math:`u \\leftarrow u + \\lambda \\theta` (L2 regularisation, or AdamW's decoupled decay)."""

    def init(params: Params) -> EmptyState:
        return EmptyState()

    def update(updates: Params, state: EmptyState, params: Params | None) -> tuple[Params, State]:
        if params is None:
            raise ValueError("add_decayed_weights needs the parameters.")
        for k, u in updates.items():
            u += weight_decay * params[k]
        return updates, state

    return with_spec(
        GradientTransformation(init, update, elementwise=True),
        "add_decayed_weights",
        weight_decay=weight_decay,
    )


def trace(momentum: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum, :math:`b \\leftarrow \\mu b + u`; output :math:`b`, or :math:`u + \\mu b` for Nesterov."""

    def init(params: Params) -> TraceState:
        return TraceState(_zeros_like(params))

    def update(updates: Params, state: TraceState, params: Params | None) -> tuple[Params, State]:
        out = {}
        for k, u in updates.items():
            b = state.momentum[k]
            b *= momentum
            b += u  # b ← μ b + g
            if nesterov:
                u += momentum * b  # g + μ b
                out[k] = u
            else:
                out[k] = b + 0  # a copy: the update must not alias the buffer
        return out, state

    spec = {"momentum": momentum, "nesterov": nesterov}
    return with_spec(GradientTransformation(init, update, elementwise=True), "trace", **spec)


EPS_PLACEMENTS = ("torch", "sklearn")


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_placement: str = "torch"
) -> GradientTransformation:
    """Adam's direction (Kingma & Ba, 2015), with :math:`\\epsilon` where PyTorch or scikit-learn puts it.

    With :math:`m \\leftarrow \\beta_1 m + (1-\\beta_1) g` and
    :math:`v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2` (same shapes as :math:`g`):

    - ``eps_placement="torch"`` (``torch.optim.Adam``): :math:`\\hat m / (\\sqrt{\\hat v} + \\epsilon)`
      with :math:`\\hat m = m/(1-\\beta_1^t)`, :math:`\\hat v = v/(1-\\beta_2^t)`;
    - ``eps_placement="sklearn"`` (scikit-learn's ``AdamOptimizer``, the paper's "efficient
      version"): :math:`\\frac{\\sqrt{1-\\beta_2^t}}{1-\\beta_1^t}\\, m / (\\sqrt{v} + \\epsilon)`,
      the bias corrections folded into the rate and :math:`\\epsilon` added to the uncorrected
      :math:`\\sqrt v`. The two differ only through :math:`\\epsilon`: scikit-learn's is in
      effect :math:`\\epsilon\\,/\\sqrt{1-\\beta_2^t}` (32 times PyTorch's at the first step).
    """
    if eps_placement not in EPS_PLACEMENTS:
        raise ValueError(
            f"eps_placement must be one of {', '.join(EPS_PLACEMENTS)}, got {eps_placement!r}."
        )
    sklearn_rule = eps_placement == "sklearn"

    def init(params: Params) -> AdamState:
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def update(updates: Params, state: AdamState, params: Params | None) -> tuple[Params, State]:
        t = state.count + 1
        bias1, bias2 = 1 - b1**t, 1 - b2**t
        folded = math.sqrt(bias2) / bias1  # scikit-learn's rate factor √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        for k, g in updates.items():
            xp = namespace(g)
            m, v = state.mu[k], state.nu[k]
            m *= b1
            m += (1 - b1) * g  # m ← β₁ m + (1 − β₁) g
            v *= b2
            v += (1 - b2) * (g * g)  # v ← β₂ v + (1 − β₂) g²
            if sklearn_rule:
                updates[k] = folded * m / (xp.sqrt(v) + eps)  # ε on the uncorrected √v
            else:
                updates[k] = (m / bias1) / (xp.sqrt(v / bias2) + eps)  # m̂ / (√v̂ + ε)
        return updates, state._replace(count=t)

    spec: dict[str, Any] = {"b1": b1, "b2": b2, "eps": eps}
    if sklearn_rule:  # only then: recipes saved before the option existed read the same
        spec["eps_placement"] = eps_placement
    return GradientTransformation(init, update, {"name": "scale_by_adam", **spec}, elementwise=True)


def scale_by_rms(
    alpha: float = 0.99, eps: float = 1e-8, centered: bool = False
) -> GradientTransformation:
    """RMSprop's direction :math:`g / (\\sqrt{v} + \\epsilon)`; centered: :math:`\\sqrt{v - \\bar g^2}`."""

    def init(params: Params) -> RmsState:
        return RmsState(_zeros_like(params), _zeros_like(params) if centered else {})

    def update(updates: Params, state: RmsState, params: Params | None) -> tuple[Params, State]:
        for k, g in updates.items():
            xp = namespace(g)
            v = state.nu[k]
            v *= alpha
            v += (1 - alpha) * (g * g)  # v ← α v + (1 − α) g²
            if centered:
                mg = state.mean_grad[k]
                mg *= alpha
                mg += (1 - alpha) * g
                updates[k] = g / (xp.sqrt(v - mg * mg) + eps)
            else:
                updates[k] = g / (xp.sqrt(v) + eps)
        return updates, state

    spec = {"alpha": alpha, "eps": eps, "centered": centered}
    return with_spec(GradientTransformation(init, update, elementwise=True), "scale_by_rms", **spec)


def scale_by_learning_rate(learning_rate: float | Schedule) -> GradientTransformation:
    """:math:`u \\leftarrow -\\eta_t \\cdot s \\cdot u`, with :math:`s` a multiplier callbacks may change."""
    schedule = as_schedule(learning_rate)

    def init(params: Params) -> LearningRateState:
        return LearningRateState(0, 1.0, float(schedule(0)))

    def update(
        updates: Params, state: LearningRateState, params: Params | None
    ) -> tuple[Params, State]:
        lr = schedule(state.count) * state.scale
        step = -lr
        for u in updates.values():
            u *= step  # in place: u is ours (a fresh gradient or a transformation's output)
        return updates, LearningRateState(state.count + 1, state.scale, lr)

    spec = None  # a schedule is code: no JSON recipe
    if not callable(learning_rate):
        spec = {"name": "scale_by_learning_rate", "learning_rate": float(learning_rate)}
    return GradientTransformation(init, update, spec, elementwise=True)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations in order; the state is the tuple of their states."""

    def init(params: Params) -> tuple[State, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(updates: Params, state: tuple, params: Params | None) -> tuple[Params, State]:
        new_state = []
        for t, s in zip(transforms, state, strict=True):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    def update_one(updates: Params, state: tuple, params: Params | None) -> tuple[Params, State]:
        updates, s = transforms[0].update(updates, state[0], params)
        return updates, (s,)

    specs = [t.spec for t in transforms]
    return GradientTransformation(
        init,
        update_one if len(transforms) == 1 else update,  # plain SGD: no loop per step
        None if any(spec is None for spec in specs) else {"name": "chain", "transforms": specs},
        elementwise=all(t.elementwise for t in transforms),
    )


def apply_updates(params: Params, updates: Params) -> None:
    """:math:`\\theta \\leftarrow \\theta + u`, in place, for every parameter that has an update."""
    for k, u in updates.items():
        params[k] += u


def _check_nonneg(**values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}.")


def sgd(
    learning_rate: float | Schedule = 0.01,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> GradientTransformation:
    """Stochastic gradient descent, the lecture's ``W -= learning_rate * grad`` when ``momentum=0``.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\\eta` (the lecture: 0.1 with its summed gradient; see :mod:`chainrule.losses`).
    momentum : float
        :math:`\\mu`; buffer :math:`b \\leftarrow \\mu b + g`, step :math:`-\\eta b`.
    nesterov : bool
        Step :math:`-\\eta(g + \\mu b)` instead.
    weight_decay : float
        L2 penalty :math:`\\lambda`: the gradient becomes :math:`g + \\lambda\\theta`.
    """
    _check_nonneg(momentum=momentum, weight_decay=weight_decay)
    if nesterov and momentum <= 0:
        raise ValueError("Nesterov momentum needs momentum > 0.")
    parts = []
    if weight_decay:
        parts.append(add_decayed_weights(weight_decay))
    if momentum:
        parts.append(trace(momentum, nesterov))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


def adam(
    learning_rate: float | Schedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    eps_placement: str = "torch",
) -> GradientTransformation:
    """Adam with optional L2 weight decay added to the gradient (``torch.optim.Adam``).

    ``eps_placement="sklearn"`` puts :math:`\\epsilon` where scikit-learn's ``MLPClassifier``
    does (:func:`scale_by_adam`); chainrule's ``MLPClassifier`` / ``MLPRegressor`` use that,
    the Trainer's ``"adam"`` keeps PyTorch's rule.
    """
    _check_nonneg(weight_decay=weight_decay, eps=eps)
    parts = [add_decayed_weights(weight_decay)] if weight_decay else []
    parts += [scale_by_adam(b1, b2, eps, eps_placement), scale_by_learning_rate(learning_rate)]
    return chain(*parts)


def adamw(
    learning_rate: float | Schedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.01,
) -> GradientTransformation:
    """Adam with decoupled weight decay (Loshchilov & Hutter; ``torch.optim.AdamW``)."""
    _check_nonneg(weight_decay=weight_decay, eps=eps)
    return chain(
        scale_by_adam(b1, b2, eps),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate: float | Schedule = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
    weight_decay: float = 0.0,
) -> GradientTransformation:
    """RMSprop (``torch.optim.RMSprop``), with optional momentum, centering and L2 decay."""
    _check_nonneg(momentum=momentum, weight_decay=weight_decay, eps=eps)
    parts = [add_decayed_weights(weight_decay)] if weight_decay else []
    parts.append(scale_by_rms(alpha, eps, centered))
    if momentum:
        parts.append(trace(momentum))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


OPTIMIZERS: dict[str, Callable[..., GradientTransformation]] = {
    "sgd": sgd,
    "adam": adam,
    "adamw": adamw,
    "rmsprop": rmsprop,
}


def get(name: str | GradientTransformation, **kwargs: Any) -> GradientTransformation:
    """An optimizer by name with keyword hyperparameters, or pass one through."""
    if isinstance(name, GradientTransformation):
        return name
    try:
        factory = OPTIMIZERS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"Unknown optimizer {name!r}; choose one of {', '.join(sorted(OPTIMIZERS))}."
        ) from None
    return factory(**kwargs)


def _map_lr_states(state: State, fn: Callable[[LearningRateState], LearningRateState]) -> State:
    if isinstance(state, LearningRateState):
        return fn(state)
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        return tuple(_map_lr_states(s, fn) for s in state)
    return state


def scale_learning_rate(state: State, factor: float) -> State:
    """Multiply the learning rate that ``state`` will use from now on by ``factor``."""
    return _map_lr_states(state, lambda s: s._replace(scale=s.scale * factor))


def current_learning_rate(state: State) -> float | None:
    """The learning rate the last update used (``None`` if the optimizer has no rate)."""
    if type(state) is tuple and len(state) == 1 and type(state[0]) is LearningRateState:
        return state[0].last  # plain SGD's state, read every epoch: no walk
    if isinstance(state, LearningRateState):
        return state.last
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        for part in state:  # a chain's state: the first transformation that has a rate
            found = current_learning_rate(part)
            if found is not None:
                return found
    return None
