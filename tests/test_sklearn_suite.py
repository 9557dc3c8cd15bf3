"""scikit-learn's own MLP test suite, run against chainrule's estimators.

The test file is read at test time from the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``, never a copy in this tree), its one import of
``MLPClassifier, MLPRegressor`` is pointed at chainrule, and pytest runs it in a child process.
Every test must pass except the ones in :data:`ALLOWED_FAILURES`, which read scikit-learn's
private attributes or methods. When scikit-learn changes its file, this test says so: a listed
test that no longer exists, or that now passes, fails the run with that news, as does an
import line that is no longer there to point at chainrule.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sklearn = pytest.importorskip("sklearn")

IMPORT_LINE = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
CHAINRULE_IMPORT = "from chainrule import MLPClassifier, MLPRegressor"

ALLOWED_FAILURES: dict[str, str] = {
    "test_fit": (
        "assigns coefs_/intercepts_ and calls the private _forward_pass / _backprop "
        "machinery (chainrule's coefs_ are read-only views of its network)"
    ),
    "test_gradient": "calls the private _loss_grad_lbfgs, _unpack and _coef_indptr",
    "test_learning_rate_warmstart": "reads the private _optimizer.learning_rate",
    "test_adaptive_learning_rate": "reads the private _optimizer.learning_rate",
}
"""Tests that may fail, by function name, each with the private API it reads."""


def _suite_source() -> str:
    path = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    if not path.is_file():
        pytest.fail(f"scikit-learn {sklearn.__version__} ships no {path}; update this test.")
    source = path.read_text(encoding="utf-8")
    if source.count(IMPORT_LINE) != 1:
        pytest.fail(
            f"scikit-learn {sklearn.__version__}'s test_mlp.py no longer imports the "
            f"estimators with {IMPORT_LINE!r}; update IMPORT_LINE."
        )
    return source.replace(IMPORT_LINE, CHAINRULE_IMPORT)


def _outcomes(report: Path) -> dict[str, list[str]]:
    """``{test function: [outcome of each parametrization]}`` from a JUnit XML report."""
    outcomes: dict[str, list[str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "").split("[")[0]
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes.setdefault(name, []).append(outcome)
    return outcomes


def test_scikit_learn_mlp_suite_passes_on_chainrule(tmp_path: Path) -> None:
    suite = tmp_path / "test_mlp_on_chainrule.py"
    suite.write_text(_suite_source(), encoding="utf-8")
    report = tmp_path / "report.xml"
    # One thread per BLAS: the suite's small products run faster, and the machine is shared.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "sklearn.conftest",  # its fixtures (global_random_seed), as scikit-learn runs it
            "-p",
            "no:xdist",
            "-p",
            "no:randomly",
            f"--junitxml={report}",
            f"--rootdir={tmp_path}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    outcomes = _outcomes(report)

    problems = []
    unexpected = sorted(
        name
        for name, kinds in outcomes.items()
        if "failed" in kinds and name not in ALLOWED_FAILURES
    )
    if unexpected:
        problems.append(f"tests that fail on chainrule: {', '.join(unexpected)}")
    gone = sorted(name for name in ALLOWED_FAILURES if name not in outcomes)
    if gone:
        problems.append(
            f"allowed failures scikit-learn {sklearn.__version__} no longer has "
            f"(remove them from ALLOWED_FAILURES): {', '.join(gone)}"
        )
    now_pass = sorted(
        name for name in ALLOWED_FAILURES if name in outcomes and "failed" not in outcomes[name]
    )
    if now_pass:
        problems.append(
            f"allowed failures that now pass (remove them from ALLOWED_FAILURES): "
            f"{', '.join(now_pass)}"
        )
    counts = {
        k: sum(v.count(k) for v in outcomes.values()) for k in ("passed", "failed", "skipped")
    }
    assert not problems, f"{'; '.join(problems)}. Counts: {counts}.\n{run.stdout[-6000:]}"
    assert counts["passed"] > 40, counts  # the suite ran, not just its collection
