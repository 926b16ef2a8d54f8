"""The reader's test page model: the article, the browser's locations, and the steps a user takes
(open, fill, analyze, open a correction), shared by the reader's test modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "test-output" / "reader"
AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("SLANT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("SLANT_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 60

TEXT = (
    "The city council voted 7-2 on Sunday to approve a 40 million dollar flood barrier along the Ashby River.\n\n"
    'Mayor Tom Hadley said the barrier would be finished before the winter storms. "This is the most '
    'important decision this council has made in a generation," he told reporters.\n\n'
    "Critics said the council had recklessly squandered taxpayers' money on a vanity project that will push "
    "floodwater onto farms downstream.\n\n"
    "Hadley, a tireless and visionary leader, thanked residents for their patience."
)
TARGETS = ["Tom Hadley", "the city council"]
MAX_CHARS = 20_000


def by(css):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def wait(d, condition, timeout=WAIT_S, message=""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout).until(condition, message)


def open_reader(d, server, width=1280, height=1000):
    d.set_window_size(width, height)
    d.get(server.url + "/")
    wait(d, lambda d: d.execute_script("return !!window.slantReader"), message="reader.js did not load")
    d.execute_script("localStorage.clear()")


def fill(d, text, targets=(), title=""):
    d.execute_script("document.getElementById('article-input').value = arguments[0]", text)
    if title:
        d.find_element(*by("#title-input")).send_keys(title)
    box = d.find_element(*by("#target-input"))
    for t in targets:
        box.send_keys(t + "\n")


def analyze(d):
    d.find_element(*by("#analyze-button")).click()
    wait(
        d,
        lambda d: d.execute_script(
            "return !document.getElementById('analyze-button').disabled && "
            "(!!window.slantReader.answer() || !document.getElementById('error').hidden)"
        ),
        message="no answer, no error",
    )


def js_errors(d):
    """Console errors, except the network lines Chrome logs for 4xx answers the page handled."""
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


def classify(client, text=TEXT, targets=TARGETS):
    r = client.post("/classify", json={"article": {"text": text, "targets": list(targets)}})
    assert r.status_code == 200, r.text
    return r.json()


def paragraph_state(d):
    return d.execute_script("""
        return [...document.querySelectorAll('#paragraphs .para')].map(p => ({
            classes: [...p.classList],
            stance: p.dataset.stance,
            tag: p.querySelector('.stance-tag').textContent,
            text: p.querySelector('.para-text').textContent,
            loaded: [...p.querySelectorAll('.para-text .loaded')].map(s => s.textContent),
            chips: [...p.querySelectorAll('.frame-chip')].map(s => s.textContent),
            badges: [...p.querySelectorAll('.technique-badge')].map(s => s.textContent),
        }));""")


def pretty(label):
    s = label.replace("_", " ").replace("-", " / ")
    return s[:1].upper() + s[1:].lower()


def open_correction(d, index):
    para = d.find_elements(*by("#paragraphs .para"))[index]
    para.find_element(*by(".fix summary")).click()
    return para.find_element(*by(".fix-form"))


def run_axe(d) -> dict:
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done({version: axe.version, passes: r.passes.length,"
        " incomplete: r.incomplete.map(v => v.id).join(', ') || 'none',"
        " violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
        " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))}))"
        ".catch(e => done({error: String(e)}))"
    )
