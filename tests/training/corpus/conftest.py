"""Synthetic raw data in each source's own format, written into tmp_path (no raw rows are ever copied).

Every sentence here is made up. Article ids are picked so that their hash lands in a wanted split,
so a fixture build has train, dev and test rows where the policy allows them.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from training.corpus.splits import hash_split


def pick(key_of, split: str, start: int = 0, has_official_test: bool = False) -> int:
    """The first i >= start whose group key key_of(i) hashes into split."""
    i = start
    while hash_split(key_of(i), has_official_test) != split:
        i += 1
    return i


def sent(tag: str, i: int) -> str:
    return f"Synthetic sentence {tag} number {i} about the council budget and the new bridge."


def _w(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_newsmtsc(root: Path) -> None:
    d = root / "newsmtsc"
    tr = [pick(lambda i: f"newsmtsc:allsides_{i}", s, 1, True) for s in ("train", "dev")]
    te = pick(lambda i: f"newsmtsc:allsides_{i}", "train", tr[0] + 1, True)  # an article for the test file
    def line(art, k, text, targets):
        return json.dumps({"primary_gid": f"allsides_{art}_9_{k}_X_0_3", "sentence_normalized": text,
                           "targets": targets})
    t = lambda m, p: {"Input.gid": "x", "from": 0, "to": len(m), "mention": m, "polarity": p}
    _w(d / "train.jsonl", "\n".join([
        line(tr[0], 1, "Ann Example praised the plan warmly.", [t("Ann Example", 6.0)]),
        line(tr[0], 2, "Bob Sample criticised Ann Example.", [t("Bob Sample", 4.0), t("Ann Example", 2.0)]),
        line(tr[1], 1, "Carl Demo spoke about the weather today.", [t("Carl Demo", 4.0)]),
        line(te, 7, "A train sentence from an article that also has a test sentence.", [t("Dora", 4.0)]),
    ]) + "\n")
    _w(d / "devtest_rw.jsonl", line(te, 3, "Dora Test was blamed for the delay.", [t("Dora Test", 2.0)]) + "\n")
    _w(d / "devtest_mt.jsonl", line(te + 1000, 1, "Eve and Finn argued loudly.", [t("Eve", 2.0), t("Finn", 6.0)]) + "\n")


PERSENT_COLS = ["DOCUMENT_INDEX", "TITLE", "TARGET_ENTITY", "DOCUMENT", "MASKED_DOCUMENT", "TRUE_SENTIMENT"] + [
    f"Paragraph{i}" for i in range(16)]


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
            row = {"DOCUMENT_INDEX": doc, "TITLE": "T", "TARGET_ENTITY": "Gina Mock", "DOCUMENT": "\n".join(paras),
                   "MASKED_DOCUMENT": "", "TRUE_SENTIMENT": "Positive",
                   **{f"Paragraph{i}": v for i, v in enumerate(labels)}}
            w.writerow([row.get(c, "") for c in columns])
        # an article whose paragraph count does not match its labels is skipped
        bad = {"DOCUMENT_INDEX": 99999, "TARGET_ENTITY": "Hal", "DOCUMENT": "one\ntwo\nthree", "Paragraph0": "Neutral"}
        w.writerow([bad.get(c, "") for c in columns])
        _w(d / name, buf.getvalue())


UKP_COLS = ["topic", "retrievedUrl", "archivedUrl", "sentenceHash", "sentence", "annotation", "set"]


def write_ukp(root: Path, annotation="Argument_for", columns=UKP_COLS) -> None:
    rows = [
        ("gun control", "http://a.example/1", "h1", "Guns should be registered to keep streets safe.", annotation, "train"),
        ("gun control", "http://a.example/2", "h2", "Registration does not stop determined criminals.", "Argument_against", "val"),
        ("gun control", "http://a.example/3", "h3", "The report was published on a Tuesday.", "NoArgument", "test"),
        ("gun control", "http://a.example/3", "h4", "A train sentence sharing a document with the test set.", "NoArgument", "train"),
        ("gun control", "http://a.example/4", "h5", "Climate change is a serious concern for all of us.", "NoArgument", "train"),
    ]
    lines = ["\t".join(columns)]
    for topic, url, h, s, a, st in rows:
        rec = dict(topic=topic, retrievedUrl=url, archivedUrl="", sentenceHash=h, sentence=s, annotation=a, set=st)
        lines.append("\t".join(rec.get(c, "") for c in columns))
    _w(root / "ukp_sentential_argmin" / "gun_control.tsv", "\n".join(lines) + "\n")


IBM_COLS = ["topicId", "split", "topicText", "topicTarget", "topicSentiment", "claims.claimId", "claims.stance",
            "claims.claimCorrectedText", "claims.claimOriginalText", "claims.article.rawFile",
            "claims.article.rawSpan.start", "claims.article.rawSpan.end", "claims.article.cleanFile",
            "claims.article.cleanSpan.start", "claims.article.cleanSpan.end", "claims.Compatible",
            "claims.claimTarget.text", "claims.claimTarget.span.start", "claims.claimTarget.span.end",
            "claims.claimSentiment", "claims.targetsRelation"]


def write_ibm(root: Path, stance="PRO") -> None:
    rows = [IBM_COLS]
    for cid, split, topic, st, text in (
        (1, "train", "This house would ban boxing", stance, "Boxing causes injuries; some last for life"),
        (2, "train", "This house would ban boxing", "CON", "Boxing teaches discipline to the young"),
        (3, "test", "This house believes in cats", "PRO", "Cats need less space,\nand less time"),
    ):
        r = {c: "" for c in IBM_COLS}
        r.update({"topicId": "1", "split": split, "topicText": topic, "claims.claimId": str(cid), "claims.stance": st,
                  "claims.claimCorrectedText": text, "claims.article.cleanFile": f"articles/t1/clean_{cid}.txt"})
        rows.append([r[c] for c in IBM_COLS])
    # Saved through a spreadsheet, like the real copy: each physical line is cut at ';' into quoted
    # cells, padded with empty cells to 5.
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    out = []
    for line in buf.getvalue().rstrip("\n").split("\n"):
        cells = ['"' + c.replace('"', '""') + '"' for c in line.split(";")]
        out.append(";".join(cells + [""] * (5 - len(cells))))
    _w(root / "ibm_claim_stance" / "claim_stance_dataset_v1.csv", "\n".join(out) + "\n")


GW_COLS = ["", "round", "batch", "sent_id", "sentence"] + [f"worker_{i}" for i in range(8)] + [
    "disagree", "agree", "neutral", "guid", "in_held_out_test"]


def write_gwstance(root: Path) -> None:
    rows = [GW_COLS]
    def r(i, s, probs, held):
        d = dict(zip(GW_COLS, [str(i), "1", "0", f"s{i}", s] + ["neutral"] * 8 + list(probs) + [f"1_0_s{i}", held]))
        return [d[c] for c in GW_COLS]
    rows.append(r(0, "Screening sentence without estimates.", ("", "", ""), "False"))
    rows.append(r(1, "The warming trend is alarming and real.", ("0.1", "0.8", "0.1"), "False"))
    rows.append(r(2, "Warming is a hoax invented by scientists.", ("0.9", "0.05", "0.05"), "False"))
    rows.append(r(3, "Climate change is a serious concern for all of us.", ("0.1", "0.1", "0.8"), "True"))
    _w(root / "gwstance" / "GWSD.tsv", "\n".join("\t".join(x) for x in rows) + "\n")


def write_semeval2016(root: Path) -> None:
    d = root / "semeval2016_stance_tweeteval"
    _w(d / "mapping.txt", "0\tnone\n1\tagainst\n2\tfavor")
    for topic in ("hillary", "climate"):
        for split, lab in (("train", "2"), ("val", "1"), ("test", "0")):
            _w(d / topic / f"{split}_text.txt", f"@user a tweet on {topic} for {split} #one\n@user another {topic} {split} tweet\n")
            _w(d / topic / f"{split}_labels.txt", f"{lab}\n1\n")


def write_semeval2023(root: Path, train_techniques="Doubt") -> None:
    d = root / "semeval2023_task3_en" / "data" / "en"
    tr = [pick(lambda i: f"semeval2023:{i}", s, 700000000, True) for s in ("train", "dev")]
    dev_art = 800000001
    tpl, lab = [], []
    for art in tr:
        for line, (text, techs) in enumerate([(f"Headline of article {art}", ""),
                                              (f"Officials doubt the figures in article {art}.", train_techniques),
                                              ("A paragraph that is also in the dev set.", "Loaded_Language"),
                                              ("!!!", "")], start=1):
            tpl.append(f"{art}\t{line * 2 - 1}\t{text}")
            lab.append(f"{art}\t{line * 2 - 1}\t{techs}")
    _w(d / "train-labels-subtask-3.template", "\n".join(tpl) + "\n")
    _w(d / "train-labels-subtask-3.txt", "\n".join(lab) + "\n")
    _w(d / "dev-labels-subtask-3.template", f"{dev_art}\t1\tA paragraph that is also in the dev set.\n{dev_art}\t3\tWe will win, say the slogans.\n")
    _w(d / "dev-labels-subtask-3.txt", f"{dev_art}\t1\tLoaded_Language,Doubt\n{dev_art}\t3\tSlogans\n")
    # subtask 2: three articles, one per hash split
    arts = [pick(lambda i: f"semeval2023:{i}", s, 710000000) for s in ("train", "dev", "test")]
    _w(d / "train-labels-subtask-2.txt", "\n".join(
        f"{a}\tEconomic,Legality_Constitutionality_and_jurisprudence" for a in arts) + "\n")
    for a in arts:
        _w(d / "train-articles-subtask-2" / f"article{a}.txt",
           f"Title of frames article {a}\n\nThe budget for {a} grew.\n\nCourts reviewed case {a}.\n")
    return tr


def write_ptc(root: Path, arts) -> None:
    d = root / "ptc_semeval2020_task11"
    text = "A title line\n\nThey are traitors to the nation.\nThe vote is on Monday.\n"
    s = text.index("traitors")
    for part, art in (("train", arts[0]), ("dev", arts[1])):
        _w(d / "datasets" / f"{part}-articles" / f"article{art}.txt", text.replace("title", f"title {art}"))
    off = len(str(arts[0])) + 1
    _w(d / "datasets" / "train-task2-TC.labels",
       f"{arts[0]}\tName_Calling,Labeling\t{s + off}\t{s + off + 8}\n"
       f"{arts[0]}\tWhataboutism,Straw_Men,Red_Herring\t{s + off}\t{s + off + 8}\n")
    off = len(str(arts[1])) + 1
    _w(d / "peerda_dev_gold" / "dev-task-TC.labels", f"{arts[1]}\tThought-terminating_Cliches\t{s + off}\t{s + off + 8}\n")


def write_gvfc(root: Path, theme="2") -> None:
    import pandas as pd

    rows = [
        {"news_title": "Senators weigh new background check bill", "Q1 Relevant": 1, "Q2 Focus": 1, "Q3 Theme1": int(theme), "Q3 Theme2": 3},
        {"news_title": "Shooter had ties to hate group, police say", "Q1 Relevant": 1, "Q2 Focus": 1, "Q3 Theme1": 6, "Q3 Theme2": 99},
        {"news_title": "Local bakery wins pie contest", "Q1 Relevant": 2, "Q2 Focus": 99, "Q3 Theme1": 99, "Q3 Theme2": 99},
    ] + [{"news_title": f"School adds guards after threat number {i}", "Q1 Relevant": 1, "Q2 Focus": 2,
          "Q3 Theme1": 5, "Q3 Theme2": 99} for i in range(12)]
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
        ann.append({"id": k, "text": f"Carbon pricing costs households money in town {doc}. Experts disagree.",
                    "meta": {"doc_ID": doc, "sentence_id": 1, "language": "EN"}, "label": labels})
    ann.append({"id": 9, "text": "Une phrase en francais.", "meta": {"doc_ID": 5, "sentence_id": 1, "language": "FR"}, "label": []})
    _w(d / "Annotated_sentences.jsonl", "\n".join(json.dumps(x) for x in ann) + "\n")
    _w(d / "consensus_gold_standard.jsonl", json.dumps({"meta": {"doc_id": docs[0], "sentence_id": 7, "language": "EN"},
                                                        "label": ["Pol_Detection", "Emotion:_Negative"]}) + "\n")
    _w(d / "blind_verification.jsonl", json.dumps({"id": 1, "text": "Parliament voted on the climate bill.",
                                                   "meta": {"doc_id": docs[0], "sentence_id": 7, "language": "EN"}, "label": []}) + "\n")


def write_frermann(root: Path) -> None:
    ids = [pick(lambda i: f"frermann:{i}", s, 0) for s in ("train", "dev", "test")]
    lines = ["ID\tsource\tmbfc\tdate\ttext\tRE\tHI\tCO\tMO\tEC"]
    for k, a in enumerate(ids):
        body = " ".join(f"Sentence {j} of climate story {a} talks about costs and duties." for j in range(20))
        lines.append(f"{a}\toutlet\tleast_biased\t2019-01-01\t{body}\tTrue\tFalse\tTrue\t{'True' if k else 'False'}\t{'False)' if k == 2 else 'True'}")
    _w(root / "narrative_framing_frermann2023" / "articles_metadata.tsv", "\n".join(lines) + "\n")


BABE_COLS = ["text", "news_link", "outlet", "topic", "type", "label_bias", "label_opinion", "biased_words"]


def write_babe(root: Path, label="Biased") -> None:
    import pandas as pd

    d = root / "babe"
    links = [pick(lambda i: f"babe:http://n.example/{i}", s, 0) for s in ("train", "dev", "test")]
    rows = [
        (f"The radical senator pushed a Radical plan again, story {links[0]}.", f"http://n.example/{links[0]}", label, "['radical', 'pushed']"),
        (f"The mayor opened the new library, story {links[1]}.", f"http://n.example/{links[1]}", "Non-biased", "[]"),
        (f"Critics slammed the absurd proposal, story {links[2]}.", f"http://n.example/{links[2]}", "Biased", "['slammed', 'ludicrous']"),
        ("Nobody agreed on this one.", "http://n.example/x", "No agreement", "[]"),
    ]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(BABE_COLS)
    for t, l, lab, words in rows:
        w.writerow([t, l, "o", "t", "left", lab, "x", words])
    _w(d / "final_labels_SG2.csv", "\ufeff" + buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerow(BABE_COLS)
    w.writerow([rows[1][0], rows[1][1], "o", "t", "left", "Non-biased", "x", "[]"])  # already in SG2
    w.writerow(["An extra sentence only SG1 has.", "http://n.example/sg1", "o", "t", "left", "Biased", "x", "['extra']"])
    _w(d / "final_labels_SG1.csv", buf.getvalue())
    pd.DataFrame([
        {"text": rows[0][0], "news_link": rows[0][1], "label_bias": "Biased", "biased_words": "['radical']", "article": ""},
        {"text": "An extra sentence only SG1 has.", "news_link": "http://n.example/sg1", "label_bias": "Biased", "biased_words": "[]", "article": ""},
        {"text": "A sentence only MBIC has, quite plainly.", "news_link": "http://n.example/mbic", "label_bias": "Non-biased", "biased_words": "[]", "article": ""},
    ]).to_excel(d / "final_labels_MBIC.xlsx", index=False)


VAST_TRAIN_COLS = ["author", "post", "ori_topic", "ori_id", "new_topic", "label", "type_idx", "new_id", "arc_id",
                   "text", "pos_text", "text_s", "topic", "topic_str", "seen?", "contains_topic?"]
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
        r = dict(author="x", post=VAST_POSTS[post], ori_topic=topic, ori_id=f"A{post}-P", new_topic=topic, label=lab,
                 type_idx=typ, new_id=nid, arc_id="1", topic_str=tstr, **{"seen?": "1", "contains_topic?": "0"})
        w.writerow([r.get(c, "") for c in VAST_TRAIN_COLS])
    d.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(d / "vast_train.zip", "w") as z:
        z.writestr(member, buf.getvalue())
    for name, rows in (("vast_dev.csv", [("d", "wind farms", "FAVOR"), ("d", "gas", "AGAINST")]),
                       ("vast_test.csv", [("e", "zoos", "NONE")])):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(dev_columns)
        for post, topic, lab in rows:
            w.writerow([VAST_POSTS[post], topic, lab, "0"][:len(dev_columns)])
        _w(d / "devtest_reformatted_pqh" / name, buf.getvalue())


EMERGENT_COLS = ["id", "claimHeadline", "articleHeadline", "articleHeadlineStance", "articleId", "claimId"]


def write_emergent(root: Path, stance="for", columns=EMERGENT_COLS) -> list[str]:
    claims = [f"c{pick(lambda i: f'emergent:claim:c{i}', s)}" for s in ("train", "dev", "test")]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    n = 0
    for k, claim in enumerate(claims):
        for st, head in ((stance, f"Giant squid number {k} washes up on a beach, officials confirm"),
                         ("observing", f"Reports say squid number {k} was found, but nobody has seen it yet"),
                         ("against", f"Squid number {k} photo is a hoax, says museum")):
            r = dict(id=str(n), claimHeadline=f"A giant squid number {k} washed up on a beach", articleHeadline=head,
                     articleHeadlineStance=st, articleId=f"art-{n}", claimId=claim)
            w.writerow([r.get(c, "") for c in columns])
            n += 1
    _w(root / "emergent_headline_stance" / "url-versions-2015-06-14-clean.csv", buf.getvalue())
    return claims


def write_finentity(root: Path, label="Positive") -> None:
    p1 = "Acme Corp shares rose 3% while Globex slid after a weak outlook."
    p2 = "Initech said Initech would keep its dividend unchanged."
    p3 = "Umbrella gained on the deal, though Umbrella bonds fell."
    ann = lambda text, value, lab, shift=0: {"start": text.index(value) + shift, "end": text.index(value) + len(value) + shift,
                                              "value": value, "tag": lab, "label": lab}
    data = [
        {"content": p1, "annotations": [ann(p1, "Acme Corp", label), ann(p1, "Globex", "Negative", shift=2)]},
        {"content": p1 + "  ", "annotations": [ann(p1, "Acme Corp", label)]},  # a duplicated passage
        {"content": p2, "annotations": [ann(p2, "Initech", "Neutral"),
                                        {"start": 20, "end": 27, "value": "Initech", "tag": "Neutral", "label": "Neutral"}]},
        {"content": p3, "annotations": [ann(p3, "Umbrella", "Positive"),
                                        {"start": 36, "end": 44, "value": "Umbrella", "tag": "Negative", "label": "Negative"}]},
    ]
    _w(root / "finentity" / "FinEntity.json", json.dumps(data, indent=1))


def write_park2021(root: Path, test_line=None) -> None:
    d = root / "directed_sentiment_news_park2021"
    test = [
        "[Ann Lee] blamed [Bob Ray] for the delay and praised Cy Dow.\tAnn Lee\tBob Ray\t3",
        "[Dee Fo]x met [Eli Gu] on Monday in the capital.\tDee Fo\tEli Gu\t0",
    ]
    if test_line:
        test.append(test_line)
    _w(d / "test.txt", "\n".join(test) + "\n")
    _w(d / "train.txt", "\n".join([
        "[Ann Lee] blamed Bob Ray for the delay and praised [Cy Dow].\tAnn Lee\tCy Dow\t1",  # same sentence as test
        "[Gus Hal] thanked [Ivy Jo] for the help with the flood.\tGus Hal\tIvy Jo\t1",  # train only: dropped
    ]) + "\n")
    _w(d / "valid.txt", "[Kim Lo] attacked [Max Ng] over the budget vote.\tKim Lo\tMax Ng\t4\n")


def write_issue_framing(root: Path, tweet_code="12") -> None:
    d = root / "issue_framing_tweets_forums"
    _w(d / "codes.json", json.dumps({"1.0": "Economic", "15.0": "Other"}))
    t1, t2 = "Proud to vote for the bill today ! #vote", "Join us at the town hall on Friday !"
    t3 = "The ruling protects our rights under the law ."
    _w(d / "congressional_tweets" / "splits_80_20_notest.json", json.dumps({
        "train": {"seq": [t1, t2, t3, t1], "label": [[tweet_code, "13"], ["16"], ["5"], [tweet_code, "13"]],
                  "labelset": [str(i) for i in range(1, 18)]},
        "dev": {"seq": [t3, "Our troops keep us safe ."], "label": [["7"], ["8", "17"]]},
        "test": {"seq": [], "label": []},
    }))
    _w(d / "dialogue" / "dev_test.json", json.dumps({
        "train": {"seq": [], "label": [], "task": []},
        "dev": {"seq": ["Gun laws cost the taxpayers a fortune ."], "label": [["1"]], "task": ["gc"],
                "labelset": ["1", "13", "5", "6", "7"]},
        "test": {"seq": ["The death penalty is legal but the courts keep stalling it .", "Vote them out ."],
                 "label": [["5", "6"], ["13"]], "task": ["dp", "gm"]},
        "labelset": ["1", "13", "5", "6", "7"],
    }))


def write_npov(root: Path, extra_file=None) -> None:
    d = root / "npov_statements_hube2019"
    _w(d / "statements_biased", "The brilliant senator heroically saved the failing town.\n"
                               "Critics rightly see the so-called reform as a scam.\n"
                               "The village lies on the river bank.")  # no final newline, as upstream
    _w(d / "statements_neutral_cw-hard", "The senator proposed a reform of the town budget.\n"
                                         "The senator proposed a reform of the town budget.\n"
                                         "The village lies on the river bank.\n")  # also in biased: dropped
    _w(d / "statements_neutral_type_balanced", "The game sold four million copies in its first year.\n")
    _w(d / "statements_neutral_featured", "Astatine is produced by bombarding bismuth with alpha particles.\n")
    if extra_file:
        _w(d / extra_file, "Some sentence.\n")


def write_checkthat(root: Path, columns=("sentence_id", "sentence", "label", "solved_conflict")) -> None:
    d = root / "checkthat_subjectivity_en"
    def f(name, rows, cols):
        _w(d / name, "\n".join(["\t".join(cols)] + ["\t".join(r[:len(cols)]) for r in rows]) + "\n")
    f("train_en.tsv", [("t1", "Gone are the days when they led the world in recession-busting", "SUBJ", "True"),
                       ("t2", "The trend is expected to reverse as soon as next month.", "OBJ", "False"),
                       ("t3", "The trend is expected to reverse as soon as next month.", "OBJ", "False"),
                       ("t4", '"He said the plan was ""dead on arrival"" on Monday."', "OBJ", "False")], columns)
    f("dev_en.tsv", [("d1", "What a shameful display of cowardice by the council.", "SUBJ", "False"),
                     ("d2", "The council met for three hours on Tuesday.", "OBJ")], columns)
    f("dev_test_en.tsv", [("e1", "The bridge will reopen in May.", "OBJ")], [c for c in columns if c != "solved_conflict"])


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
def raw(tmp_path) -> SimpleNamespace:
    """Writers for every source plus a full synthetic raw folder at raw.root."""
    root = write_all(tmp_path / "raw")
    return SimpleNamespace(root=root, tmp=tmp_path, pick=pick, **{
        name: fn for name, fn in globals().items() if name.startswith("write_")})
