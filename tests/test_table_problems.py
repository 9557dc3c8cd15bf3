"""Every problem of a training table is reported in one message, by the library and the CLI.

Each problem is also checked alone (the table with only that defect) so the combined message
is known to hold exactly the sentences the single problems produce.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")

from chainrule.tabular.data import DataError  # noqa: E402
from chainrule.tabular.model import TabularModel  # noqa: E402

CLEAN = {"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "z", "w"], "target": ["u", "v", "u", "v"]}


def _message(frame: pd.DataFrame, task: str = "regression") -> DataError:
    with pytest.raises(DataError) as caught:
        # impute="error": missing features are problems (by default they are imputed)
        TabularModel.fit(frame, "target", task=task, epochs=1, source="t.csv", impute="error")
    return caught.value


def test_a_text_target_and_missing_features_come_in_one_message():
    frame = pd.DataFrame({**CLEAN, "a": [1.0, None, 3.0, 4.0]})
    combined = _message(frame)
    alone_target = _message(pd.DataFrame(CLEAN))
    alone_feature = _message(frame.assign(target=[1.0, 2.0, 3.0, 4.0]))
    assert combined.problems == [*alone_target.problems, *alone_feature.problems]
    assert str(combined).startswith("The table has 2 problems: (1) ")


def test_missing_values_in_several_columns_are_all_listed():
    frame = pd.DataFrame(
        {"a": [1.0, None, 3.0, 4.0], "b": ["x", None, "z", "w"], "target": [1.0, 1.5, 2.0, 3.0]}
    )
    error = _message(frame)
    assert len(error.problems) == 2
    assert [p.split("'")[1] for p in error.problems] == ["a", "b"]


def test_the_cli_prints_every_problem_once_without_a_traceback(tmp_path: Path):
    table = tmp_path / "bad.csv"
    table.write_text("a,b,target\n1,x,yes\n2,y,no\n,z,yes\n4,w,no\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", str(table), "--target", "target",
         "--task", "regression", "--impute", "error"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "2 problems" in run.stderr
    assert "Target column 'target'" in run.stderr and "Column 'a'" in run.stderr
