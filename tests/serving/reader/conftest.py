"""The reader's fixtures: a server serving a copy of the test model with a low loaded-word
threshold, and the system's headless Chromium (the tests skip, saying why, without it)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from reader_page import CHROMEDRIVER, CHROMIUM, MAX_CHARS, OUT, TEXT


@pytest.fixture(scope="module")
def reader_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reader")


@pytest.fixture(scope="module")
def server_env(serving_artifact, reader_root):
    """Overrides tests/serving/conftest.py: serve a copy of the test artifact whose loaded-word
    threshold is the 80th percentile of its token scores on TEXT, so the answers carry spans
    (a tiny model's threshold may leave none), and keep corrections in a store of our own."""
    from slant.artifact import load
    from slant.labels import BIAS_TOKENS
    from slant.predictor import Pass, Predictor

    artifact = reader_root / "artifact"
    shutil.copytree(serving_artifact, artifact)
    results = Predictor(load(artifact)).score([Pass(p) for p in TEXT.split("\n\n")])
    probs = sorted(p for r in results for _, _, p in r.tokens)
    calibration = json.loads((artifact / "calibration.json").read_text())
    calibration["thresholds"][BIAS_TOKENS]["loaded"] = probs[int(len(probs) * 0.8)]
    (artifact / "calibration.json").write_text(json.dumps(calibration, indent=2))
    return {
        "SLANT_MODEL": str(artifact),
        "SLANT_FEEDBACK_DB": str(reader_root / "feedback.sqlite3"),
        "SLANT_RELOAD_INTERVAL_S": "0",
        "SLANT_MAX_CHARS": str(MAX_CHARS),  # a small limit makes the 413 case cheap
    }


# ---- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="package")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    if missing:
        pytest.skip(
            f"the reader's browser tests need Chromium and chromedriver; not found: {', '.join(missing)}. "
            "Install them with `apt-get install -y chromium chromium-driver` (.ci/run does), or point "
            "SLANT_CHROMIUM / SLANT_CHROMEDRIVER at them"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "downloads").mkdir(exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=en-US",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(OUT / "downloads"),
            "download.prompt_for_download": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    d.set_script_timeout(60)
    yield d
    d.quit()
