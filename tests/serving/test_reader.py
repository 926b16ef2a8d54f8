"""The reader (GET /), driven in the system's headless Chromium (Selenium) against a real
`bentoml serve` with the tiny test model.

The browser tests skip, with a message, when Chromium or chromedriver is not installed
(`apt-get install -y chromium chromium-driver`; .ci/run does it). Nothing downloads a browser.
Screenshots go to test-output/reader/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "test-output" / "reader"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
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


# ---- the server: a copy of the test model with a low loaded-word threshold -----------------


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


@pytest.fixture(scope="module")
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


# ---- plain HTTP: the routes ------------------------------------------------------------------


def test_routes_reader_at_root_docs_moved(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'id="article-form"' in r.text and "/static/reader.js" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("reader.js", "reader.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200, name
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "googletagmanager" not in docs.text  # the docs page loads nothing from outside either
    assert client.get("/static_content/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs.json").json()["paths"]["/classify"]
    assert client.get("/docs/", follow_redirects=False).headers["location"] == "/docs"
    for bad in ("/static/../service.py", "/static/%2e%2e/service.py", "/static/nope.js", "/static/"):
        assert client.get(bad).status_code == 404, bad
    assert client.post("/classify", json={"article": {"text": "One paragraph."}}).status_code == 200


# ---- the browser -----------------------------------------------------------------------------


def test_analyze_renders_every_paragraph(driver, server, client):
    d = driver
    expected = classify(client)
    assert sum(len(p["bias"]["spans"]) for p in expected["paragraphs"]) > 0, "the test model gave no spans"
    open_reader(d, server)
    fill(d, TEXT, TARGETS, title="Barrier approved")
    chips = [c.text.replace("×", "").strip() for c in d.find_elements(*by("#target-chips li"))]
    assert chips == TARGETS
    # While the answer is on its way the page says so (the answer is held back for a second here).
    d.execute_script("""
        const real = window.fetch;
        window.fetch = (url, init) => new Promise(r => setTimeout(r, 1200)).then(() => { window.fetch = real; return real(url, init); });""")
    d.find_element(*by("#analyze-button")).click()
    progress = d.find_element(*by("#progress"))
    assert "Analyzing 4 paragraphs" in progress.text
    assert d.find_elements(*by("#progress .spinner"))
    assert not d.find_element(*by("#analyze-button")).is_enabled()
    wait(d, lambda d: d.execute_script("return !!window.slantReader.answer()"))
    assert "Analyzed 4 paragraphs" in d.find_element(*by("#progress")).text

    shown = d.execute_script("return window.slantReader.answer()")
    assert shown["targets"] == TARGETS and shown["title"] == "Barrier approved"
    got = paragraph_state(d)
    assert len(got) == len(expected["paragraphs"]) == 4
    for g, p, q in zip(got, expected["paragraphs"], shown["paragraphs"]):
        assert (p["start"], p["end"], p["text"]) == (q["start"], q["end"], q["text"])
        assert TEXT[p["start"] : p["end"]] == p["text"] == g["text"]
        label = p["stance"][0]["label"]
        assert f"stance-{label}" in g["classes"] and g["stance"] == label, (g, p["stance"])
        assert g["tag"].startswith(label.upper())
        assert ("unsure" in g["classes"]) == (max(p["stance"][0]["scores"].values()) < 0.5)
        # Every span of the answer is underlined in place, and nothing else is.
        assert g["loaded"] == [s["text"] for s in p["bias"]["spans"]]
        assert g["chips"] == [pretty(f) for f in p["frames"]["labels"]]
        assert g["badges"] == [pretty(t) for t in p["techniques"]["labels"]]
    assert len(d.find_elements(*by("#paragraphs .loaded"))) == sum(
        len(p["bias"]["spans"]) for p in expected["paragraphs"]
    )

    summary = d.find_element(*by("#summary")).text
    assert f"{expected['model']['name']} {expected['model']['version']}" in summary
    assert f"{expected['summary']['bias']['score']:.2f}" in summary
    assert len(d.find_elements(*by("#summary .stance-row"))) == 2
    assert d.find_element(*by("#model-badge")).text == f"{expected['model']['name']} {expected['model']['version']}"

    # Keyboard: paragraphs take focus, arrows move between them, focus shows the scores.
    first = d.find_element(*by("#paragraphs .para"))
    d.execute_script("arguments[0].focus()", first)
    from selenium.webdriver.common.keys import Keys

    first.send_keys(Keys.ARROW_DOWN)
    active = d.switch_to.active_element
    assert active.get_attribute("data-index") == "1"
    scores = active.find_element(*by(".scores"))
    assert scores.is_displayed() and "Stance toward “Tom Hadley”" in scores.text
    p1 = expected["paragraphs"][1]
    assert f"favor {p1['stance'][0]['scores']['favor']:.2f}" in scores.text
    d.save_screenshot(str(OUT / "analyzed-1280.png"))
    assert not js_errors(d)


def test_switching_target_changes_tints(driver, server, client):
    from selenium.webdriver.support.ui import Select

    d = driver
    open_reader(d, server)
    fill(d, TEXT, TARGETS)
    analyze(d)
    answer = d.execute_script("return window.slantReader.answer()")
    for k, target in enumerate(TARGETS):
        Select(d.find_element(*by("#target-picker"))).select_by_visible_text(target)
        got = paragraph_state(d)
        labels = [p["stance"][k]["label"] for p in answer["paragraphs"]]
        assert [g["stance"] for g in got] == labels
        for g, label in zip(got, labels):
            assert f"stance-{label}" in g["classes"]
            assert not {f"stance-{o}" for o in ("favor", "against", "neutral") if o != label} & set(g["classes"])
        picked = d.find_elements(*by("#summary .stance-row.picked"))
        assert len(picked) == 1 and target in picked[0].text
    # The summary's rows pick the target too.
    d.find_elements(*by("#summary .stance-row"))[0].click()
    assert d.find_element(*by("#target-picker")).get_attribute("value") == "0"
    assert [g["stance"] for g in paragraph_state(d)] == [p["stance"][0]["label"] for p in answer["paragraphs"]]


def _open_correction(d, index):
    para = d.find_elements(*by("#paragraphs .para"))[index]
    para.find_element(*by(".fix summary")).click()
    return para.find_element(*by(".fix-form"))


def test_correction_is_stored(driver, server, client, server_env):
    from selenium.webdriver.support.ui import Select

    d = driver
    open_reader(d, server)
    fill(d, TEXT, TARGETS)
    analyze(d)
    answer = d.execute_script("return window.slantReader.answer()")
    p = answer["paragraphs"][2]
    before = client.get("/feedback/stats").json()["rows"]

    form = _open_correction(d, 2)
    status = form.find_element(*by(".fix-status"))
    form.find_element(*by("button[type=submit]")).click()
    assert "Nothing changed" in status.text

    new_stance = next(l for l in ("against", "favor", "neutral") if l != p["stance"][1]["label"])
    Select(form.find_element(*by('select[data-target="the city council"]'))).select_by_value(new_stance)
    frame = next(f for f in ("economic", "political") if f not in p["frames"]["labels"])
    form.find_element(*by(f'fieldset[data-task="frames"] input[value="{frame}"]')).click()
    form.find_element(*by(".annotator")).send_keys("reader-test")
    form.find_element(*by("button[type=submit]")).click()
    wait(d, lambda d: "stored" in status.text or "Not stored" in status.text)
    assert "2 corrections stored" in status.text, status.text
    assert "fix-ok" in status.get_attribute("class")

    stats = client.get("/feedback/stats").json()
    assert stats["rows"] == before + 2
    assert stats["tasks"]["stance"]["labels"].get(new_stance, 0) >= 1
    with sqlite3.connect(server_env["SLANT_FEEDBACK_DB"]) as con:
        rows = con.execute(
            "SELECT task, text, target, labels, annotator, article_id FROM feedback ORDER BY id DESC LIMIT 2"
        ).fetchall()
    by_task = {r[0]: r for r in rows}
    assert by_task["stance"][1:5] == (p["text"], "the city council", json.dumps([new_stance]), "reader-test")
    assert frame in json.loads(by_task["frames"][3]) and by_task["frames"][1] == p["text"]
    assert by_task["stance"][5].startswith("reader-")
    d.save_screenshot(str(OUT / "correction.png"))

    # A refused correction shows the service's own message (the service validates; here a
    # tampered request with an unknown label stands in for a schema mismatch).
    d.execute_script("""
        const real = window.fetch;
        window.fetch = (url, init) => {
            window.fetch = real;
            const body = JSON.parse(init.body);
            body.items[0].label = 'pro';
            return real(url, {...init, body: JSON.stringify(body)});
        };""")
    Select(form.find_element(*by('select[data-task="bias"]'))).select_by_value(
        "biased" if p["bias"]["label"] == "neutral" else "neutral"
    )
    form.find_element(*by("button[type=submit]")).click()
    wait(d, lambda d: "Not stored" in status.text or "stored (" in status.text)
    assert "Not stored" in status.text and "unknown bias label 'pro'" in status.text, status.text
    assert "HTTP 400" in status.text
    assert client.get("/feedback/stats").json()["rows"] == before + 2


def test_api_key_is_asked_once_and_sent(driver, server):
    """Today /feedback needs no key; a service that answers 401 gets one from the user, stored in
    localStorage and sent as a Bearer token (simulated here by answering the first call with 401)."""
    from selenium.webdriver.support.ui import Select

    d = driver
    open_reader(d, server)
    fill(d, TEXT, TARGETS)
    analyze(d)
    d.execute_script("""
        const real = window.fetch;
        window.seenAuth = [];
        let refused = false;
        window.fetch = (url, init) => {
            window.seenAuth.push((init.headers || {}).Authorization || null);
            if (!refused) {
                refused = true;
                return Promise.resolve(new Response(JSON.stringify({error: 'an API key is required'}),
                    {status: 401, headers: {'Content-Type': 'application/json'}}));
            }
            return real(url, init);
        };""")
    form = _open_correction(d, 0)
    answer = d.execute_script("return window.slantReader.answer()")
    first = answer["paragraphs"][0]["stance"][0]["label"]
    Select(form.find_element(*by("select[data-task=stance]"))).select_by_value(
        "favor" if first != "favor" else "against"
    )
    form.find_element(*by("button[type=submit]")).click()
    dialog = wait(
        d, lambda d: d.find_element(*by("#key-dialog")) if d.find_element(*by("#key-dialog")).is_displayed() else False
    )
    assert "an API key is required" in dialog.text
    d.save_screenshot(str(OUT / "api-key.png"))
    dialog.find_element(*by("#key-input")).send_keys("s3cret-key")
    dialog.find_element(*by("button[value=ok]")).click()
    status = form.find_element(*by(".fix-status"))
    wait(d, lambda d: "stored" in status.text)
    assert "1 correction stored" in status.text
    assert d.execute_script("return window.seenAuth") == [None, "Bearer s3cret-key"]
    assert d.execute_script("return localStorage.getItem('slant.apiKey')") == "s3cret-key"
    assert d.find_element(*by("#forget-key")).is_displayed()
    # The next request sends the stored key without asking again.
    d.find_element(*by("#analyze-button")).click()
    wait(d, lambda d: len(d.execute_script("return window.seenAuth")) == 3)
    assert d.execute_script("return window.seenAuth")[2] == "Bearer s3cret-key"
    assert not d.find_element(*by("#key-dialog")).is_displayed()
    d.find_element(*by("#forget-key")).click()
    assert d.execute_script("return localStorage.getItem('slant.apiKey')") is None


def test_errors_show_the_service_message(driver, server, client):
    d = driver
    open_reader(d, server)
    fill(d, "   \n\n  ")
    expected = client.post("/classify", json={"article": {"text": "   \n\n  "}})
    assert expected.status_code == 400
    analyze(d)
    error = d.find_element(*by("#error"))
    assert error.is_displayed()
    assert "HTTP 400" in error.text and expected.json()["error"] in error.text, error.text
    assert error.get_attribute("role") == "alert"
    d.save_screenshot(str(OUT / "error-400.png"))
    # HTML with no article text: the same path, another message from the service.
    d.find_element(*by("input[name=mode][value=html]")).click()
    d.execute_script(
        "document.getElementById('article-input').value = '<html><body><script>x()</script></body></html>'"
    )
    analyze(d)
    assert "HTTP 400" in d.find_element(*by("#error")).text
    # Too long: 413, with the service's message.
    d.find_element(*by("input[name=mode][value=text]")).click()
    long_text = "\n\n".join(["A sentence that repeats for a while."] * (MAX_CHARS // 30))
    expected = client.post("/classify", json={"article": {"text": long_text}})
    assert expected.status_code == 413
    fill(d, long_text)
    analyze(d)
    assert "HTTP 413" in d.find_element(*by("#error")).text
    assert expected.json()["error"] in d.find_element(*by("#error")).text
    # A good article afterwards clears the error.
    d.find_element(*by("input[name=mode][value=text]")).click()
    fill(d, TEXT)
    analyze(d)
    assert not d.find_element(*by("#error")).is_displayed()
    assert not js_errors(d)


def test_open_html_file(driver, server, tmp_path):
    d = driver
    page = tmp_path / "story.html"
    body = "".join(f"<p>{p}</p>" for p in TEXT.split("\n\n"))
    page.write_text(
        "<!DOCTYPE html><html><head><title>Flood barrier approved</title><script>alert(1)</script></head>"
        f"<body><nav>Home | News</nav><article><h1>Flood barrier approved</h1>{body}</article></body></html>"
    )
    open_reader(d, server)
    d.find_element(*by("#file-input")).send_keys(str(page))
    wait(d, lambda d: "story.html" in d.find_element(*by("#file-name")).text)
    assert d.find_element(*by("input[name=mode][value=html]")).is_selected()
    assert d.find_element(*by("#article-input")).get_attribute("value").startswith("<!DOCTYPE html>")
    analyze(d)
    answer = d.execute_script("return window.slantReader.answer()")
    assert answer and not d.find_element(*by("#error")).is_displayed()
    texts = [p["text"] for p in answer["paragraphs"]]
    assert any("recklessly squandered" in t for t in texts) and not any("alert(1)" in t for t in texts)
    assert len(d.find_elements(*by("#paragraphs .para"))) == len(texts)
    assert not js_errors(d)


def test_phone_layout_has_no_horizontal_overflow(driver, server):
    d = driver
    open_reader(d, server, width=375, height=800)
    d.find_element(*by("#sample-button")).click()
    analyze(d)
    assert d.execute_script("return window.slantReader.answer().paragraphs.length") == 5
    _open_correction(d, 1)
    widths = d.execute_script(
        "return [window.innerWidth, document.documentElement.clientWidth, document.documentElement.scrollWidth]"
    )
    assert widths[0] == 375, widths
    assert widths[2] <= widths[1] + 1 and widths[2] <= 375 + 1, f"horizontal overflow at 375 px: {widths}"
    d.set_window_size(375, min(d.execute_script("return document.documentElement.scrollHeight"), 6000))
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(OUT / "phone-375.png"))


def test_downloads(driver, server):
    d = driver
    downloads = OUT / "downloads"
    for f in downloads.glob("slant-*"):
        f.unlink()
    open_reader(d, server)
    fill(d, TEXT, TARGETS, title="Barrier approved")
    analyze(d)
    answer = d.execute_script("return window.slantReader.answer()")
    d.find_element(*by("#download-json")).click()
    d.find_element(*by("#download-csv")).click()
    deadline = time.time() + 20
    while time.time() < deadline and not (
        (downloads / "slant-barrier-approved.json").exists() and (downloads / "slant-barrier-approved.csv").exists()
    ):
        time.sleep(0.2)
    assert json.loads((downloads / "slant-barrier-approved.json").read_text()) == answer
    rows = list(csv.DictReader(io.StringIO((downloads / "slant-barrier-approved.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(answer["paragraphs"])
    for row, p in zip(rows, answer["paragraphs"]):
        assert row["text"] == p["text"] and int(row["start"]) == p["start"] and int(row["end"]) == p["end"]
        assert row["stance:Tom Hadley"] == p["stance"][0]["label"]
        assert row["stance:the city council"] == p["stance"][1]["label"]
        assert row["frames"] == ";".join(p["frames"]["labels"])
        assert row["loaded_words"] == ";".join(s["text"] for s in p["bias"]["spans"])


def test_accessibility_axe(driver, server):
    """axe-core (vendored, tests/serving/vendor/) on the analyzed page with a correction form open."""
    d = driver
    open_reader(d, server)
    d.execute_script(AXE.read_text(encoding="utf-8"))
    reports = {"empty page": run_axe(d)}
    d.find_element(*by("#sample-button")).click()
    analyze(d)
    _open_correction(d, 0)
    d.find_element(*by("#paragraphs .para")).click()  # focused: its scores are shown
    reports["analyzed page, a correction form open"] = run_axe(d)
    lines = []
    for name, result in reports.items():
        assert "error" not in result, result
        violations = result["violations"]
        lines.append(
            f"axe-core {result['version']} on the {name}: {result['passes']} rules passed, "
            f"{len(violations)} violated; left for review: {result['incomplete']}"
        )
        lines += [
            f"  [{v['impact']}] {v['id']}: {v['help']} ({v['nodes']} nodes, e.g. {v['targets']})" for v in violations
        ]
    print("\n" + "\n".join(lines))
    (OUT / "axe.txt").write_text("\n".join(lines) + "\n")
    critical = [v for r in reports.values() for v in r["violations"] if v["impact"] == "critical"]
    assert not critical, "\n".join(lines)


def run_axe(d) -> dict:
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done({version: axe.version, passes: r.passes.length,"
        " incomplete: r.incomplete.map(v => v.id).join(', ') || 'none',"
        " violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
        " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))}))"
        ".catch(e => done({error: String(e)}))"
    )
