"""The record of one explained training step, and its renderings (table, Markdown, HTML, JSON).

A :class:`StepTrace` is a list of :class:`Quantity` in computation order, each a value with its
symbol in the lecture's notation (``z1``, ``h``, ``d_output``…) and the formula that computed
it. :func:`chainrule.explain.explain_step` fills one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.explain.matrix import format_matrix

STAGES = ("parameters", "forward", "loss", "backward", "update")
"""The stages of a step, in the order a trace lists them."""

_STAGE_TITLES = {
    "parameters": "Parameters before the step",
    "forward": "Forward pass",
    "loss": "Loss",
    "backward": "Backward pass (the chain rule, layer by layer)",
    "update": "Update",
}


@dataclass(frozen=True)
class Quantity:
    """One named value of a training step.

    Attributes
    ----------
    stage : str
        One of :data:`STAGES`.
    symbol : str
        Its name in the lecture's notation (``"z1"``, ``"h"``, ``"d_output"``, ``"∂L/∂W2"``).
    formula : str
        How it is computed from earlier quantities (``"x·W1 + b1"``).
    value : ndarray
        The value (a 0-d array for the loss).
    layer : str or None
        The layer that computed it (``"dense1"``), if any.
    aliases : tuple of str
        Other names it can be looked up by: the numbered name (``"a1"`` for ``h``, ``"δ2"``
        for ``d_output``), the lecture's variable (``"hidden"``) or a parameter's full name.
    """

    stage: str
    symbol: str
    formula: str
    value: np.ndarray
    layer: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class StepTrace:
    """Every quantity of one forward pass, backward pass and update, in computation order.

    Look values up by symbol or alias: ``trace["d_output"]``, ``trace["δ2"]``, ``trace["h"]``.
    :attr:`gradients` and :attr:`updated` are keyed by parameter full name (``"dense1.W"``).

    Attributes
    ----------
    quantities : list of Quantity
        In the order they were computed.
    architecture : list of str
        One line per layer.
    loss_description : str
        The loss and its formula.
    optimizer_description : str
        The update rule.
    loss_value : float
        :math:`L` at the current parameters.
    gradients : dict of str to ndarray
        :math:`\\partial L/\\partial \\theta` for every trainable parameter.
    updated : dict of str to ndarray
        Every parameter after the update (frozen ones unchanged).
    notes : list of str
        Remarks printed under the trace (e.g. that dropout was off).
    """

    quantities: list[Quantity] = field(default_factory=list)
    architecture: list[str] = field(default_factory=list)
    loss_description: str = ""
    optimizer_description: str = ""
    loss_value: float = float("nan")
    gradients: dict[str, np.ndarray] = field(default_factory=dict)
    updated: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- lookup -------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        return self.get(name).value

    def __contains__(self, name: str) -> bool:
        return any(name == q.symbol or name in q.aliases for q in self.quantities)

    def get(self, name: str) -> Quantity:
        """The :class:`Quantity` with this symbol or alias."""
        for q in self.quantities:
            if name == q.symbol:
                return q
        for q in self.quantities:
            if name in q.aliases:
                return q
        known = ", ".join(q.symbol for q in self.quantities)
        raise KeyError(f"The trace has no quantity {name!r}; it has {known}.")

    @property
    def symbols(self) -> list[str]:
        """The symbols in computation order."""
        return [q.symbol for q in self.quantities]

    def stage(self, stage: str) -> list[Quantity]:
        """The quantities of one stage."""
        return [q for q in self.quantities if q.stage == stage]

    # -- renderings ---------------------------------------------------------------------------
    def _header_lines(self) -> list[str]:
        return [
            "network:   " + " → ".join(self.architecture),
            "loss:      " + self.loss_description,
            "update:    " + self.optimizer_description,
        ]

    def table(self, precision: int = 6) -> str:
        """A plain-text table for the terminal: symbol, formula, shape and value.

        Parameters
        ----------
        precision : int
            Significant digits of each printed number.
        """
        sym_w = max(len(q.symbol) for q in self.quantities)
        formula_w = max(len(q.formula) for q in self.quantities)
        shape_w = max(len(_shape(q.value)) for q in self.quantities)
        indent = 2 + sym_w + 3 + formula_w + 2 + shape_w + 2
        lines = ["One training step, explained", *self._header_lines()]
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            lines += ["", _STAGE_TITLES[stage]]
            for q in rows:
                text = _format_array(q.value, precision).splitlines()
                head = (
                    f"  {q.symbol.ljust(sym_w)} = {q.formula.ljust(formula_w)}  "
                    f"{_shape(q.value).ljust(shape_w)}  "
                )
                lines.append(head + text[0])
                lines += [" " * indent + t for t in text[1:]]
        if self.notes:
            lines += ["", *(f"note: {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def markdown(self, precision: int = 6) -> str:
        """Markdown: a header list and one table per stage (matrix rows separated by ``<br>``)."""
        lines = ["## One training step, explained", ""]
        for line in self._header_lines():
            key, rest = line.split(":", 1)
            lines.append(f"- {key}: {rest.strip()}")
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            lines += ["", f"### {_STAGE_TITLES[stage]}", ""]
            lines += ["| quantity | formula | shape | value |", "|---|---|---|---|"]
            for q in rows:
                value = "<br>".join(_format_array(q.value, precision).splitlines())
                cells = [q.symbol, q.formula, _shape(q.value), f"<code>{value}</code>"]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if self.notes:
            lines += ["", *(f"> {n}" for n in self.notes)]
        return "\n".join(lines) + "\n"

    def html(self, precision: int = 6, limit: int | None = None) -> str:
        """An HTML fragment (a header list and one ``<table>`` per stage), all text escaped.

        Parameters
        ----------
        precision : int
            Significant digits of each printed number.
        limit : int, optional
            Abbreviate matrices with more rows or columns than this to their first and last
            rows and columns (:func:`chainrule.explain.matrix.format_matrix`); the shape
            column still gives the full size.
        """
        esc = html.escape
        parts = ['<div class="explain">', "<ul>"]
        for line in self._header_lines():
            key, rest = line.split(":", 1)
            parts.append(f"<li><b>{esc(key)}</b>: {esc(rest.strip())}</li>")
        parts.append("</ul>")
        for stage in STAGES:
            rows = self.stage(stage)
            if not rows:
                continue
            parts.append(f"<h3>{esc(_STAGE_TITLES[stage])}</h3>")
            parts.append(
                "<table><thead><tr><th>quantity</th><th>formula</th><th>shape</th>"
                "<th>value</th></tr></thead><tbody>"
            )
            for q in rows:
                value = esc(format_matrix(q.value, precision, limit))
                parts.append(
                    f"<tr><td>{esc(q.symbol)}</td><td>{esc(q.formula)}</td>"
                    f"<td>{esc(_shape(q.value))}</td><td><pre>{value}</pre></td></tr>"
                )
            parts.append("</tbody></table>")
        parts += [f"<p class='note'>{esc(n)}</p>" for n in self.notes]
        parts.append("</div>")
        return "\n".join(parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: header and every quantity with its value as nested lists."""
        return {
            "architecture": list(self.architecture),
            "loss": self.loss_description,
            "update": self.optimizer_description,
            "loss_value": self.loss_value,
            "quantities": [
                {
                    "stage": q.stage,
                    "symbol": q.symbol,
                    "formula": q.formula,
                    "shape": list(q.value.shape),
                    "value": q.value.tolist(),
                    "layer": q.layer,
                    "aliases": list(q.aliases),
                }
                for q in self.quantities
            ],
            "notes": list(self.notes),
        }


# -- formatting helpers ------------------------------------------------------------------------
def _shape(value: np.ndarray) -> str:
    return str(tuple(int(s) for s in value.shape))


def _format_array(value: np.ndarray, precision: int) -> str:
    return format_matrix(value, precision)
