"""Library errors name Python arguments; the command line translates them into its flags."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule
from chainrule.commands._shared import in_flags
from chainrule.tabular.data import DataError
from chainrule.tabular.model import TabularModel

PACKAGE = Path(chainrule.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def test_no_cli_flag_in_library_strings() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("commands", "playground") or rel.name == "cli.py":
            continue  # the command line's own front ends speak of its flags
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {  # module, class, function and attribute docstrings may cite the CLI
            id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings and FLAG.search(node.value):
                    offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not offenders, "\n".join(offenders)


def test_the_library_names_arguments_and_the_cli_says_flags() -> None:
    frame = pd.DataFrame({"x": np.arange(8.0), "y": ["a", "b"] * 4})
    with pytest.raises(DataError, match="use task='classification'") as caught:
        TabularModel.fit(frame, "y", task="regression", epochs=1)
    assert in_flags(str(caught.value)).endswith("use --task classification.")
    with pytest.raises(DataError, match=r"given to drop=\)") as caught:
        TabularModel.fit(frame, "y", drop=["nope"], epochs=1)
    assert "(given to --drop)" in in_flags(str(caught.value))
    with pytest.raises(DataError, match=r"hidden=\(64, 32\)") as caught:
        TabularModel.fit(frame, "y", hidden=(0,), epochs=1)
    assert in_flags(str(caught.value)).endswith("e.g. --hidden 64,32.")
