"""Feedback -> corpus: the agreement rule, the held-out share, and a merge that never touches dev or
test rows."""

from __future__ import annotations

from slant.feedback.store import FeedbackStore
from training.feedback_corpus import is_heldout, merge_corpus, select_corrections


def test_merge_dedups_weights_and_holds_out(tiny_corpus, tmp_path):
    from datasets import load_from_disk
    from training.corpus import load_task

    base = load_task("stance", tiny_corpus)
    dup = base["test"][0]  # a base test paragraph that an annotator relabels
    other = next(l for l in ("favor", "against", "neutral") if l != dup["labels"][0])
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    texts = [f"Paragraph number {i} about the harbour." for i in range(40)]
    store.add([{"task": "stance", "text": t, "target": "X", "label": "neutral"} for t in texts], principal="key:a")
    store.add(
        [
            {
                "task": "stance",
                "text": "  " + dup["text"].upper() + " ",
                "target": dup["target"],
                "label": dup["labels"][0],
            }
        ],
        principal="key:a",
    )
    store.add(
        [{"task": "stance", "text": dup["text"], "target": dup["target"], "label": other}], principal="key:a"
    )  # one key changing its mind: its latest label is its vote
    corrections, dropped = select_corrections(store.rows())
    assert len(corrections["stance"]) == 41 and not dropped
    assert [r.labels for r in corrections["stance"] if r.text == dup["text"]] == [(other,)]
    report = merge_corpus(tiny_corpus, tmp_path / "merged", corrections, weight=3, holdout=0.2)
    merged = load_from_disk(str(tmp_path / "merged" / "stance"))
    held = sum(is_heldout(t, 0.2) for t in texts)
    assert 0 < held < 40 and report["stance"]["heldout"] == held
    assert report["stance"]["protected"] == 1  # the test text is kept out of training and hold-out
    fb_train = [r for r in merged["train"] if r["source"] == "feedback"]
    fb_test = [r for r in merged["test"] if r["source"] == "feedback"]
    assert len(fb_train) == 3 * (40 - held) and len(fb_test) == held
    assert not any(r["text"] == dup["text"] for s in merged for r in merged[s] if r["source"] == "feedback")
    for split in ("dev", "test"):  # the fixed splits are whole and unchanged
        fixed = [r for r in merged[split] if r["source"] != "feedback"]
        assert fixed == list(base[split])
    assert (tmp_path / "merged" / "bias").is_symlink()  # tasks without feedback are linked, not copied
    assert len(load_task("bias", tmp_path / "merged")["train"]) == len(load_task("bias", tiny_corpus)["train"])


def test_poisoning_changes_neither_the_fixed_splits_nor_training_beyond_the_rule(tiny_corpus, tmp_path):
    """Feedback that copies every dev/test text with flipped labels, and a flood of 1,000
    contradictory labels for one paragraph from 1,000 self-declared annotators, change neither
    the fixed splits nor the training set beyond the documented agreement rule."""
    from datasets import load_from_disk
    from training.corpus import load_task

    labels = ("favor", "against", "neutral")
    base = load_task("stance", tiny_corpus)
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    copies = [
        {
            "task": "stance",
            "text": r["text"],
            "target": r["target"],
            "label": labels[(labels.index(r["labels"][0]) + 1) % 3],
        }
        for split in ("dev", "test")
        for r in base[split]
    ]
    store.add(copies, principal="key:attacker")
    flood_text = "The harbour plan was finally approved on Monday."
    store.add(
        [
            {
                "task": "stance",
                "text": flood_text,
                "target": "the harbour plan",
                "label": labels[i % 3],
                "annotator": f"annotator-{i}",
            }
            for i in range(1000)
        ]
    )  # unauthenticated: one voter
    majority = "The new bridge opened to traffic."
    for key, label in (("key:a", "favor"), ("key:b", "favor"), ("key:c", "against")):
        store.add([{"task": "stance", "text": majority, "target": "the bridge", "label": label}], principal=key)
    tie = "The council met again."
    for key, label in (("key:a", "favor"), ("key:b", "against")):
        store.add([{"task": "stance", "text": tie, "target": "the council", "label": label}], principal=key)

    corrections, dropped = select_corrections(store.rows())
    kept = {r.text: r.labels for r in corrections["stance"]}
    assert flood_text not in kept and tie not in kept
    assert kept[majority] == ("favor",)
    reasons = {d["text"]: d["reason"] for d in dropped}
    assert "disagree" in reasons[flood_text] and "no majority" in reasons[tie]

    report = merge_corpus(tiny_corpus, tmp_path / "merged", corrections, weight=3, holdout=0.0)
    merged = load_from_disk(str(tmp_path / "merged" / "stance"))
    for split in ("dev", "test"):
        assert list(merged[split]) == list(base[split])  # not one row added, removed or relabeled
    assert report["stance"]["protected"] == len({r["text"] for r in copies})
    fb_train = {r["text"] for r in merged["train"] if r["source"] == "feedback"}
    assert fb_train == {majority}
    base_train = [r for r in merged["train"] if r["source"] != "feedback"]
    assert base_train == list(base["train"])


def test_holdout_is_deterministic_and_keyed_on_the_normalised_text():
    texts = [f"text {i}" for i in range(2000)]
    share = sum(is_heldout(x, 0.2) for x in texts) / len(texts)
    assert 0.17 < share < 0.23
    assert is_heldout("Some Text!", 0.2) == is_heldout("some text", 0.2)  # normalised
    assert not any(is_heldout(x, 0.0) for x in texts)
