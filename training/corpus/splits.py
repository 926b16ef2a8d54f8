"""Splits that never leak.

1. Official splits are kept where the source has them: an official test set stays test (NewsMTSC
   devtest_rw/devtest_mt, UKP test, IBM test, GWStance held-out test, SemEval-2023 dev for
   techniques, Park et al. 2021 test); SemEval-2016, VAST, issue_framing and CheckThat! keep their
   official train/dev/test.
2. Everything else is split by hashing its group key (the article id; PTC shares SemEval-2023's
   article ids): sha1 -> bucket 0..99 -> train < 80 <= dev < 90 <= test. Adding data never moves
   an existing article. Where the source (or the article family) has an official test set, the
   test bucket goes to dev, so the official test set is the only test set of that source.
3. Whole articles stay on one side: if an article has records in several splits (an official
   split that cut through articles), the records on the less held-out side are dropped.
4. No normalised text sits in two splits of a task (across sources too; for stance this also
   covers every (target, text) pair): copies on the less held-out side are dropped.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

from slant.text_key import norm_key

from .records import SPLIT_RANK, SPLITS

# Split policy per source; sources not named here: "official_test" if they have official test
# records, else "hash".
POLICY = {
    "semeval2016": "official",  # tweets: no articles; the official train/val/test are kept
    "ptc": "official_test",  # all PTC articles are SemEval-2023 train articles: follow its policy
    "vast": "official",  # official train/dev/test (dev/test from a third-party reformat)
    "issue_framing": "official",  # tweets: official train/dev (test empty); forum sentences: dev/test
    "checkthat": "official",  # train / dev / dev_test
}


def bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100


def hash_split(key: str, has_official_test: bool = False) -> str:
    b = bucket(key)
    if b < 80:
        return "train"
    if b < 90 or has_official_test:
        return "dev"
    return "test"


def assign_splits(records: list[dict]) -> None:
    """Set `split` on every record, per source policy (in place)."""
    by_source = defaultdict(list)
    for r in records:
        by_source[r["source"]].append(r)
    for source, recs in by_source.items():
        has_test = any(r["_official"] == "test" for r in recs)
        policy = POLICY.get(source, "official_test" if has_test else "hash")
        for r in recs:
            if policy == "official" and r["_official"]:
                r["split"] = r["_official"]
            elif policy in ("official_test", "official") and r["_official"] == "test":
                r["split"] = "test"
            else:
                r["split"] = hash_split(r["_group"], policy != "hash")


def _drop_lower(records: list[dict], keys_of, reason: str, log: Counter) -> list[dict]:
    top: dict[str, int] = {}
    for r in records:
        for k in keys_of(r):
            top[k] = max(top.get(k, -1), SPLIT_RANK[r["split"]])
    kept = []
    for r in records:
        rank = SPLIT_RANK[r["split"]]
        if any(top[k] > rank for k in keys_of(r)):
            log[(r["source"], r["split"], reason)] += 1
        else:
            kept.append(r)
    return kept


def resolve_leaks(records: list[dict], log: Counter | None = None) -> list[dict]:
    """Apply rules 3 and 4 to the records of one task; `log` counts what was dropped, by
    (source, split, reason)."""
    log = Counter() if log is None else log
    kept = []
    for r in records:
        if norm_key(r["text"]):
            kept.append(r)
        else:
            log[(r["source"], r["split"], "text empty after normalisation")] += 1
    kept = _drop_lower(kept, lambda r: (r["_group"],), "article also on a more held-out side", log)
    kept = _drop_lower(kept, lambda r: (norm_key(r["text"]),), "text also on a more held-out side", log)
    return kept


def leaking_texts(records: list[dict]) -> dict[str, set[str]]:
    """Normalised texts found in more than one split (should be empty after resolve_leaks)."""
    sides = defaultdict(set)
    for r in records:
        sides[norm_key(r["text"])].add(r["split"])
    return {k: v for k, v in sides.items() if len(v) > 1}


__all__ = ["POLICY", "SPLITS", "assign_splits", "bucket", "hash_split", "leaking_texts", "resolve_leaks"]
