"""Corrections from the reader: stored in the feedback store as the user chose them, a refused one
shown with the service's message, and an API key asked for once and then sent with every request.
Driven in the system's headless Chromium against a real `bentoml serve` (see test_reading.py)."""

from __future__ import annotations

import json
import sqlite3

from reader_page import OUT, TARGETS, TEXT, analyze, by, fill, open_correction, open_reader, wait


def test_correction_is_stored(driver, server, client, server_env):
    from selenium.webdriver.support.ui import Select

    d = driver
    open_reader(d, server)
    fill(d, TEXT, TARGETS)
    analyze(d)
    answer = d.execute_script("return window.slantReader.answer()")
    p = answer["paragraphs"][2]
    before = client.get("/feedback/stats").json()["rows"]

    form = open_correction(d, 2)
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
    form = open_correction(d, 0)
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
