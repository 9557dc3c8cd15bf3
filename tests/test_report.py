"""The HTML report: self-contained, and it opens in headless Chromium with every image loaded
and no console error or blocked load."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.report import CONTENT_SECURITY_POLICY, build_report, write_report

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]

# Injected into a copy of the report (allowed by a nonce added to its policy): after load it
# records how many images there are, how many decoded, and every error or blocked load.
CHECK_SCRIPT = """<script nonce="chainrule-test">
window.__errors = [];
window.addEventListener("error", e => window.__errors.push("error:" + (e.message ||
  (e.target && e.target.src ? "load " + e.target.src.slice(0, 40) : "?"))), true);
document.addEventListener("securitypolicyviolation", e => window.__errors.push("csp:" +
  e.violatedDirective));
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const out = document.createElement("pre");
  out.id = "chainrule-check";
  out.textContent = "images=" + imgs.length + " ok=" + ok + " errors=" + window.__errors.length
    + " " + window.__errors.join("|");
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    from chainrule import save
    from chainrule.tabular.model import TabularModel

    gen = np.random.default_rng(0)
    X = gen.standard_normal((160, 2))
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1]})
    frame["label"] = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    model, _ = TabularModel.fit(frame, "label", hidden=(6,), epochs=20, batch_size=32, seed=0)
    folder = tmp_path_factory.mktemp("report")
    path = folder / "model.crm"
    save(model, path)
    data = folder / "train.csv"
    frame.to_csv(data, index=False)
    return model, frame, path, data


def embedded_images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_report_is_self_contained(bundle: tuple) -> None:
    model, frame, _, _ = bundle
    page = build_report(model, frame.drop(columns=["label"]), frame["label"])
    # Everything is inline: no script, no external reference, and a policy that forbids loads.
    assert "<script" not in page
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "http://" not in page and "https://" not in page
    assert f'content="{CONTENT_SECURITY_POLICY}"' in page
    images = embedded_images(page)
    assert len(images) == 4  # loss, gradient norms, weights, decision boundary
    for png in images:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for section in ("architecture", "training", "plots", "explain"):
        assert f'id="{section}"' in page
    assert "d_output" in page and "∂L/∂W1" in page and "W1⁺" in page


def test_report_of_a_bare_network_without_data(tmp_path: Path) -> None:
    net, _, _ = cr.explain.lecture_example()
    path = write_report(net, tmp_path / "lecture.html")
    page = path.read_text(encoding="utf-8")
    assert len(embedded_images(page)) == 1  # no history, no data: the weights only
    assert "synthetic input" in page and "d_hidden" in page
    with pytest.raises(ValueError, match=r"ending in \.html"):
        write_report(net, tmp_path / "lecture.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.html"]


def test_report_command(bundle: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, model_path, data = bundle
    out = tmp_path / "report.html"
    argv = ["report", str(model_path), "--data", str(data), "--out", str(out)]
    assert main([*argv, "--title", "Up or down"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<title>Up or down</title>" in page and len(embedded_images(page)) == 4
    assert main(["report", str(model_path), "--out", str(tmp_path / "r.pdf")]) == 1
    assert capsys.readouterr().err.startswith("chainrule: error: --out must name an .html file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; 'make test' installs it "
    "(scripts/install-system-deps.sh) when run as root",
)
def test_report_opens_in_headless_chromium(bundle: tuple, tmp_path: Path) -> None:
    model, frame, _, _ = bundle
    page = build_report(model, frame.drop(columns=["label"]), frame["label"])
    policy = CONTENT_SECURITY_POLICY + "; script-src 'nonce-chainrule-test'"
    checked = page.replace(CONTENT_SECURITY_POLICY, policy).replace(
        "</head>", CHECK_SCRIPT + "\n</head>"
    )
    html_path = tmp_path / "report.html"
    html_path.write_text(checked, encoding="utf-8")
    result = subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'<pre id="chainrule-check">([^<]*)</pre>', result.stdout)
    assert match, result.stdout[-2000:]
    assert match.group(1).strip() == "images=4 ok=4 errors=0"
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
