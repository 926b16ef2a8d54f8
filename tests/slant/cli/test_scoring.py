"""`slant classify` and `slant score`: no server, the same answers as the HTTP service."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from slant.cli import main

TEXT = (
    "The council approved the flood barrier on Sunday.\n\n"
    "Mayor Tom Hadley said it would be finished before winter.\n\n"
    "Critics called the plan a reckless waste of money."
)


@pytest.fixture(scope="session")
def artifact(request) -> Path:
    """$SLANT_TEST_ARTIFACT, else /tmp/tiny/artifact when complete, else the shared tiny_artifact."""
    from slant.artifact import ArtifactError, load

    env = os.environ.get("SLANT_TEST_ARTIFACT")
    if env:
        return Path(env)
    try:
        load("/tmp/tiny/artifact")
        return Path("/tmp/tiny/artifact")
    except ArtifactError:
        return Path(request.getfixturevalue("tiny_artifact"))


def invoke(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def test_classify_file(artifact, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(TEXT, encoding="utf-8")
    r = invoke(
        "classify", path, "--model", artifact, "--target", "Tom Hadley", "--target", "the barrier", "--title", "Barrier"
    )
    assert r.exit_code == 0, r.output
    a = json.loads(r.stdout)
    assert a["title"] == "Barrier" and a["targets"] == ["Tom Hadley", "the barrier"]
    assert [p["text"] for p in a["paragraphs"]] == TEXT.split("\n\n")
    for p in a["paragraphs"]:
        assert TEXT[p["start"] : p["end"]] == p["text"] and len(p["stance"]) == 2


def test_classify_stdin_html_detected(artifact):
    html = (
        "<!DOCTYPE html><html><head><title>Vote</title><script>alert('x')</script></head><body>"
        "<article><p>The council approved the flood barrier on Sunday after a long debate.</p>"
        "<p>Critics called the plan a reckless waste of money and promised to fight it.</p></article></body></html>"
    )
    r = invoke("classify", "-", "--model", artifact, input=html)
    assert r.exit_code == 0, r.output
    a = json.loads(r.stdout)
    assert a["title"] == "Vote" and "alert" not in r.stdout
    assert any("flood barrier" in p["text"] for p in a["paragraphs"])


def test_classify_bad_input_is_a_clear_error(artifact, tmp_path):
    r = invoke("classify", "-", "--model", artifact, input="   \n  ")
    assert r.exit_code != 0 and "empty" in r.output
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Caf\xe9 au lait".encode("latin-1"))
    r = invoke("classify", bad, "--model", artifact)
    assert r.exit_code != 0 and "UTF-8" in r.output


def write_articles(path: Path, n: int, bad_line: int | None = None) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(1, n + 1):
            if i == bad_line:
                f.write('{"text": 42}\n')
                continue
            article = {
                "title": f"Article {i}",
                "paragraphs": [f"Paragraph one of article {i}.", f"The mayor said article {i} matters."],
            }
            if i % 3 == 0:
                article["targets"] = ["the mayor"]
            else:
                article["targets"] = []
            f.write(json.dumps(article) + "\n")


def check_output(path: Path, n: int, bad_line: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n
    for i, line in enumerate(lines, start=1):
        record = json.loads(line)
        if i == bad_line:
            assert record["line"] == i and "text" in record["error"]
        else:
            assert record["title"] == f"Article {i}"
            assert len(record["paragraphs"]) == 2
            assert len(record["targets"]) == (1 if i % 3 == 0 else 0)
    return lines


def test_score_1000_articles_in_order_with_error_record(artifact, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_articles(src, 1000, bad_line=500)
    r = invoke("score", src, "--out", out, "--model", artifact, "--batch", 64)
    assert r.exit_code == 0, r.output
    check_output(out, 1000, bad_line=500)
    assert "999 articles" in r.stderr and "articles/s" in r.stderr and "paragraphs/s" in r.stderr
    print(r.stderr.strip().splitlines()[-1])  # the throughput line, for the log


def test_score_refuses_to_overwrite_without_flag(artifact, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_articles(src, 3)
    out.write_text('{"old": 1}\n')
    r = invoke("score", src, "--out", out, "--model", artifact)
    assert r.exit_code != 0 and "--resume" in r.output
    r = invoke("score", src, "--out", out, "--model", artifact, "--force")
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 3


def test_score_resume_after_truncated_output(artifact, tmp_path):
    src, full, broken = tmp_path / "in.jsonl", tmp_path / "full.jsonl", tmp_path / "broken.jsonl"
    write_articles(src, 120, bad_line=7)
    assert invoke("score", src, "--out", full, "--model", artifact, "--batch", 16).exit_code == 0
    reference = full.read_text(encoding="utf-8").splitlines(keepends=True)
    # A run killed mid-write: 50 complete lines and half of the 51st.
    broken.write_text("".join(reference[:50]) + reference[50][: len(reference[50]) // 2], encoding="utf-8")
    r = invoke("score", src, "--out", broken, "--model", artifact, "--batch", 16, "--resume")
    assert r.exit_code == 0, r.output
    assert "50 lines already done" in r.stderr
    check_output(broken, 120, bad_line=7)
    resumed = broken.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x).get("title") for x in resumed] == [json.loads(x).get("title") for x in reference]
    # Resuming a finished run does nothing.
    r = invoke("score", src, "--out", broken, "--model", artifact, "--resume")
    assert r.exit_code == 0 and len(broken.read_text().splitlines()) == 120


def test_score_bad_lines_become_error_records(artifact, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(
        b'{"text": "A fine article about the harbour."}\n'
        b"\n"
        b"not json\n"
        b'{"text": "caf\xe9"}\n'
        b'{"text": "   "}\n'
        b'{"text": "a", "html": "<p>b</p>"}\n'
        b'["a list"]\n'
        b'{"text": "Another fine one."}'  # no newline at the end
    )
    r = invoke("score", src, "--out", out, "--model", artifact)
    assert r.exit_code == 0, r.output
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 8
    assert "paragraphs" in records[0] and "paragraphs" in records[7]
    assert [r["line"] for r in records[1:7]] == [2, 3, 4, 5, 6, 7]
    assert all(r["error"] for r in records[1:7])
