"""The documentation site builds with warnings as errors, and its API reference is complete.

``mkdocs build --strict`` fails on a broken link between pages, a page left out of the nav, a
docstring whose sections do not parse and an API entry that does not resolve, so this test is
what keeps the site in step with the code (``make docs`` runs the same build).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import chainrule

ROOT = Path(__file__).resolve().parents[1]


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # no end-of-life banner
    )
    assert result.returncode == 0, result.stderr[-4000:]
    api = (tmp_path / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    # a rendered entry (the page would still build if a docstring rendered empty)
    assert 'id="chainrule.Trainer"' in api or 'id="chainrule.training.trainer.Trainer"' in api
    assert (tmp_path / "playground.png").exists()  # the images travel with the pages


def test_api_reference_names_every_public_name() -> None:
    """A name added to ``chainrule.__all__`` gets an entry in docs/reference/api.md."""
    page = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^::: chainrule\.(\w+)$", page, re.M))
    # under ::: chainrule.estimators and ::: chainrule.tabular.estimator (loaded lazily)
    estimators = {"MLPClassifier", "MLPRegressor", "TabularClassifier", "TabularRegressor"}
    missing = set(chainrule.__all__) - listed - estimators - {"__version__", "require"}
    assert not missing, f"add to docs/reference/api.md: {sorted(missing)}"
