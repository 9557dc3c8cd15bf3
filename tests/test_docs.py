"""The README and every page under ``docs/`` run as written.

Every Python block runs with `sybil <https://sybil.readthedocs.io>`_, in order, in one
namespace per page (or per ``<!-- section:NAME -->`` … ``<!-- /section:NAME -->`` part of a
page that has them; text outside the sections is a section too) and in a fresh folder.
``<!-- skip: next -->`` above a block leaves it out (sybil's own marker). Every shell block and
every ``text`` block that shows a ``$`` session is preceded by ``<!-- illustrative… -->`` (not
run) or ``<!-- run… -->``, and each ``run`` block is run below. Pages are found by globbing, so a
new page is covered the moment it is added.
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

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TEXTS = {page: page.read_text(encoding="utf-8") for page in PAGES}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SECTION = re.compile(r"<!-- section:(\w+) -->(.*?)<!-- /section:\1 -->", re.S)


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _sections(text: str) -> dict[str, list[tuple[int, int]]]:
    """Each section's character spans; ``page`` is everything outside the named sections."""
    spans: dict[str, list[tuple[int, int]]] = {"page": []}
    outside = 0
    for m in SECTION.finditer(text):
        spans["page"].append((outside, m.start()))
        spans[m.group(1)] = [(m.start(), m.end())]
        outside = m.end()
    spans["page"].append((outside, len(text)))
    return spans


def _marker(text: str, start: int) -> str | None:
    """The ``<!-- … -->`` comment on the line right above a fence, if any."""
    above = text[:start].rstrip("\n").rsplit("\n", 1)[-1]
    m = re.fullmatch(r"<!-- (illustrative|run)\b.*-->", above)
    return m.group(1) if m else None


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    return any(a <= position < b for a, b in spans)


PY_SECTIONS = [
    pytest.param(page, name, id=f"{_name(page)}:{name}")
    for page, text in TEXTS.items()
    for name, spans in _sections(text).items()
    if any(m.group(1) == "python" and _inside(spans, m.start()) for m in FENCE.finditer(text))
]


@pytest.mark.parametrize(("page", "section"), PY_SECTIONS)
def test_python_blocks_run(
    page: Path,
    section: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    spans = _sections(TEXTS[page])[section]
    document = Document.parse(str(page), PythonCodeBlockParser(), SkipParser())
    registered = (dict(ACTIVATIONS), dict(LAYER_TYPES))
    try:
        examples = [e for e in document.examples() if _inside(spans, e.region.start)]
        assert examples
        for example in examples:
            example.evaluate()
    finally:  # the design page defines a Softplus activation: keep the registries as found
        for registry, before in zip((ACTIVATIONS, LAYER_TYPES), registered, strict=True):
            registry.clear()
            registry.update(before)


def _run_blocks() -> list[tuple[Path, str]]:
    return [
        (page, m.group(2))
        for page, text in TEXTS.items()
        for m in FENCE.finditer(text)
        if _marker(text, m.start()) == "run"
    ]


def test_every_shell_block_is_run_or_marked_illustrative() -> None:
    for page, text in TEXTS.items():
        for m in FENCE.finditer(text):
            shell = m.group(1) in ("sh", "bash", "console", "shell")
            session = m.group(1) == "text" and m.group(2).startswith("$ ")
            if shell or session:
                line = text[: m.start()].count("\n") + 1
                assert _marker(text, m.start()), (
                    f"{_name(page)} line {line}: mark it <!-- run --> or <!-- illustrative -->"
                )
    assert len(_run_blocks()) == 4  # the four checked below; a new one needs a check here


def _run_block(pattern: str) -> tuple[Path, str]:
    (found,) = [(page, block) for page, block in _run_blocks() if pattern in block]
    return found


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


def test_demo_prints_the_documented_lines(tmp_path: Path) -> None:
    _, shown = _run_block("Epoch 900, Loss")
    result = _chainrule("chainrule demo", tmp_path)
    assert result.returncode == 0 and result.stdout.startswith(shown)


def test_explain_prints_the_documented_trace(tmp_path: Path) -> None:
    _, session = _run_block("$ chainrule explain\n")
    result = _chainrule("chainrule explain", tmp_path)
    assert result.returncode == 0
    assert result.stdout == session.split("\n", 1)[1]


def test_command_line_session_runs(tmp_path: Path) -> None:
    setup_page, setup = _run_block("python -c")
    session_page, session = _run_block("$ chainrule train")
    assert setup_page == session_page  # the session reads the files the setup writes
    code = re.search(r'python -c "\n(.*?)"\n', setup, re.S).group(1)
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120)
    commands = re.split(r"^\$ ", session, flags=re.M)[1:]
    assert len(commands) == 4
    for block in commands:
        command, *shown = block.replace("\\\n", " ").splitlines()
        command = command.split(" | ")[0]  # `| head -3`: the test reads the output itself
        result = _chainrule(command, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        # the first line the command prints is one the page shows (numbers are not checked:
        # timings and the last digits of a run differ between machines)
        assert result.stdout.splitlines()[0] in shown, command


def test_readme_links_point_at_files() -> None:
    """The README is read on its own (PyPI, a clone): its relative links must resolve."""
    text = TEXTS[ROOT / "README.md"]
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README.md links to missing {target}"


def test_readme_is_short() -> None:
    assert TEXTS[ROOT / "README.md"].count("\n") <= 300
