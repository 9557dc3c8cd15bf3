"""The wheel a user installs: built from this tree, installed into a fresh virtual environment
with the base dependencies only (NumPy, array-api-compat, fetched by pip), then run.

Oracles: the wheel's own file list and metadata (py.typed, the MIT LICENSE), and the
installed ``chainrule`` command as a user meets it — ``demo`` prints the lecture's test
predictions, ``predict`` names the extras to install in one line. ``PYTHONPATH`` is removed
so nothing can come from this source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging


def _run(*cmd: str | Path, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CHAINRULE_DEBUG")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_wheel_installs_with_base_dependencies_and_runs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    built = _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", tmp_path / "dist", tree, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("chainrule-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert b"Permission is hereby granted" in archive.read(license_file)
    assert "chainrule/py.typed" in names
    assert b"License-Expression: MIT" in metadata
    assert not [n for n in names if n.startswith("tests/")]

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    installed = _run(bin_dir / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    if installed.returncode != 0 and "NewConnectionError" in installed.stderr:
        pytest.skip("pip cannot reach a package index for NumPy from this machine")
    assert installed.returncode == 0, installed.stderr
    listed = _run(bin_dir / "python", "-m", "pip", "list", "--format=freeze", cwd=tmp_path)
    packages = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert {"chainrule", "numpy", "array-api-compat"} <= packages
    assert not packages & {"pandas", "safetensors", "onnx", "matplotlib", "scikit-learn"}

    demo = _run(bin_dir / "chainrule", "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Test predictions: [0 0 1 0]" in demo.stdout

    predict = _run(bin_dir / "chainrule", "predict", "model.safetensors", "new.csv", cwd=tmp_path)
    assert predict.returncode == 1
    assert predict.stderr.splitlines() == [
        "chainrule: error: chainrule predict needs pandas, safetensors, which are not "
        "installed; install with: pip install 'chainrule[data,io]'"
    ]
