"""Explain one training step: every quantity of a forward pass, backward pass and update.

:func:`explain_step` runs the library's own layers on a small batch and records, in the
lecture's notation (``z1, h, ŷ, d_output, d_hidden, δk``…), each value with the formula that
produced it, as a :class:`StepTrace` that renders as a terminal table, Markdown or HTML.

Modules, each importing only those above it in this list:

- :mod:`~chainrule.explain.trace` — :class:`Quantity`, :class:`StepTrace` and its renderings;
- :mod:`~chainrule.explain.notation` — the symbols (Dense numbering, ``h``/``ŷ``, ``δk``);
- :mod:`~chainrule.explain.walk` — the forward and backward walk, one method per layer kind;
- :mod:`~chainrule.explain.step` — :func:`explain_step`, one function per stage;
- :mod:`~chainrule.explain.examples` — the lecture's network (from :mod:`chainrule.lecture`)
  and Matt Mazur's worked example.
"""

from chainrule.explain.examples import MAZUR_URL, lecture_example, mazur_example
from chainrule.explain.notation import describe_loss
from chainrule.explain.step import explain_step
from chainrule.explain.trace import STAGES, Quantity, StepTrace
from chainrule.network.losses import HalfSumSquaredError

__all__ = [
    "MAZUR_URL",
    "STAGES",
    "HalfSumSquaredError",
    "Quantity",
    "StepTrace",
    "describe_loss",
    "explain_step",
    "lecture_example",
    "mazur_example",
]
