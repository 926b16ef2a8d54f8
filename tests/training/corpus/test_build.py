"""`slant data build`: the built tables, registered sources, and what a missing or broken source does."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fake_stance_claims import UKP_COLS, write_ukp

from slant.labels import BIAS, FRAMES, STANCE, TECHNIQUES
from training.corpus import COLUMNS, load_task
from training.corpus.build import NoDataError, build_corpus
from training.corpus.errors import FormatError, SourceMissing
from training.corpus.records import clean_text
from training.corpus.sources import stance_claims

SCHEMAS = {"stance": STANCE, "frames": FRAMES, "techniques": TECHNIQUES, "bias": BIAS}


def test_output_contract(raw, tmp_path):
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.exit_code == 0 and set(res.built) == set(SCHEMAS)
    for task, schema in SCHEMAS.items():
        dd = load_task(task, res.out)
        assert list(dd) == ["train", "dev", "test"]
        ids = [i for split in dd for i in dd[split]["id"]]
        assert len(ids) == len(set(ids)), task
        assert dd["dev"].num_rows > 0, task
        for split, ds in dd.items():
            assert tuple(ds.column_names) == COLUMNS
            for row in ds:
                assert row["split"] == split and row["text"] and row["text"] == clean_text(row["text"])
                assert set(row["labels"]) <= set(schema.labels) and set(row["known_labels"]) <= set(schema.labels)
                assert set(row["labels"]) <= set(row["known_labels"])
                assert row["article_id"].startswith(row["source"] + ":")
                assert row["level"] in ("paragraph", "article")
                if task in ("stance", "bias"):
                    assert len(row["labels"]) == 1
                if task == "stance":
                    assert row["target"]
                else:
                    assert row["target"] == ""
                if task != "bias":
                    assert row["spans"] == []
                for s, e in row["spans"]:
                    assert 0 <= s < e <= len(row["text"])


def test_new_sources_are_registered_and_carded(raw, tmp_path):
    from training.corpus.sources import SOURCES

    names = {(s.task, s.name) for s in SOURCES}
    new = {
        ("stance", "vast"),
        ("stance", "emergent"),
        ("stance", "finentity"),
        ("stance", "park2021"),
        ("frames", "issue_framing"),
        ("bias", "npov"),
        ("bias", "checkthat"),
    }
    assert new <= names
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert res.exit_code == 0 and not res.errors and not res.missing
    for task, source in new:
        assert sum(res.counts[(task, source, sp)] for sp in ("train", "dev", "test")) > 0, source
        card = (tmp_path / "c" / f"{source}.md").read_text()
        assert "License and terms" in card and "| total |" in card
    assert {"vast", "checkthat", "issue_framing"} <= set(s for (t, s, sp) in res.counts if sp == "dev")
    assert "Proud to vote" not in (tmp_path / "c" / "issue_framing.md").read_text()


def test_missing_source_builds_the_rest(raw, tmp_path):
    import shutil

    shutil.rmtree(raw / "gvfc")
    msgs = []
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=msgs.append)
    assert res.exit_code == 0
    assert ("frames", "gvfc") in res.missing
    assert any("warning" in m and "gvfc" in m for m in msgs)
    assert load_task("frames", res.out)["train"].num_rows > 0


def test_changed_column_names_file_found_and_expected(raw, tmp_path):
    cols = [c if c != "annotation" else "label" for c in UKP_COLS]
    write_ukp(raw, columns=cols)
    with pytest.raises(FormatError) as e:
        stance_claims.read_ukp(raw)
    msg = str(e.value)
    assert "gun_control.tsv" in msg and "'label'" in msg and "annotation" in msg
    res = build_corpus(raw, tmp_path / "b", cards_dir=tmp_path / "c", echo=lambda s: None)
    assert ("stance", "ukp") in res.errors and res.exit_code == 1
    assert "ukp" not in set(load_task("stance", res.out)["train"]["source"])


def test_missing_folder_and_nothing_to_build(tmp_path):
    with pytest.raises(SourceMissing) as e:
        build_corpus(tmp_path / "nowhere", tmp_path / "b", echo=lambda s: None)
    assert "nowhere" in str(e.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoDataError) as e:
        build_corpus(tmp_path / "empty", tmp_path / "b", echo=lambda s: None)
    assert "newsmtsc" in str(e.value)


def test_cli_data_build(raw, tmp_path, monkeypatch):
    from slant.cli import main

    monkeypatch.setenv("SLANT_DATA_DIR", str(raw))
    r = CliRunner().invoke(main, ["data", "build", "--out", str(tmp_path / "datasets" / "build")])
    assert r.exit_code == 0, r.output
    assert "stance" in r.output and "train" in r.output
    assert (tmp_path / "datasets" / "STATS.md").is_file()
    r = CliRunner().invoke(main, ["data", "build", "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "empty" in r.output
