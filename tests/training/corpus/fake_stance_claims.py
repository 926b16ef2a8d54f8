"""Synthetic raw data of the claim and topic stance sets (UKP, IBM claim stance, GWStance,
SemEval-2016, VAST, Emergent), each in its own format."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fake_files import pick, write_file

UKP_COLS = ["topic", "retrievedUrl", "archivedUrl", "sentenceHash", "sentence", "annotation", "set"]


def write_ukp(root: Path, annotation="Argument_for", columns=UKP_COLS) -> None:
    rows = [
        (
            "gun control",
            "http://a.example/1",
            "h1",
            "Guns should be registered to keep streets safe.",
            annotation,
            "train",
        ),
        (
            "gun control",
            "http://a.example/2",
            "h2",
            "Registration does not stop determined criminals.",
            "Argument_against",
            "val",
        ),
        ("gun control", "http://a.example/3", "h3", "The report was published on a Tuesday.", "NoArgument", "test"),
        (
            "gun control",
            "http://a.example/3",
            "h4",
            "A train sentence sharing a document with the test set.",
            "NoArgument",
            "train",
        ),
        (
            "gun control",
            "http://a.example/4",
            "h5",
            "Climate change is a serious concern for all of us.",
            "NoArgument",
            "train",
        ),
    ]
    lines = ["\t".join(columns)]
    for topic, url, h, s, a, st in rows:
        rec = dict(topic=topic, retrievedUrl=url, archivedUrl="", sentenceHash=h, sentence=s, annotation=a, set=st)
        lines.append("\t".join(rec.get(c, "") for c in columns))
    write_file(root / "ukp_sentential_argmin" / "gun_control.tsv", "\n".join(lines) + "\n")


IBM_COLS = [
    "topicId",
    "split",
    "topicText",
    "topicTarget",
    "topicSentiment",
    "claims.claimId",
    "claims.stance",
    "claims.claimCorrectedText",
    "claims.claimOriginalText",
    "claims.article.rawFile",
    "claims.article.rawSpan.start",
    "claims.article.rawSpan.end",
    "claims.article.cleanFile",
    "claims.article.cleanSpan.start",
    "claims.article.cleanSpan.end",
    "claims.Compatible",
    "claims.claimTarget.text",
    "claims.claimTarget.span.start",
    "claims.claimTarget.span.end",
    "claims.claimSentiment",
    "claims.targetsRelation",
]


def write_ibm(root: Path, stance="PRO") -> None:
    rows = [IBM_COLS]
    for cid, split, topic, st, text in (
        (1, "train", "This house would ban boxing", stance, "Boxing causes injuries; some last for life"),
        (2, "train", "This house would ban boxing", "CON", "Boxing teaches discipline to the young"),
        (3, "test", "This house believes in cats", "PRO", "Cats need less space,\nand less time"),
    ):
        r = {c: "" for c in IBM_COLS}
        r.update(
            {
                "topicId": "1",
                "split": split,
                "topicText": topic,
                "claims.claimId": str(cid),
                "claims.stance": st,
                "claims.claimCorrectedText": text,
                "claims.article.cleanFile": f"articles/t1/clean_{cid}.txt",
            }
        )
        rows.append([r[c] for c in IBM_COLS])
    # Saved through a spreadsheet, like the real copy: each physical line is cut at ';' into quoted
    # cells, padded with empty cells to 5.
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    out = []
    for line in buf.getvalue().rstrip("\n").split("\n"):
        cells = ['"' + c.replace('"', '""') + '"' for c in line.split(";")]
        out.append(";".join(cells + [""] * (5 - len(cells))))
    write_file(root / "ibm_claim_stance" / "claim_stance_dataset_v1.csv", "\n".join(out) + "\n")


GW_COLS = (
    ["", "round", "batch", "sent_id", "sentence"]
    + [f"worker_{i}" for i in range(8)]
    + ["disagree", "agree", "neutral", "guid", "in_held_out_test"]
)


def write_gwstance(root: Path) -> None:
    rows = [GW_COLS]

    def r(i, s, probs, held):
        d = dict(zip(GW_COLS, [str(i), "1", "0", f"s{i}", s] + ["neutral"] * 8 + list(probs) + [f"1_0_s{i}", held]))
        return [d[c] for c in GW_COLS]

    rows.append(r(0, "Screening sentence without estimates.", ("", "", ""), "False"))
    rows.append(r(1, "The warming trend is alarming and real.", ("0.1", "0.8", "0.1"), "False"))
    rows.append(r(2, "Warming is a hoax invented by scientists.", ("0.9", "0.05", "0.05"), "False"))
    rows.append(r(3, "Climate change is a serious concern for all of us.", ("0.1", "0.1", "0.8"), "True"))
    write_file(root / "gwstance" / "GWSD.tsv", "\n".join("\t".join(x) for x in rows) + "\n")


def write_semeval2016(root: Path) -> None:
    d = root / "semeval2016_stance_tweeteval"
    write_file(d / "mapping.txt", "0\tnone\n1\tagainst\n2\tfavor")
    for topic in ("hillary", "climate"):
        for split, lab in (("train", "2"), ("val", "1"), ("test", "0")):
            write_file(
                d / topic / f"{split}_text.txt",
                f"@user a tweet on {topic} for {split} #one\n@user another {topic} {split} tweet\n",
            )
            write_file(d / topic / f"{split}_labels.txt", f"{lab}\n1\n")


VAST_TRAIN_COLS = [
    "author",
    "post",
    "ori_topic",
    "ori_id",
    "new_topic",
    "label",
    "type_idx",
    "new_id",
    "arc_id",
    "text",
    "pos_text",
    "text_s",
    "topic",
    "topic_str",
    "seen?",
    "contains_topic?",
]


VAST_POSTS = {
    "a": "Nuclear plants are the cleanest power we have, and coal mining ruins whole valleys for good.",
    "b": "Uniforms at school would end the morning fights over clothes in our house.",
    "c": "Taxes on sugar are sensible, or maybe not, I honestly cannot decide today.",
    "d": "Wind farms are quiet and cheap, while gas keeps prices swinging every winter.",
    "e": "The zoo downtown opened a new reptile house this spring with longer hours.",
}


def write_vast(root: Path, dev_columns=("Tweet", "Target 1", "Stance 1", "seen?"), member="vast_train.csv") -> None:
    import zipfile

    d = root / "vast_zero_shot_stance"
    rows = [  # (post, new_topic, topic_str, label, type_idx, new_id)
        ("a", "nuclear power", "nuclear power", "1", "1", "1"),
        ("a", "coal mining", "coal mining", "0", "3", "2"),
        ("a", "nuclear power", "school uniforms", "2", "4", "3"),  # synthetic neutral: the topic is topic_str
        ("b", "School uniforms", "school uniforms", "1", "1", "4"),
        ("b", "School uniforms", "school uniforms", "1", "3", "5"),  # listed twice, same label: read once
        ("c", "sugar taxes", "sugar taxes", "0", "1", "6"),
        ("c", "sugar taxes", "sugar taxes", "1", "3", "7"),  # listed twice with different labels: dropped
    ]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(VAST_TRAIN_COLS)
    for post, topic, tstr, lab, typ, nid in rows:
        r = dict(
            author="x",
            post=VAST_POSTS[post],
            ori_topic=topic,
            ori_id=f"A{post}-P",
            new_topic=topic,
            label=lab,
            type_idx=typ,
            new_id=nid,
            arc_id="1",
            topic_str=tstr,
            **{"seen?": "1", "contains_topic?": "0"},
        )
        w.writerow([r.get(c, "") for c in VAST_TRAIN_COLS])
    d.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(d / "vast_train.zip", "w") as z:
        z.writestr(member, buf.getvalue())
    for name, rows in (
        ("vast_dev.csv", [("d", "wind farms", "FAVOR"), ("d", "gas", "AGAINST")]),
        ("vast_test.csv", [("e", "zoos", "NONE")]),
    ):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(dev_columns)
        for post, topic, lab in rows:
            w.writerow([VAST_POSTS[post], topic, lab, "0"][: len(dev_columns)])
        write_file(d / "devtest_reformatted_pqh" / name, buf.getvalue())


EMERGENT_COLS = ["id", "claimHeadline", "articleHeadline", "articleHeadlineStance", "articleId", "claimId"]


def write_emergent(root: Path, stance="for", columns=EMERGENT_COLS) -> list[str]:
    claims = [f"c{pick(lambda i: f'emergent:claim:c{i}', s)}" for s in ("train", "dev", "test")]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    n = 0
    for k, claim in enumerate(claims):
        for st, head in (
            (stance, f"Giant squid number {k} washes up on a beach, officials confirm"),
            ("observing", f"Reports say squid number {k} was found, but nobody has seen it yet"),
            ("against", f"Squid number {k} photo is a hoax, says museum"),
        ):
            r = dict(
                id=str(n),
                claimHeadline=f"A giant squid number {k} washed up on a beach",
                articleHeadline=head,
                articleHeadlineStance=st,
                articleId=f"art-{n}",
                claimId=claim,
            )
            w.writerow([r.get(c, "") for c in columns])
            n += 1
    write_file(root / "emergent_headline_stance" / "url-versions-2015-06-14-clean.csv", buf.getvalue())
    return claims
