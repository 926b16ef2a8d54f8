"""The HTTP contract (docs/api.md) and every bad-input case, against a real `bentoml serve`."""

from __future__ import annotations

import json

import pytest

from slant.labels import FRAMES, TECHNIQUES

MAX_BODY = 300_000


# Small limits make the 413 cases cheap; docs/api.md documents the defaults.
@pytest.fixture(scope="module")
def server_env():
    return {
        "SLANT_MAX_BODY_BYTES": str(MAX_BODY),
        "SLANT_MAX_PARAGRAPHS": "40",
        "SLANT_MAX_CHARS": "20000",
        "SLANT_MAX_BATCH_ARTICLES": "4",
    }


TEXT = (
    "The city council voted on Sunday to approve a flood barrier along the Ashby River.\n\n"
    "Mayor Tom Hadley said the barrier would be finished before the winter storms.\n\n"
    "Critics said the council had recklessly wasted money on a vanity project."
)
PARAGRAPH_KEYS = {"index", "text", "start", "end", "stance", "frames", "techniques", "bias"}


def post(client, path, payload=None, **kw):
    if payload is not None:
        kw["json"] = payload
    return client.post(path, **kw)


def assert_error(r, status, *words):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    for w in words:
        assert w.lower() in body["error"].lower(), (w, body["error"])
    return body["error"]


# ---- the service is up -------------------------------------------------------------------


def test_probes(client):
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


def test_openapi_has_sample_article(client):
    spec = client.get("/docs.json").json()
    assert {"/classify", "/classify_batch"} <= set(spec["paths"])
    example = spec["components"]["schemas"]["ArticleIn"]["example"]
    assert example["text"] and example["targets"]
    # The model worker's internal endpoint is not part of the public API.
    assert "/score" not in spec["paths"]


# ---- the contract ------------------------------------------------------------------------


def test_classify_text_answer_shape(client):
    r = post(client, "/classify", {"article": {"text": TEXT, "title": "Barrier", "targets": ["Tom Hadley"]}})
    assert r.status_code == 200, r.text
    a = r.json()
    assert set(a) >= {"model", "title", "targets", "paragraphs", "summary"}
    assert a["model"]["name"] and a["model"]["version"]
    assert a["title"] == "Barrier" and a["targets"] == ["Tom Hadley"]
    assert len(a["paragraphs"]) == 3
    for i, p in enumerate(a["paragraphs"]):
        assert set(p) == PARAGRAPH_KEYS and p["index"] == i
        assert TEXT[p["start"] : p["end"]] == p["text"]
        [s] = p["stance"]
        assert s["target"] == "Tom Hadley" and s["label"] in s["scores"]
        assert set(s["scores"]) == {"favor", "against", "neutral"}
        assert abs(sum(s["scores"].values()) - 1) < 1e-3
        # Every trained label of the schema (labels a model never saw are not reported).
        assert 0 < len(p["frames"]["scores"]) <= 15 and 0 < len(p["techniques"]["scores"]) <= 23
        assert set(p["frames"]["scores"]) <= set(FRAMES.labels)
        assert set(p["techniques"]["scores"]) <= set(TECHNIQUES.labels)
        assert set(p["frames"]["labels"]) <= set(p["frames"]["scores"])
        assert p["bias"]["label"] in ("neutral", "biased") and 0 <= p["bias"]["score"] <= 1
        for span in p["bias"]["spans"]:
            assert p["text"][span["start"] : span["end"]] == span["text"]
    assert set(a["summary"]) == {"stance", "frames", "techniques", "bias"}


def test_classify_paragraphs_and_options(client):
    paragraphs = ["First paragraph about the economy.", "Second one about crime and punishment."]
    r = post(
        client,
        "/classify",
        {
            "article": {"paragraphs": paragraphs, "targets": ["the economy", "crime"], "url": "https://example.org/a"},
            "options": {"include_text": False},
        },
    )
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["url"] == "https://example.org/a"
    assert [p.get("text") for p in a["paragraphs"]] == [None, None]
    assert [len(p["stance"]) for p in a["paragraphs"]] == [2, 2]
    assert [s["target"] for s in a["summary"]["stance"]] == ["the economy", "crime"]


def test_no_targets_means_no_stance(client):
    r = post(client, "/classify", {"article": {"text": TEXT, "targets": []}})
    assert r.status_code == 200 and r.json()["targets"] == []
    r = post(client, "/classify", {"article": {"text": TEXT}, "options": {"max_auto_targets": 0}})
    assert r.status_code == 200 and r.json()["targets"] == []


def test_automatic_targets(client):
    r = post(client, "/classify", {"article": {"text": TEXT}, "options": {"max_auto_targets": 2}})
    assert r.status_code == 200
    a = r.json()
    assert 1 <= len(a["targets"]) <= 2
    assert all(len(p["stance"]) == len(a["targets"]) for p in a["paragraphs"])


def test_html_scripts_are_dropped_never_echoed(client):
    html = (
        "<html><head><title>Barrier vote</title><script>var SECRET_TOKEN='x'; alert('pwned')</script>"
        "<style>.x{color:red}</style></head><body><nav>Home | News</nav><article><h1>Barrier vote</h1>"
        "<p>The council voted on Sunday to approve a flood barrier along the Ashby River.</p>"
        "<script>document.write('INJECTED_TEXT')</script>"
        "<p onclick=\"alert('handler')\">Critics said the council had wasted money on the project.</p>"
        "</article></body></html>"
    )
    r = post(client, "/classify", {"article": {"html": html}})
    assert r.status_code == 200, r.text
    for bad in ("SECRET_TOKEN", "INJECTED_TEXT", "alert", "<script", "color:red"):
        assert bad not in r.text
    a = r.json()
    assert a["title"] == "Barrier vote"
    assert any("flood barrier" in p["text"] for p in a["paragraphs"])


def test_batch_in_order(client):
    arts = [{"text": f"Article number {i} is about the harbour."} for i in range(4)]
    r = post(client, "/classify_batch", {"articles": arts})
    assert r.status_code == 200, r.text
    answers = r.json()
    assert [a["paragraphs"][0]["text"] for a in answers] == [x["text"] for x in arts]


# ---- bad input: always a 4xx with a message that says what to fix -----------------------


@pytest.mark.parametrize(
    "article, words",
    [
        ({"text": ""}, ["empty"]),
        ({"text": "   \n\n\t  "}, ["empty"]),
        ({"paragraphs": []}, ["paragraphs"]),
        ({"paragraphs": ["  ", ""]}, ["paragraph"]),
        ({"html": "   "}, ["empty"]),
        ({}, ["exactly one", "text", "html", "paragraphs"]),
        ({"text": "a", "html": "<p>b</p>"}, ["exactly one"]),
        ({"text": "a", "paragraphs": ["b"]}, ["exactly one"]),
        ({"html": "<html><script>alert(1)</script></html>"}, ["no article text"]),
        ({"text": "hello", "targets": [f"t{i}" for i in range(11)]}, ["targets", "SLANT_MAX_TARGETS"]),
        ({"text": "hello", "targets": ["x" * 500]}, ["target"]),
    ],
)
def test_bad_article_is_400(client, article, words):
    r = post(client, "/classify", {"article": article})
    assert_error(r, 400, *words)


@pytest.mark.parametrize(
    "payload, words",
    [
        ({"article": {"text": 5}}, ["article.text", "string"]),
        ({"article": {"paragraphs": "one string"}}, ["article.paragraphs"]),
        ({"article": {"paragraphs": ["ok", 3]}}, ["article.paragraphs.1"]),
        ({"article": {"text": "hi", "targets": "Maduro"}}, ["article.targets"]),
        ({"article": {"text": "hi", "targets": [1, 2]}}, ["article.targets.0"]),
        ({"article": {"text": "hi", "title": ["x"]}}, ["article.title"]),
        ({"article": {"text": "hi", "body": "x"}}, ["article.body", "unknown field"]),
        ({"article": {"text": "hi", "title": "T" * 1001}}, ["article.title", "1000"]),
        ({"article": {"text": "hi", "url": "u" * 9000}}, ["article.url"]),
        ({"article": "just a string"}, ["article"]),
        ({"article": None}, ["article"]),
        ({}, ["article", "required"]),
        ([1, 2, 3], []),
        ({"article": {"text": "hi"}, "options": {"max_auto_targets": -1}}, ["options.max_auto_targets"]),
        ({"article": {"text": "hi"}, "options": {"max_auto_targets": "many"}}, ["options.max_auto_targets"]),
        ({"article": {"text": "hi"}, "options": {"colour": "red"}}, ["options.colour"]),
    ],
)
def test_wrong_types_are_400(client, payload, words):
    r = post(client, "/classify", payload)
    error = assert_error(r, 400, *words)
    assert "expected" in error.lower()  # says what a good request looks like


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all",
        b'{"article": {"text": "unterminated',
        b'{"article": {"text": "caf\xe9 latin-1 \xff"}}',  # not UTF-8
        b"\xff\xfe{\x00}\x00",  # UTF-16 with BOM
        b'{"article": {"text": "lone \\ud800 surrogate"}}',
    ],
)
def test_invalid_json_or_encoding_is_400(client, body):
    r = client.post("/classify", content=body, headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid")


def test_too_long_text_is_413(client):
    r = post(client, "/classify", {"article": {"text": "word " * 5000}})  # 25,000 > 20,000 chars
    assert_error(r, 413, "SLANT_MAX_CHARS")


def test_too_many_paragraphs_is_413(client):
    r = post(client, "/classify", {"article": {"paragraphs": [f"Paragraph {i}." for i in range(41)]}})
    assert_error(r, 413, "paragraphs", "SLANT_MAX_PARAGRAPHS")


def test_too_large_body_is_413(client):
    r = post(client, "/classify", {"article": {"html": "<p>x</p>" * (MAX_BODY // 8 + 10)}})
    assert_error(r, 413, "SLANT_MAX_BODY_BYTES")


def test_too_large_chunked_body_is_413(client):
    def chunks():
        yield b'{"article": {"html": "'
        for _ in range(MAX_BODY // 10_000 + 5):
            yield b"x" * 10_000
        yield b'"}}'

    r = client.post("/classify", content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "SLANT_MAX_BODY_BYTES")


def test_batch_limits_and_errors(client):
    assert_error(post(client, "/classify_batch", {"articles": []}), 400, "empty")
    assert_error(post(client, "/classify_batch", {"articles": [{"text": "x"}] * 5}), 413, "SLANT_MAX_BATCH_ARTICLES")
    assert_error(
        post(client, "/classify_batch", {"articles": [{"text": "fine"}, {"text": " "}]}), 400, "articles[1]", "empty"
    )
    assert_error(post(client, "/classify_batch", {"articles": [{"text": 1}]}), 400, "articles.0.text")
    assert_error(post(client, "/classify_batch", {"articles": {"text": "x"}}), 400, "articles")


def test_wrong_method_and_path_are_4xx(client):
    assert 400 <= client.get("/classify").status_code < 500
    assert client.post("/nope", json={}).status_code == 404


def test_other_content_types_are_4xx_not_500(client):
    r = client.post("/classify", content=b"plain words", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500
    r = client.post(
        "/classify",
        content=json.dumps({"article": {"text": "Hi there."}}),
        headers={"content-type": "application/vnd.bentoml+pickle"},
    )
    assert 400 <= r.status_code < 500


def test_service_still_healthy_after_abuse(client):
    r = post(client, "/classify", {"article": {"text": TEXT}})
    assert r.status_code == 200
    assert client.get("/readyz").status_code == 200
