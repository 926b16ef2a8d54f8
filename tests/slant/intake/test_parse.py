"""The package's entry point: parse() takes exactly one kind of input; intake never loads torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slant.intake import ArticleError, parse


def test_parse_dispatch():
    assert parse(text="Hello world.").paragraphs[0].text == "Hello world."
    assert parse(paragraphs=["A.", "B."]).text == "A.\n\nB."
    assert parse(
        html="<html><body><article><p>The body of a very short article is here.</p></article></body></html>"
    ).paragraphs


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        ({}, "none was given"),
        ({"text": "a", "html": "<p>a</p>"}, "got text, html"),
        ({"text": "a", "paragraphs": ["a"]}, "got text, paragraphs"),
    ],
)
def test_parse_needs_exactly_one(kwargs, msg):
    with pytest.raises(ArticleError, match="exactly one of `text`, `html` or `paragraphs`") as e:
        parse(**kwargs)
    assert msg in str(e.value)


def test_no_torch_import():
    code = "import sys, slant.intake, slant.targets; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
