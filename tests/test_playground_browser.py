"""The playground in Debian's real Chromium, driven by Playwright (issue 12, section 6).

Each test opens the page fresh (its own session) and fails on any console error or page error.
Numbers the page shows are checked against ones computed here from its downloads.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from playground_helpers import cross_entropy, inputs, read_points, running_server  # noqa: E402

import chainrule as cr  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; 'make test' installs it "
    "(scripts/install-system-deps.sh) when run as root",
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server() as port:
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


class Page:
    """A fresh tab on the playground that records console errors and outside requests."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 1000}, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.expected: list[str] = []  # error messages a test provokes on purpose
        self.outside: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("http://127.0.0.1", "data:"))
                else self.outside.append(r.url)
            ),
        )
        self.page.goto(url)
        self.wait("window.playground.frame !== null && window.playground.stat !== null")

    def wait(self, condition: str, timeout: float = 20_000) -> None:
        self.page.wait_for_function(f"() => ({condition})", timeout=timeout)

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def download(self, link: str, to: Path) -> Path:
        with self.page.expect_download() as info:
            self.page.click(link)
        info.value.save_as(to)
        return to

    def close(self) -> None:
        self.context.close()
        unexpected = [e for e in self.errors if not any(x in e for x in self.expected)]
        assert unexpected == [], unexpected
        assert self.outside == [], self.outside


@pytest.fixture
def tab(browser: Any, base_url: str) -> Iterator[Page]:
    page = Page(browser, base_url)
    yield page
    page.close()


def test_play_lowers_test_loss_changes_surface_and_export_loads(tab: Page, tmp_path: Path) -> None:
    before = tab.js("({loss: playground.frame.test_loss, surface: playground.frame.surface.data})")
    tab.page.click("#play")
    tab.wait("playground.frame.epoch >= 40")
    tab.page.click("#play")  # pause
    tab.wait("!playground.frame.playing")
    after = tab.js("playground.frame")
    assert after["test_loss"] < 0.8 * before["loss"]
    assert after["surface"]["data"] != before["surface"]
    shown = float(tab.page.inner_text("#test-loss"))
    assert shown == pytest.approx(after["test_loss"], abs=5e-4)
    # the downloaded model and data give the same test loss, computed here
    net = cr.load(tab.download("#export-model", tmp_path / "m.safetensors"))
    points = read_points(tab.download("#export-data", tmp_path / "d.csv").read_text())
    mask = points["part"] == "test"
    logits = net.predict(inputs(points, ["x1", "x2"], mask))
    assert cross_entropy(logits, points["y"][mask].astype(int)) == pytest.approx(
        after["test_loss"], abs=2e-6
    )
    snippet = tab.download("#export-python", tmp_path / "p.py").read_text()
    assert f"epochs={after['epoch']}" in snippet and "cr.Trainer(" in snippet


def test_add_layer_and_the_link_reproduces_the_setup(
    tab: Page, browser: Any, base_url: str
) -> None:
    tab.page.click("#add-layer")
    tab.wait("playground.stat.config.hidden.length === 3")
    assert tab.page.locator(".hidden-node").count() == 4 + 2 + 2
    tab.page.click(".add-neuron >> nth=2")
    tab.wait("playground.stat.config.hidden[2] === 3")
    tab.page.select_option("#activation", "relu")
    tab.wait("playground.stat.config.activation === 'relu'")
    # the page writes its state into the URL after it applies it: wait for that, too
    tab.wait("location.hash.includes('activation=relu') && location.hash.includes('hidden=4,2,3')")
    tab.wait("playground.frame.weights.length === 4")  # four Dense layers, once retrained
    link = tab.page.url
    assert "hidden=4,2,3" in link and "activation=relu" in link
    other = Page(browser, base_url + link[link.index("#") :])
    try:
        assert other.js("playground.stat.config.hidden") == [4, 2, 3]
        assert other.js("playground.stat.config.activation") == "relu"
        assert other.js("playground.session.id") != tab.js("playground.session.id")
    finally:
        other.close()


def three_class_csv(path: Path) -> Path:
    gen = np.random.default_rng(7)
    centres = {"setosa": (0, 4), "versicolor": (4, -2), "virginica": (-4, -2)}
    lines = ["length,width,depth,species"]
    for i in range(150):
        name = list(centres)[i % 3]
        cx, cy = centres[name]
        x, y, z = cx + gen.normal(), cy + gen.normal(), gen.normal()
        lines.append(f"{x:.3f},{y:.3f},{z:.3f},{name}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_three_class_csv_upload_and_bad_uploads(tab: Page, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\x01 not text")
    tab.expected.append("status of 400")  # the browser logs the refused upload's response
    tab.page.set_input_files("#upload", str(bad))
    tab.wait("!document.getElementById('message').hidden")
    assert "Upload refused" in tab.page.inner_text("#message")
    tab.page.set_input_files("#upload", str(three_class_csv(tmp_path / "flowers.csv")))
    tab.wait("!document.getElementById('table-panel').hidden")
    assert tab.page.input_value("#table-target") == "species"
    tab.page.click("#table-use")
    tab.wait("playground.stat.classes.length === 3")
    assert tab.page.locator(".legend .key").all_inner_texts() == [
        "setosa",
        "versicolor",
        "virginica",
    ]
    assert tab.js("playground.stat.extra") == ["depth"]  # third feature, held at its mean
    for _ in range(5):
        tab.page.click("#step")
    tab.wait("playground.frame.epoch >= 5")
    frame = tab.js("playground.frame")
    assert frame["surface"]["kind"] == "multi"
    assert frame["curves"]["test"][-1] < frame["curves"]["test"][0]
    assert frame["test_accuracy"] > 0.5  # three classes: chance is 1/3


def test_click_a_point_shows_chainrules_explain_trace(tab: Page) -> None:
    tab.page.click("#step")
    tab.wait("playground.frame.epoch >= 1")
    x, y, _ = tab.js("playground.stat.train[5]")
    (x0, x1), (y0, y1) = tab.js("playground.stat.domain")
    box = tab.page.locator("#surface").bounding_box()
    px = box["x"] + 1 + (x - x0) / (x1 - x0) * 400  # the canvas is 400 px inside a 1 px border
    py = box["y"] + 1 + (1 - (y - y0) / (y1 - y0)) * 400
    tab.page.mouse.click(px, py)
    tab.wait("!document.getElementById('explain').hidden")
    body = tab.page.inner_text("#explain-body")
    for word in ("Forward pass", "d_output", "∂L/∂W1", "Update", "W1⁺"):
        assert word in body
    info = tab.page.inner_text("#explain-info")
    assert "epoch 1" in info and "plain SGD, η = 0.03" in info
    assert f"{x:.4g}"[:4] in info


def test_token_address_works_in_the_browser_and_leaves_the_address_bar(browser: Any) -> None:
    """--allow-remote's printed address: the token becomes a cookie and the page just works."""
    token = "a-token-printed-at-launch"
    with running_server(allow_remote=True, token=token) as port:
        tab = Page(browser, f"http://127.0.0.1:{port}/?token={token}")
        try:
            assert "token" not in tab.js("location.href")
            tab.page.click("#play")
            tab.wait("playground.frame.epoch >= 3")
            tab.page.click("#play")
        finally:
            tab.close()
        context = browser.new_context()  # a fresh browser profile, without the cookie
        response = context.new_page().goto(f"http://127.0.0.1:{port}/")
        assert response.status == 403
        context.close()
