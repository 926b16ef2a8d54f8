"""Synthetic raw data of the entity-targeted stance sets (NewsMTSC, PerSenT, FinEntity, Park et al.
2021), each in its own format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from fake_files import pick, write_file


def write_newsmtsc(root: Path) -> None:
    d = root / "newsmtsc"
    tr = [pick(lambda i: f"newsmtsc:allsides_{i}", s, 1, True) for s in ("train", "dev")]
    te = pick(lambda i: f"newsmtsc:allsides_{i}", "train", tr[0] + 1, True)  # an article for the test file

    def line(art, k, text, targets):
        return json.dumps(
            {"primary_gid": f"allsides_{art}_9_{k}_X_0_3", "sentence_normalized": text, "targets": targets}
        )

    def t(m, p):
        return {"Input.gid": "x", "from": 0, "to": len(m), "mention": m, "polarity": p}

    write_file(
        d / "train.jsonl",
        "\n".join(
            [
                line(tr[0], 1, "Ann Example praised the plan warmly.", [t("Ann Example", 6.0)]),
                line(tr[0], 2, "Bob Sample criticised Ann Example.", [t("Bob Sample", 4.0), t("Ann Example", 2.0)]),
                line(tr[1], 1, "Carl Demo spoke about the weather today.", [t("Carl Demo", 4.0)]),
                line(te, 7, "A train sentence from an article that also has a test sentence.", [t("Dora", 4.0)]),
            ]
        )
        + "\n",
    )
    write_file(d / "devtest_rw.jsonl", line(te, 3, "Dora Test was blamed for the delay.", [t("Dora Test", 2.0)]) + "\n")
    write_file(
        d / "devtest_mt.jsonl",
        line(te + 1000, 1, "Eve and Finn argued loudly.", [t("Eve", 2.0), t("Finn", 6.0)]) + "\n",
    )


PERSENT_COLS = ["DOCUMENT_INDEX", "TITLE", "TARGET_ENTITY", "DOCUMENT", "MASKED_DOCUMENT", "TRUE_SENTIMENT"] + [
    f"Paragraph{i}" for i in range(16)
]


def write_persent(root: Path, columns=PERSENT_COLS) -> None:
    d = root / "persent"
    docs = [pick(lambda i: f"persent:{i}", s, 1) for s in ("train", "dev", "test")]
    for name, doc_ids in (("dev.csv", docs[:2]), ("fixed_test.csv", docs[2:])):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for doc in doc_ids:
            paras = [f"Gina Mock opened paragraph one of doc {doc}.", f"Then paragraph two of doc {doc} followed."]
            labels = ["Positive", "Negative"] + [""] * 14
            row = {
                "DOCUMENT_INDEX": doc,
                "TITLE": "T",
                "TARGET_ENTITY": "Gina Mock",
                "DOCUMENT": "\n".join(paras),
                "MASKED_DOCUMENT": "",
                "TRUE_SENTIMENT": "Positive",
                **{f"Paragraph{i}": v for i, v in enumerate(labels)},
            }
            w.writerow([row.get(c, "") for c in columns])
        # an article whose paragraph count does not match its labels is skipped
        bad = {"DOCUMENT_INDEX": 99999, "TARGET_ENTITY": "Hal", "DOCUMENT": "one\ntwo\nthree", "Paragraph0": "Neutral"}
        w.writerow([bad.get(c, "") for c in columns])
        write_file(d / name, buf.getvalue())


def write_finentity(root: Path, label="Positive") -> None:
    p1 = "Acme Corp shares rose 3% while Globex slid after a weak outlook."
    p2 = "Initech said Initech would keep its dividend unchanged."
    p3 = "Umbrella gained on the deal, though Umbrella bonds fell."

    def ann(text, value, lab, shift=0):
        return {
            "start": text.index(value) + shift,
            "end": text.index(value) + len(value) + shift,
            "value": value,
            "tag": lab,
            "label": lab,
        }

    data = [
        {"content": p1, "annotations": [ann(p1, "Acme Corp", label), ann(p1, "Globex", "Negative", shift=2)]},
        {"content": p1 + "  ", "annotations": [ann(p1, "Acme Corp", label)]},  # a duplicated passage
        {
            "content": p2,
            "annotations": [
                ann(p2, "Initech", "Neutral"),
                {"start": 20, "end": 27, "value": "Initech", "tag": "Neutral", "label": "Neutral"},
            ],
        },
        {
            "content": p3,
            "annotations": [
                ann(p3, "Umbrella", "Positive"),
                {"start": 36, "end": 44, "value": "Umbrella", "tag": "Negative", "label": "Negative"},
            ],
        },
    ]
    write_file(root / "finentity" / "FinEntity.json", json.dumps(data, indent=1))


def write_park2021(root: Path, test_line=None) -> None:
    d = root / "directed_sentiment_news_park2021"
    test = [
        "[Ann Lee] blamed [Bob Ray] for the delay and praised Cy Dow.\tAnn Lee\tBob Ray\t3",
        "[Dee Fo]x met [Eli Gu] on Monday in the capital.\tDee Fo\tEli Gu\t0",
    ]
    if test_line:
        test.append(test_line)
    write_file(d / "test.txt", "\n".join(test) + "\n")
    write_file(
        d / "train.txt",
        "\n".join(
            [
                "[Ann Lee] blamed Bob Ray for the delay and praised [Cy Dow].\tAnn Lee\tCy Dow\t1",  # same sentence as test
                "[Gus Hal] thanked [Ivy Jo] for the help with the flood.\tGus Hal\tIvy Jo\t1",  # train only: dropped
            ]
        )
        + "\n",
    )
    write_file(d / "valid.txt", "[Kim Lo] attacked [Max Ng] over the budget vote.\tKim Lo\tMax Ng\t4\n")
