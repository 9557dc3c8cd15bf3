"""The package itself: a light import, both ways of calling the command, the version."""

from __future__ import annotations

import subprocess
import sys

import chainrule


def test_import_needs_only_numpy_and_array_api_compat() -> None:
    """The runtime dependencies are NumPy and array-api-compat; everything else loads lazily."""
    code = (
        "import sys, chainrule; "
        "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib', 'safetensors', 'onnx', "
        "'pandas', 'torch', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_runs_the_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"chainrule {chainrule.__version__}"
    bad = subprocess.run([sys.executable, "-m", "chainrule", "fly"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "invalid choice" in bad.stderr
