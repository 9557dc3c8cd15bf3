"""Griffe extension: render the reStructuredText in chainrule's numpydoc docstrings as Markdown.

The docstrings follow numpydoc, written in reStructuredText (``:math:``, ``.. math::``,
``:class:`` roles, double-backquoted code, ``text <url>`_`` links); mkdocstrings renders
docstrings as Markdown. Rewriting those few constructs before the docstring is parsed keeps the
source in the convention scikit-learn and NumPy use and the reference readable: maths through
``pymdownx.arithmatex``, roles as inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_XREF_ROLE = re.compile(
    r":(?:class|func|meth|mod|data|attr|exc|obj|ref):`~?([^`<]+?)(?:\s*<[^>]+>)?`"
)
_LINK = re.compile(r"`([^`<]+?)\s*<(https?://[^>]+)>`__?")
_DOUBLE_BACKQUOTE = re.compile(r"``([^`]+)``")
_MATH_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. math::[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)+)", re.M
)
_CODE_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. code-block::[ \t]*(?P<lang>\w*)[ \t]*\n[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)+)",
    re.M,
)


def _math_block(m: re.Match[str]) -> str:
    indent = m.group("indent")
    lines = [line.strip() for line in m.group("body").strip("\n").splitlines()]
    body = "\n".join(f"{indent}{line}" for line in lines if line)
    return f"{indent}$$\n{body}\n{indent}$$\n\n"


def _code_block(m: re.Match[str]) -> str:
    indent = m.group("indent")
    body = m.group("body").rstrip("\n").splitlines()
    depth = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    code = "\n".join(indent + line[depth:] if line.strip() else "" for line in body)
    return f"{indent}```{m.group('lang') or 'text'}\n{code}\n{indent}```\n\n"


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText constructs written as Markdown."""
    text = _MATH_BLOCK.sub(_math_block, text if text.endswith("\n") else text + "\n")
    text = _CODE_BLOCK.sub(_code_block, text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    text = _XREF_ROLE.sub(lambda m: f"`{m.group(1).strip()}`", text)
    text = _LINK.sub(lambda m: f"[{m.group(1).strip()}]({m.group(2)})", text)
    return _DOUBLE_BACKQUOTE.sub(lambda m: f"`{m.group(1)}`", text).rstrip("\n")


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring as it is loaded, before mkdocstrings parses its sections."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
