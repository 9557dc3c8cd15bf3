"""The README runs as written.

Every Python block runs with `sybil <https://sybil.readthedocs.io>`_, in order, in a fresh
namespace per README section (``<!-- section:NAME -->`` … ``<!-- /section:NAME -->``; the text
before the first section is a section too) and in a fresh folder. Every shell block and every
``text`` block that shows a ``$`` session is preceded by a marker: ``<!-- illustrative… -->``
(not run) or ``<!-- run… -->``, and each ``run`` block is run below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sybil import Document
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from chainrule.network.activations import ACTIVATIONS
from chainrule.network.layers import LAYER_TYPES

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def _sections() -> dict[str, tuple[int, int]]:
    spans = {"top": (0, TEXT.index("<!-- section:"))}
    for m in re.finditer(r"<!-- section:(\w+) -->(.*?)<!-- /section:\1 -->", TEXT, re.S):
        spans[m.group(1)] = (m.start(), m.end())
    return spans


def _marker(start: int) -> str | None:
    """The ``<!-- … -->`` comment on the line right above a fence, if any."""
    above = TEXT[:start].rstrip("\n").rsplit("\n", 1)[-1]
    m = re.fullmatch(r"<!-- (illustrative|run)\b.*-->", above)
    return m.group(1) if m else None


SECTIONS = _sections()
PY_SECTIONS = [
    name
    for name, (a, b) in SECTIONS.items()
    if any(m.group(1) == "python" and a <= m.start() < b for m in FENCE.finditer(TEXT))
]


@pytest.mark.parametrize("section", PY_SECTIONS)
def test_python_blocks_run(
    section: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    start, end = SECTIONS[section]
    document = Document.parse(str(README), PythonCodeBlockParser(), SkipParser())
    registered = (dict(ACTIVATIONS), dict(LAYER_TYPES))
    try:
        examples = [e for e in document.examples() if start <= e.region.start < end]
        assert examples
        for example in examples:
            example.evaluate()
    finally:  # the Design section defines a Softplus activation: keep the registries as found
        for registry, before in zip((ACTIVATIONS, LAYER_TYPES), registered, strict=True):
            registry.clear()
            registry.update(before)


def test_every_shell_block_is_run_or_marked_illustrative() -> None:
    for m in FENCE.finditer(TEXT):
        shell = m.group(1) in ("sh", "bash", "console", "shell")
        session = m.group(1) == "text" and m.group(2).startswith("$ ")
        if shell or session:
            line = TEXT[: m.start()].count("\n") + 1
            assert _marker(m.start()), (
                f"README.md line {line}: mark it <!-- run --> or illustrative"
            )
    runs = [m for m in FENCE.finditer(TEXT) if _marker(m.start()) == "run"]
    assert len(runs) == 4  # the four checked below; a new one needs a check here


def _run_block(pattern: str) -> str:
    (m,) = [
        m for m in FENCE.finditer(TEXT) if _marker(m.start()) == "run" and pattern in m.group(2)
    ]
    return m.group(2)


def _chainrule(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "chainrule"
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_demo_prints_the_readme_lines(tmp_path: Path) -> None:
    shown = _run_block("Epoch 900, Loss")
    result = _chainrule("chainrule demo", tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(shown)


def test_explain_prints_the_readme_trace(tmp_path: Path) -> None:
    session = _run_block("$ chainrule explain\n")
    result = _chainrule("chainrule explain", tmp_path)
    assert result.returncode == 0
    assert result.stdout == session.split("\n", 1)[1]


def test_command_line_session_runs(tmp_path: Path) -> None:
    setup = _run_block("python -c")
    code = re.search(r'python -c "\n(.*?)"\n', setup, re.S).group(1)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120)
    session = _run_block("$ chainrule train")
    commands = re.split(r"^\$ ", session, flags=re.M)[1:]
    assert len(commands) == 4
    for block in commands:
        command, *shown = block.replace("\\\n", " ").splitlines()
        command = command.split(" | ")[0]  # `| head -3`: the test reads the output itself
        result = _chainrule(command, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        # the first line the command prints is one the README shows (numbers are not checked:
        # timings and the last digits of a run differ between machines)
        assert result.stdout.splitlines()[0] in shown, command
