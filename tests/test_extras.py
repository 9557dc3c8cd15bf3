"""Optional packages: every entry point checks its extras first and names the one to install.

An install without a package is simulated in a fresh interpreter by ``sys.modules[name] =
None``, which makes ``import name`` raise ``ImportError`` exactly as if it were absent. The
oracle is the user's view: one line on standard error naming the ``pip install`` command,
a non-zero exit status, and no work done (no training epoch printed, no file written).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chainrule as cr
from chainrule.cli import COMMANDS
from chainrule.extras import EXTRAS, MissingExtraError, require

BLOCKED_CLI = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if not installed: `import name` raises ImportError
from chainrule.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extras")
    gen = np.random.default_rng(7)
    x = gen.normal(size=(200, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x.sum(1) > 0, "p", "n")})
    frame.to_csv(root / "train.csv", index=False)
    model, _ = cr.TabularModel.fit(frame, "label", hidden=[4], epochs=2, seed=0)
    cr.save(model, root / "model.safetensors")
    return root


CASES = [
    ("predict", "pandas", ["predict", "model.safetensors", "train.csv"], "data"),
    ("predict", "safetensors", ["predict", "model.safetensors", "train.csv"], "io"),
    ("info", "safetensors", ["info", "model.safetensors"], "io"),
    ("export", "onnx", ["export", "model.safetensors", "--onnx", "out.onnx"], "onnx"),
    ("plot", "matplotlib", ["plot", "model.safetensors", "--out", "out.png"], "plot"),
    ("report", "matplotlib", ["report", "model.safetensors", "--out", "out.html"], "plot"),
    (
        "report",
        "pandas",
        ["report", "model.safetensors", "--data", "train.csv", "--out", "out.html"],
        "data",
    ),
    (
        "train",
        "safetensors",
        ["train", "train.csv", "--target", "label", "--epochs", "50", "--out", "out.st"],
        "io",
    ),
    ("train", "pandas", ["train", "train.csv", "--target", "label", "--out", "out.st"], "data"),
]


@pytest.mark.parametrize(("command", "missing", "argv", "extra"), CASES)
def test_cli_names_the_extra_before_any_work(
    work: Path, command: str, missing: str, argv: list[str], extra: str
) -> None:
    result = _run(BLOCKED_CLI, missing, *argv, cwd=work)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        f"chainrule: error: chainrule {command} needs {EXTRAS[missing][1]}, which is not "
        f"installed; install with: pip install 'chainrule[{extra}]'"
    ]
    # no work done: train printed no epoch and wrote nothing; no output file anywhere
    assert not list(work.glob("out.*"))


def test_commands_without_extras_still_run(work: Path) -> None:
    everything = ",".join(EXTRAS)
    result = _run(BLOCKED_CLI, everything, "demo", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "Test predictions: [0 0 1 0]" in result.stdout


def test_every_command_declares_its_extras() -> None:
    for module in COMMANDS:
        assert set(module.REQUIRES) <= set(EXTRAS), module.NAME


@pytest.mark.parametrize(
    ("missing", "code", "message"),
    [
        (
            "sklearn",
            "import chainrule; chainrule.MLPClassifier()",
            "chainrule.MLPClassifier needs scikit-learn, which is not installed; "
            "install with: pip install 'chainrule[sklearn]'",
        ),
        (
            "scipy",
            "from chainrule.estimators import MLPRegressor",
            "chainrule.estimators needs scipy, which is not installed; "
            "install with: pip install 'chainrule[sklearn]'",
        ),
        (
            "onnx",
            "import chainrule as cr; cr.export_onnx(cr.Sequential([cr.Dense(2, 1)]), 'n.onnx')",
            "ONNX export needs onnx, which is not installed; "
            "install with: pip install 'chainrule[onnx]'",
        ),
        (
            "safetensors",
            "import chainrule as cr; cr.save(cr.Sequential([cr.Dense(2, 1)]), 'n.st')",
            "Saving a model needs safetensors, which is not installed; "
            "install with: pip install 'chainrule[io]'",
        ),
    ],
)
def test_library_entry_points_name_the_extra(
    tmp_path: Path, missing: str, code: str, message: str
) -> None:
    program = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        f"from chainrule.extras import MissingExtraError\n"
        f"try:\n    {code}\nexcept MissingExtraError as e:\n    print(e); sys.exit(3)\n"
    )
    result = _run(program, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == message
    assert not list(tmp_path.iterdir())  # nothing written


def test_require_lists_every_missing_package_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as info:  # a MissingExtraError is an ImportError
        require("numpy", "pandas", "onnx", purpose="this")
    assert isinstance(info.value, MissingExtraError)
    assert str(info.value) == (
        "this needs pandas, onnx, which are not installed; "
        "install with: pip install 'chainrule[data,onnx]'"
    )
    require("numpy", "json", purpose="never raises")
