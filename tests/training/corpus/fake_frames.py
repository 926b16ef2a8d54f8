"""Synthetic raw data of the frame sets (GVFC, CCF, Frermann et al. 2023, issue-framing tweets and
forum sentences), each in its own format."""

from __future__ import annotations

import json
from pathlib import Path

from fake_files import pick, write_file


def write_gvfc(root: Path, theme="2") -> None:
    import pandas as pd

    rows = [
        {
            "news_title": "Senators weigh new background check bill",
            "Q1 Relevant": 1,
            "Q2 Focus": 1,
            "Q3 Theme1": int(theme),
            "Q3 Theme2": 3,
        },
        {
            "news_title": "Shooter had ties to hate group, police say",
            "Q1 Relevant": 1,
            "Q2 Focus": 1,
            "Q3 Theme1": 6,
            "Q3 Theme2": 99,
        },
        {
            "news_title": "Local bakery wins pie contest",
            "Q1 Relevant": 2,
            "Q2 Focus": 99,
            "Q3 Theme1": 99,
            "Q3 Theme2": 99,
        },
    ] + [
        {
            "news_title": f"School adds guards after threat number {i}",
            "Q1 Relevant": 1,
            "Q2 Focus": 2,
            "Q3 Theme1": 5,
            "Q3 Theme2": 99,
        }
        for i in range(12)
    ]
    (root / "gvfc").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_excel(root / "gvfc" / "GVFC_headlines_and_annotations.xlsx", index=False)


def write_ccf(root: Path, extra_label=None) -> None:
    d = root / "ccf_canadian_climate_framing" / "Database" / "Training_data" / "manual_annotations_JSONL"
    docs = [pick(lambda i: f"ccf:{i}", s, 100) for s in ("train", "dev", "test")]
    ann = []
    for k, doc in enumerate(docs):
        labels = ["CC article", "Emotion: Neutral", "Eco Detection", "Eco_1_SUB", "Sci Detection", "Just Detection"]
        if extra_label and k == 0:
            labels.append(extra_label)
        ann.append(
            {
                "id": k,
                "text": f"Carbon pricing costs households money in town {doc}. Experts disagree.",
                "meta": {"doc_ID": doc, "sentence_id": 1, "language": "EN"},
                "label": labels,
            }
        )
    ann.append(
        {
            "id": 9,
            "text": "Une phrase en francais.",
            "meta": {"doc_ID": 5, "sentence_id": 1, "language": "FR"},
            "label": [],
        }
    )
    write_file(d / "Annotated_sentences.jsonl", "\n".join(json.dumps(x) for x in ann) + "\n")
    write_file(
        d / "consensus_gold_standard.jsonl",
        json.dumps(
            {
                "meta": {"doc_id": docs[0], "sentence_id": 7, "language": "EN"},
                "label": ["Pol_Detection", "Emotion:_Negative"],
            }
        )
        + "\n",
    )
    write_file(
        d / "blind_verification.jsonl",
        json.dumps(
            {
                "id": 1,
                "text": "Parliament voted on the climate bill.",
                "meta": {"doc_id": docs[0], "sentence_id": 7, "language": "EN"},
                "label": [],
            }
        )
        + "\n",
    )


def write_frermann(root: Path) -> None:
    ids = [pick(lambda i: f"frermann:{i}", s, 0) for s in ("train", "dev", "test")]
    lines = ["ID\tsource\tmbfc\tdate\ttext\tRE\tHI\tCO\tMO\tEC"]
    for k, a in enumerate(ids):
        body = " ".join(f"Sentence {j} of climate story {a} talks about costs and duties." for j in range(20))
        lines.append(
            f"{a}\toutlet\tleast_biased\t2019-01-01\t{body}\tTrue\tFalse\tTrue\t{'True' if k else 'False'}\t{'False)' if k == 2 else 'True'}"
        )
    write_file(root / "narrative_framing_frermann2023" / "articles_metadata.tsv", "\n".join(lines) + "\n")


def write_issue_framing(root: Path, tweet_code="12") -> None:
    d = root / "issue_framing_tweets_forums"
    write_file(d / "codes.json", json.dumps({"1.0": "Economic", "15.0": "Other"}))
    t1, t2 = "Proud to vote for the bill today ! #vote", "Join us at the town hall on Friday !"
    t3 = "The ruling protects our rights under the law ."
    write_file(
        d / "congressional_tweets" / "splits_80_20_notest.json",
        json.dumps(
            {
                "train": {
                    "seq": [t1, t2, t3, t1],
                    "label": [[tweet_code, "13"], ["16"], ["5"], [tweet_code, "13"]],
                    "labelset": [str(i) for i in range(1, 18)],
                },
                "dev": {"seq": [t3, "Our troops keep us safe ."], "label": [["7"], ["8", "17"]]},
                "test": {"seq": [], "label": []},
            }
        ),
    )
    write_file(
        d / "dialogue" / "dev_test.json",
        json.dumps(
            {
                "train": {"seq": [], "label": [], "task": []},
                "dev": {
                    "seq": ["Gun laws cost the taxpayers a fortune ."],
                    "label": [["1"]],
                    "task": ["gc"],
                    "labelset": ["1", "13", "5", "6", "7"],
                },
                "test": {
                    "seq": ["The death penalty is legal but the courts keep stalling it .", "Vote them out ."],
                    "label": [["5", "6"], ["13"]],
                    "task": ["dp", "gm"],
                },
                "labelset": ["1", "13", "5", "6", "7"],
            }
        ),
    )
