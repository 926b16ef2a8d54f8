"""The reader (GET /) as a reader uses it: the routes, an analyzed article (tints, underlined loaded
words, chips, badges, summary, keyboard), switching targets, the service's errors, opening an HTML
file, a phone-sized window, downloads and an accessibility scan. Driven in the system's headless
Chromium (Selenium) against a real `bentoml serve` with the tiny test model.

The browser tests skip, with a message, when Chromium or chromedriver is not installed
(`apt-get install -y chromium chromium-driver`; .ci/run does it). Nothing downloads a browser.
Screenshots go to test-output/reader/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import json
import time

from reader_page import (
    AXE,
    MAX_CHARS,
    OUT,
    TARGETS,
    TEXT,
    analyze,
    by,
    classify,
    fill,
    js_errors,
    open_correction,
    open_reader,
    paragraph_state,
    pretty,
    run_axe,
    wait,
)


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
    open_correction(d, 1)
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
    open_correction(d, 0)
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
