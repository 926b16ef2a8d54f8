"""Take docs/reader.png: the reader at 1280 px with the sample article analyzed by the released model.

    make screenshot                        # = .venv/bin/python docs/screenshot.py
    python docs/screenshot.py --model DIR  # another artifact folder
    python docs/screenshot.py --url http://localhost:3000   # a service that is already running

Starts `bentoml serve` (the same launcher the tests use) on models/slant-base unless --url is
given, opens the page in the system's headless Chromium (apt-get install chromium chromium-driver;
nothing is downloaded), presses "Sample article" and "Analyze", and saves the whole page.
Re-run it after a model update: the picture shows whatever that model answers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def browser(chromium: str, chromedriver: str, width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},1000",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        "--no-first-run",
        "--disable-extensions",
        "--font-render-hinting=none",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def shoot(url: str, out: Path, chromium: str, chromedriver: str, width: int, focus: int) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser(chromium, chromedriver, width)
    try:
        d.set_window_size(width, 1000)
        d.get(url.rstrip("/") + "/")
        WebDriverWait(d, 30).until(lambda d: d.execute_script("return !!window.slantReader"))
        d.find_element(By.ID, "sample-button").click()
        d.find_element(By.ID, "analyze-button").click()
        WebDriverWait(d, 300).until(
            lambda d: d.execute_script(
                "return !!window.slantReader.answer() || !document.getElementById('error').hidden"
            )
        )
        error = d.find_element(By.ID, "error")
        if error.is_displayed():
            raise SystemExit(f"the page shows an error: {error.text}")
        answer = d.execute_script("return window.slantReader.answer()")
        height = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(width, height)
        d.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
        if focus >= 0:  # show one paragraph's calibrated scores, as keyboard focus does
            d.execute_script(
                "document.querySelectorAll('#paragraphs .para')[arguments[0]].focus({preventScroll: true})", focus
            )
        time.sleep(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(out))
        return answer
    finally:
        d.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "slant-base"), help="artifact folder to serve")
    ap.add_argument("--url", help="use this running service instead of starting one")
    ap.add_argument("--out", default=str(REPO / "docs" / "reader.png"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--focus", type=int, default=-1, help="focus this paragraph, showing its scores (default: none)")
    ap.add_argument(
        "--chromium", default=os.environ.get("SLANT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    ap.add_argument(
        "--chromedriver",
        default=os.environ.get("SLANT_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver",
    )
    args = ap.parse_args()
    for exe in (args.chromium, args.chromedriver):
        if not Path(exe).exists():
            raise SystemExit(
                f"{exe} not found: apt-get install -y chromium chromium-driver (or --chromium/--chromedriver)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise SystemExit(
            "selenium is not installed: .venv/bin/pip install selenium (it is in the [dev] extra)"
        ) from None

    server = None
    url = args.url
    tmp = tempfile.TemporaryDirectory(prefix="slant-screenshot-")
    try:
        if not url:
            from serving.launcher import ServeProcess

            env = {
                **os.environ,
                "SLANT_MODEL": str(Path(args.model).resolve()),
                "HF_HUB_OFFLINE": "1",
                "BENTOML_DO_NOT_TRACK": "true",
                "SLANT_RELOAD_INTERVAL_S": "0",
                "SLANT_FEEDBACK_DB": str(Path(tmp.name) / "feedback.sqlite3"),
            }
            server = ServeProcess(env, Path(tmp.name) / "bentoml.log")
            print(f"starting bentoml serve on {server.url} with {args.model} ...", flush=True)
            server.wait_ready(600)
            url = server.url
        answer = shoot(url, Path(args.out), args.chromium, args.chromedriver, args.width, args.focus)
        print(
            f"wrote {args.out}: {answer['model']['name']} {answer['model']['version']}, "
            f"{len(answer['paragraphs'])} paragraphs, targets {answer['targets']}"
        )
    finally:
        if server is not None:
            server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
