"""How a network looks to a person: a Keras-style summary table, as text and as HTML.

Kept apart from the containers so they stay about computing; this module only reads a
network's ``layers``, ``in_features``, ``params`` and ``frozen``.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

RULE, DOUBLE = "_", "="


def summary_rows(net: Any) -> list[tuple[str, str, str]]:
    """``(layer (type), output shape, parameter count)`` per layer, as Keras lists them.

    The output shape is ``(N, width)``: ``N`` rows in, the layer's width out (``?`` when the
    network's input width is not known, e.g. a network that starts with a dropout).
    """
    rows = []
    width = net.in_features
    for layer in net.layers:
        width = layer.output_dim(width) if width is not None else None
        count = sum(int(np.prod(v.shape)) for v in layer.params.values())
        label = f"{layer.name or ''} ({type(layer).__name__})".strip()
        rows.append((label, f"(N, {width if width is not None else '?'})", f"{count:,}"))
    return rows


def _counts(net: Any) -> tuple[int, int]:
    total = int(net.n_params)
    frozen = sum(int(np.prod(net.params[name].shape)) for name in net.frozen)
    return total, total - frozen


def summary_text(net: Any) -> str:
    """The summary table as plain text (what :meth:`Sequential.summary` prints).

    Example, for ``Sequential([Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()])``::

        Sequential: 4 layers
        ______________________________________
        Layer (type)        Output shape  Param #
        ======================================
        dense1 (Dense)      (N, 4)             12
        ...
    """
    header = ("Layer (type)", "Output shape", "Param #")
    rows = summary_rows(net)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    width = sum(widths) + 4

    def line(r: tuple[str, str, str]) -> str:
        return f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}"

    total, trainable = _counts(net)
    out = [f"{type(net).__name__}: {len(net.layers)} layers", RULE * width, line(header)]
    out.append(DOUBLE * width)
    out += [line(r) for r in rows]
    out.append(DOUBLE * width)
    out.append(f"Total params: {total:,}")
    out.append(f"Trainable params: {trainable:,}")
    out.append(f"Non-trainable params: {total - trainable:,}")
    out.append(RULE * width)
    return "\n".join(out)


def summary_html(net: Any) -> str:
    """The summary table as an HTML fragment (a network's ``_repr_html_`` in Jupyter)."""
    esc = html.escape
    body = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td style='text-align:right'>{esc(c)}</td></tr>"
        for a, b, c in summary_rows(net)
    )
    total, trainable = _counts(net)
    return (
        f"<div><b>{esc(type(net).__name__)}</b>: {len(net.layers)} layers, "
        f"{total:,} parameters ({trainable:,} trainable)"
        "<table><thead><tr><th>Layer (type)</th><th>Output shape</th><th>Param #</th></tr>"
        f"</thead><tbody>{body}</tbody></table></div>"
    )
