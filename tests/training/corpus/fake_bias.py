"""Synthetic raw data of the bias sets (BABE SG2, SG1 and MBIC, NPOV statements, CheckThat!
subjectivity), each in its own format."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fake_files import pick, write_file

BABE_COLS = ["text", "news_link", "outlet", "topic", "type", "label_bias", "label_opinion", "biased_words"]


def write_babe(root: Path, label="Biased") -> None:
    import pandas as pd

    d = root / "babe"
    links = [pick(lambda i: f"babe:http://n.example/{i}", s, 0) for s in ("train", "dev", "test")]
    rows = [
        (
            f"The radical senator pushed a Radical plan again, story {links[0]}.",
            f"http://n.example/{links[0]}",
            label,
            "['radical', 'pushed']",
        ),
        (f"The mayor opened the new library, story {links[1]}.", f"http://n.example/{links[1]}", "Non-biased", "[]"),
        (
            f"Critics slammed the absurd proposal, story {links[2]}.",
            f"http://n.example/{links[2]}",
            "Biased",
            "['slammed', 'ludicrous']",
        ),
        ("Nobody agreed on this one.", "http://n.example/x", "No agreement", "[]"),
    ]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(BABE_COLS)
    for t, l, lab, words in rows:
        w.writerow([t, l, "o", "t", "left", lab, "x", words])
    write_file(d / "final_labels_SG2.csv", "\ufeff" + buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(BABE_COLS)
    w.writerow([rows[1][0], rows[1][1], "o", "t", "left", "Non-biased", "x", "[]"])  # already in SG2
    w.writerow(
        ["An extra sentence only SG1 has.", "http://n.example/sg1", "o", "t", "left", "Biased", "x", "['extra']"]
    )
    write_file(d / "final_labels_SG1.csv", buf.getvalue())
    pd.DataFrame(
        [
            {
                "text": rows[0][0],
                "news_link": rows[0][1],
                "label_bias": "Biased",
                "biased_words": "['radical']",
                "article": "",
            },
            {
                "text": "An extra sentence only SG1 has.",
                "news_link": "http://n.example/sg1",
                "label_bias": "Biased",
                "biased_words": "[]",
                "article": "",
            },
            {
                "text": "A sentence only MBIC has, quite plainly.",
                "news_link": "http://n.example/mbic",
                "label_bias": "Non-biased",
                "biased_words": "[]",
                "article": "",
            },
        ]
    ).to_excel(d / "final_labels_MBIC.xlsx", index=False)


def write_npov(root: Path, extra_file=None) -> None:
    d = root / "npov_statements_hube2019"
    write_file(
        d / "statements_biased",
        "The brilliant senator heroically saved the failing town.\n"
        "Critics rightly see the so-called reform as a scam.\n"
        "The village lies on the river bank.",
    )  # no final newline, as upstream
    write_file(
        d / "statements_neutral_cw-hard",
        "The senator proposed a reform of the town budget.\n"
        "The senator proposed a reform of the town budget.\n"
        "The village lies on the river bank.\n",
    )  # also in biased: dropped
    write_file(d / "statements_neutral_type_balanced", "The game sold four million copies in its first year.\n")
    write_file(d / "statements_neutral_featured", "Astatine is produced by bombarding bismuth with alpha particles.\n")
    if extra_file:
        write_file(d / extra_file, "Some sentence.\n")


def write_checkthat(root: Path, columns=("sentence_id", "sentence", "label", "solved_conflict")) -> None:
    d = root / "checkthat_subjectivity_en"

    def f(name, rows, cols):
        write_file(d / name, "\n".join(["\t".join(cols)] + ["\t".join(r[: len(cols)]) for r in rows]) + "\n")

    f(
        "train_en.tsv",
        [
            ("t1", "Gone are the days when they led the world in recession-busting", "SUBJ", "True"),
            ("t2", "The trend is expected to reverse as soon as next month.", "OBJ", "False"),
            ("t3", "The trend is expected to reverse as soon as next month.", "OBJ", "False"),
            ("t4", '"He said the plan was ""dead on arrival"" on Monday."', "OBJ", "False"),
        ],
        columns,
    )
    f(
        "dev_en.tsv",
        [
            ("d1", "What a shameful display of cowardice by the council.", "SUBJ", "False"),
            ("d2", "The council met for three hours on Tuesday.", "OBJ"),
        ],
        columns,
    )
    f(
        "dev_test_en.tsv",
        [("e1", "The bridge will reopen in May.", "OBJ")],
        [c for c in columns if c != "solved_conflict"],
    )
