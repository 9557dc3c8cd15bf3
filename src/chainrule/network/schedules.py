"""Learning-rate schedules: functions of the update step :math:`t = 0, 1, 2, \\ldots`.

A schedule is any callable ``schedule(t) -> float``; every optimizer accepts one wherever it
takes a learning rate. :math:`t` counts optimizer updates (mini-batches), not epochs; wrap a
per-epoch schedule with :func:`per_epoch`. Reduce-on-plateau depends on the validation loss,
not on :math:`t`, so it is a callback: :class:`chainrule.callbacks.ReduceLROnPlateau`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
