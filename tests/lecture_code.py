"""Extract and run the lecture's own code cells from the lecture text (the oracle for the demo)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any


def code_cells(path: Path) -> list[str]:
    """The Python cells of the lecture: the text after each ``In [None]:`` up to the prose."""
    text = path.read_text(encoding="utf-8")
    cells = []
    for chunk in text.split("In [None]:")[1:]:
        # A cell ends where the notebook's Markdown resumes (a bold heading such as **d_output:**).
        cells.append(re.split(r"\n\*\*", chunk)[0].strip("\n"))
    return cells


def run_cells(cells: list[str], namespace: dict[str, Any] | None = None) -> tuple[str, dict]:
    """Execute cells in one namespace, returning what they printed and the namespace."""
    ns: dict[str, Any] = {} if namespace is None else namespace
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in cells:
            exec(compile(cell, "<lecture>", "exec"), ns)
    return out.getvalue(), ns
