"""Realistic articles through a real server: schema, offsets, summary consistency, batching,
/metrics, and the same answer from HTTP and from `slant classify`."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "slant" / "samples"
RELEASED = REPO / "models" / "slant-base"

ARTICLES = [
    {
        "title": "Parliament passes carbon tax after heated debate",
        "text": (
            "Lawmakers voted 312 to 280 on Tuesday to introduce a carbon tax of 45 euros per tonne, "
            "the most ambitious climate measure the country has passed in a decade.\n\n"
            "Finance Minister Ana Costa said the revenue would be returned to households as a yearly "
            'dividend. "Nobody who plays by the rules will be worse off," she told the chamber.\n\n'
            "Opposition leader Marek Nowak called the tax a reckless assault on working families and "
            "accused the government of destroying jobs to please Brussels bureaucrats.\n\n"
            "Economists were divided. A study by the National Institute estimated that emissions "
            "would fall by 8 percent by 2030, while fuel prices would rise by about 10 cents a litre."
        ),
        "targets": ["Ana Costa", "the carbon tax is a good idea"],
    },
    {
        "title": "Storm leaves thousands without power",
        "paragraphs": [
            "A winter storm swept across the north of the country overnight, cutting power to 40,000 homes.",
            "Emergency services said three people were injured by falling trees; none seriously.",
            "The utility company expects to restore electricity to most customers by Thursday evening.",
        ],
    },
]


def summary_is_consistent(answer: dict) -> None:
    paragraphs = answer["paragraphs"]
    n = len(paragraphs)
    summary = answer["summary"]
    assert [s["target"] for s in summary["stance"]] == answer["targets"]
    for k, s in enumerate(summary["stance"]):
        assert sum(s["paragraphs"].values()) == n
        for label, count in s["paragraphs"].items():
            assert count == sum(p["stance"][k]["label"] == label for p in paragraphs)
    for frame, share in summary["frames"].items():
        assert share == pytest.approx(sum(frame in p["frames"]["labels"] for p in paragraphs) / n, abs=1e-4)
    for technique, count in summary["techniques"].items():
        assert count == sum(technique in p["techniques"]["labels"] for p in paragraphs)
    assert summary["bias"]["biased_paragraphs"] == sum(p["bias"]["label"] == "biased" for p in paragraphs)
    assert summary["bias"]["score"] == pytest.approx(sum(p["bias"]["score"] for p in paragraphs) / n, abs=1e-3)


def test_realistic_text_article(client):
    article = ARTICLES[0]
    r = client.post("/classify", json={"article": article})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["title"] == article["title"] and a["targets"] == article["targets"]
    assert len(a["paragraphs"]) == 4
    for p in a["paragraphs"]:
        assert article["text"][p["start"] : p["end"]] == p["text"]
        assert [s["target"] for s in p["stance"]] == article["targets"]
    summary_is_consistent(a)


def test_scraped_page_furniture_removed_offsets_hold(client):
    text = (SAMPLES / "news_page.txt").read_text(encoding="utf-8")
    r = client.post("/classify", json={"article": {"text": text}})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["targets"], "automatic targets expected for a named-entity-rich article"
    joined = " ".join(p["text"] for p in a["paragraphs"])
    assert "flood barrier" in joined and "Share on Facebook" not in joined and "cookies" not in joined
    for p in a["paragraphs"]:
        assert text[p["start"] : p["end"]] == p["text"]
    summary_is_consistent(a)


def test_largest_article_with_automatic_targets(client):
    """200,000 characters (the default limit), ~100 paragraphs, automatic targets: an answer, not a
    timeout (NER looks at the first ~20,000 characters only)."""
    sentence = "Finance Minister Ana Costa told the parliament in Lisbon that the budget would hold. "
    text = "\n\n".join(sentence * 20 for _ in range(117))[:199_000]
    r = client.post("/classify", json={"article": {"text": text}, "options": {"include_text": False}}, timeout=110)
    assert r.status_code == 200, r.text
    a = r.json()
    assert len(a["paragraphs"]) >= 100 and a["targets"]
    summary_is_consistent(a)


def test_html_page(client):
    html = (SAMPLES / "cookie_page.html").read_text(encoding="utf-8")
    r = client.post("/classify", json={"article": {"html": html}})
    assert r.status_code == 200, r.text
    summary_is_consistent(r.json())


def test_batch_order_and_same_answers_as_single(client):
    articles = [ARTICLES[0], ARTICLES[1], {"text": "Short one.", "targets": []}, ARTICLES[1]]
    r = client.post("/classify_batch", json={"articles": articles})
    assert r.status_code == 200, r.text
    answers = r.json()
    assert len(answers) == len(articles)
    for article, answer in zip(articles, answers):
        # Every window is its own onnxruntime call on CPU, so a paragraph's scores do not depend on
        # what it was sent with: the whole answer is the same, labels and summary included.
        assert answer == client.post("/classify", json={"article": article}).json()


def test_concurrent_requests_share_batches(client):
    def one(i: int):
        article = {
            "text": f"Report {i}: the council met again.\n\nThe mayor spoke for {i} minutes.",
            "targets": ["the mayor"],
        }
        r = client.post("/classify", json={"article": article})
        return r.status_code, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(48)))
    assert all(code == 200 for code, _ in results)
    for i, (_, answer) in enumerate(results):
        assert answer["paragraphs"][0]["text"] == f"Report {i}: the council met again."


def test_metrics_are_prometheus_text(client):
    client.post("/classify", json={"article": {"text": "One more for the counters."}})
    r = client.get("/metrics")
    assert r.status_code == 200
    assert "# TYPE" in r.text and "# HELP" in r.text
    assert "bentoml_service_request_total" in r.text
    assert 'endpoint="/classify"' in r.text
    assert "adaptive_batch_size" in r.text  # the model worker's batching histogram


def test_http_and_cli_give_the_same_answer(client, serving_artifact, tmp_path):
    from slant.cli import main

    article = ARTICLES[0]
    path = tmp_path / "article.txt"
    path.write_text(article["text"], encoding="utf-8")
    args = ["classify", str(path), "--title", article["title"], "--model", str(serving_artifact)]
    for t in article["targets"]:
        args += ["--target", t]
    cli = CliRunner().invoke(main, args)
    assert cli.exit_code == 0, cli.output
    http = client.post("/classify", json={"article": article}).json()
    assert json.loads(cli.stdout) == http  # one model, one preprocessing, one answer builder


@pytest.mark.skipif(not RELEASED.is_dir(), reason="models/slant-base not released yet")
def test_real_model_hostile_paragraph_is_against():
    """The released model, end to end (article -> passes -> answer)."""
    from slant.answer import build_answer, passes_for
    from slant.artifact import load
    from slant.intake import Limits
    from slant.predictor import Predictor
    from slant.requests import ArticleIn, Options, prepare

    artifact = load(RELEASED)
    predictor = Predictor(artifact)
    article_in = ArticleIn(
        paragraphs=[
            "Senator Jane Smith is a corrupt liar who has betrayed every voter in this state. Her "
            "disgraceful record of lies and broken promises proves she is unfit for office and "
            "should resign in shame.",
        ],
        targets=["Jane Smith"],
    )
    article, targets = prepare(article_in, Options(), Limits())
    answer = build_answer(artifact, article, targets, predictor.score(passes_for(article, targets)))
    stance = answer["paragraphs"][0]["stance"][0]
    assert stance["label"] == "against", stance
    assert answer["summary"]["stance"][0]["label"] == "against"
