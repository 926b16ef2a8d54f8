"""The `raw` fixture: a full synthetic raw data folder in tmp_path, written by the fake_<kind>.py
modules in each source's own format (no raw rows are ever copied). A test that needs a broken
source rewrites it with the same writer and other arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_bias import write_babe, write_checkthat, write_npov
from fake_frames import write_ccf, write_frermann, write_gvfc, write_issue_framing
from fake_stance_claims import write_emergent, write_gwstance, write_ibm, write_semeval2016, write_ukp, write_vast
from fake_stance_entities import write_finentity, write_newsmtsc, write_park2021, write_persent
from fake_techniques import write_ptc, write_semeval2023


def write_all(root: Path) -> Path:
    write_newsmtsc(root)
    write_persent(root)
    write_ukp(root)
    write_ibm(root)
    write_gwstance(root)
    write_semeval2016(root)
    arts = write_semeval2023(root)
    write_ptc(root, arts)
    write_gvfc(root)
    write_ccf(root)
    write_frermann(root)
    write_babe(root)
    write_vast(root)
    write_emergent(root)
    write_finentity(root)
    write_park2021(root)
    write_issue_framing(root)
    write_npov(root)
    write_checkthat(root)
    return root


@pytest.fixture
def raw(tmp_path) -> Path:
    """A full synthetic raw data folder (tmp_path/raw)."""
    return write_all(tmp_path / "raw")
