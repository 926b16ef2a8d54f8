"""Atomic replacement: a failed write leaves the old file whole and no temp file behind."""

import pytest

from slant.files import replaced_atomically


@pytest.mark.parametrize("durable", [False, True])
def test_new_content_replaces_the_file_in_one_step(tmp_path, durable):
    target = tmp_path / "sub" / "pointer.json"
    with replaced_atomically(target, durable=durable) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["pointer.json"]


def test_an_error_mid_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "pointer.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with replaced_atomically(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["pointer.json"]
