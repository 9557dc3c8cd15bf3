"""The benchmark command keeps working: a quick smoke run, never a timed test.

``python -m benchmarks --quick`` runs every case on tiny sizes in a fresh interpreter; the
figures it prints are meaningless and are not checked, only that each case produced its rows.
The helpers that turn medians into verdicts are checked against hand-computed ratios.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is a top-level package of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks.__main__ import parse_cases  # noqa: E402
from benchmarks.timing import Row, format_table, interleaved, ratio_rows  # noqa: E402


def test_quick_run_prints_every_case():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout.split("all cases", 1)[1]
    for case, contender in [
        ("tiny", "lecture loop (NumPy)"),
        ("tiny", "PyTorch"),
        ("medium", "matrix products only (floor)"),
        ("medium", "scikit-learn MLPClassifier"),
        ("medium", "estimator vs floor"),
        ("tiny", "estimator vs lecture loop (NumPy)"),
        ("wide", "NumPy loop"),
        ("scaling", "log-log slope"),
        ("memory", "float32, 1 epoch"),
    ]:
        assert any(line.startswith(case) and contender in line for line in table.splitlines()), (
            f"no {case} row for {contender}:\n{done.stdout}"
        )
    assert "params float32, grads float32" in table


def test_unknown_case_is_one_clear_error():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--case", "tiny,huge"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown case huge; choose from tiny, medium, wide, scaling, memory" in done.stderr
    assert "Traceback" not in done.stderr
    assert parse_cases(" medium , tiny") == ["medium", "tiny"]


def test_ratios_and_verdicts_by_hand():
    rows = ratio_rows(
        "c", {"ours": 3.0, "floor": 2.0, "peer": 4.0}, "ours", {"floor": 1.15, "peer": 1.0}
    )
    by_name = {row.contender: row for row in rows}
    assert by_name["ours"].ratio is None and by_name["ours"].met is None
    assert by_name["floor"].ratio == pytest.approx(1.5) and by_name["floor"].met is False
    assert by_name["peer"].ratio == pytest.approx(0.75) and by_name["peer"].met is True
    text = format_table([*rows, Row("c", "note only", None, note="hello")])
    assert "1.50" in text and "MISSED" in text and "≤ 1.15" in text and "hello" in text


def test_interleaving_rotates_the_order_and_times_only_the_run():
    calls: list[str] = []

    def contender(name: str):
        def setup():
            calls.append(f"setup {name}")
            return lambda: calls.append(name)

        return setup

    medians = interleaved({"a": contender("a"), "b": contender("b")}, repeats=2)
    assert calls == ["setup a", "a", "setup b", "b", "setup b", "b", "setup a", "a"]
    assert set(medians) == {"a", "b"} and all(m >= 0 for m in medians.values())


def test_breakdown_clocks_every_part_and_restores_the_code():
    from benchmarks.breakdown import breakdown
    from chainrule.network import layers
    from chainrule.training import solvers

    forward, run = layers.Dense.forward, solvers.MiniBatch.run
    rows = dict(breakdown("tiny", repeats=1))
    assert layers.Dense.forward is forward and solvers.MiniBatch.run is run  # unpatched after
    for part in ("dense layers (products, bias)", "activations", "loss (value and gradient)"):
        assert rows[part] > 0, part
    assert rows["optimizer step (update, apply)"] > 0
    parts = sum(ms for label, ms in rows.items() if label != "whole fit")
    assert abs(parts - rows["whole fit"]) < 1e-6 * rows["whole fit"] + 1e-9


def test_callcount_counts_the_functions_a_small_fit_runs():
    """The call counter against a hand-made oracle: Dense.forward and the Trainer's fit are
    surely on the path, a comprehension never counts, and every counted file is chainrule's."""
    from benchmarks.callcount import count_fit

    counted = count_fit()
    names = {(path, name) for path, _, name in counted.functions}
    assert ("network/layers.py", "forward") in names
    assert ("training/trainer.py", "fit") in names
    assert not any(name.startswith("<") and name != "<lambda>" for _, _, name in counted.functions)
    assert counted.files == {path for path, _, _ in counted.functions}
    assert all(path.endswith(".py") and not path.startswith("/") for path in counted.files)
    assert 0 < counted.depth <= len(counted.functions)
