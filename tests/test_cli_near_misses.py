"""The CLI refuses a width left out of ``--hidden`` and suggests a near-miss column name.

Both are checked on a real ``python -m chainrule`` process: one sentence, no traceback,
a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.commands._shared import int_list
from chainrule.tabular.data import close_names


def _chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    rows = ["height,weight,target"] + [f"{i},{2 * i},{i % 2}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("text", ["64,,32", "64,", ",64"])
def test_a_width_left_out_of_hidden_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="empty width"):
        int_list(text)
    assert int_list("64, 32") == [64, 32]


def test_the_cli_refuses_hidden_with_an_empty_width(tmp_path):
    table = _table(tmp_path)
    run = _chainrule("train", str(table), "--target", "target", "--hidden", "64,,32", cwd=tmp_path)
    assert run.returncode != 0
    assert "empty width" in run.stderr and "Traceback" not in run.stderr


def test_a_near_miss_target_name_gets_a_suggestion(tmp_path):
    table = _table(tmp_path)
    run = _chainrule("train", str(table), "--target", "Target", cwd=tmp_path)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "did you mean 'target'?" in run.stderr


def test_close_names_prefers_a_case_only_difference_then_difflib():
    columns = ["height", "weight", "target"]
    assert close_names(["TARGET"], columns) == "'target'"
    assert close_names(["heigth"], columns) == "'height'"
    assert close_names(["colour"], columns) == ""
