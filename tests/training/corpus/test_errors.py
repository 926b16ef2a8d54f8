"""A source whose rows break its format or use an unknown label raises an error that names the
file, what was found and what was expected."""

from __future__ import annotations

import pytest
from fake_frames import write_ccf
from fake_stance_claims import write_ibm
from fake_stance_entities import write_park2021
from fake_techniques import write_semeval2023

from training.corpus.errors import FormatError, UnknownLabel
from training.corpus.sources import frames, stance_claims, stance_entities, techniques


@pytest.mark.parametrize(
    "write, bad, read, error, named",
    [
        pytest.param(
            write_park2021,
            {"test_line": "[One] marker only here.\tOne\tTwo\t0"},
            stance_entities.read_park2021,
            FormatError,
            ("test.txt", "exactly 2"),
            id="park2021-one-marker",
        ),
        pytest.param(
            write_park2021,
            {"test_line": "[A] and [B].\tA\tB\t7"},
            stance_entities.read_park2021,
            UnknownLabel,
            (),
            id="park2021-label",
        ),
        pytest.param(
            write_ibm,
            {"stance": "MAYBE"},
            stance_claims.read_ibm,
            UnknownLabel,
            ("claim_stance_dataset_v1.csv", "MAYBE", "PRO"),
            id="ibm-label",
        ),
        pytest.param(
            write_ccf,
            {"extra_label": "Brand New Detection"},
            frames.read_ccf,
            UnknownLabel,
            ("Annotated_sentences.jsonl", "Brand New Detection"),
            id="ccf-label",
        ),
        pytest.param(
            write_semeval2023,
            {"train_techniques": "Bandwagon"},
            techniques.read_semeval2023_techniques,
            UnknownLabel,
            (),
            id="semeval2023-technique",
        ),
    ],
)
def test_a_bad_row_raises_an_error_naming_file_and_value(raw, write, bad, read, error, named):
    write(raw, **bad)
    with pytest.raises(error) as e:
        read(raw)
    for part in named:
        assert part in str(e.value)
