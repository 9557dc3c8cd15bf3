"""``python -m benchmarks.playground``: the playground's screen updates per second, measured.

Starts the server, opens the page in headless Chromium (Debian's, through Playwright), presses
play on the default set-up (circle data, 2-4-2-2 tanh network, batch 10) and counts the frames
the page actually draws over ``--seconds`` seconds. Prints the rate and the epochs trained.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.playground")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--screenshots", metavar="FOLDER", help="also save PNGs of the page here")
    args = parser.parse_args(argv)
    from playground_helpers import running_server
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    with running_server() as port, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("() => window.playground.frame !== null")
        page.click("#play")
        time.sleep(1.0)  # warm up
        start_epoch = page.evaluate("() => window.playground.frame.epoch")
        count0 = page.evaluate("() => window.playground.frameCount")
        time.sleep(args.seconds)
        count1 = page.evaluate("() => window.playground.frameCount")
        epochs = page.evaluate("() => window.playground.frame.epoch") - start_epoch
        rate = (count1 - count0) / args.seconds
        print(f"screen updates per second: {rate:.1f} ({epochs / args.seconds:.1f} epochs/s)")
        if args.screenshots:
            page.screenshot(path=os.path.join(args.screenshots, "playground.png"))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
