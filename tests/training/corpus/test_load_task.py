"""load_task: the built corpus of one task, or an error that says how to build it."""

from __future__ import annotations

import pytest

from training.corpus import CorpusNotBuilt, load_task


def test_load_task_errors(tmp_path):
    with pytest.raises(CorpusNotBuilt) as e:
        load_task("stance", tmp_path)
    assert "slant data build" in str(e.value)
    with pytest.raises(ValueError):
        load_task("sentiment", tmp_path)
