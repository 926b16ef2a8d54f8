"""Per-paragraph results -> the article summary."""

from __future__ import annotations

from collections import Counter


def summarize(
    paragraphs: list[dict],
    targets: list[str],
    stance_labels: tuple[str, ...],
    frame_labels: tuple[str, ...],
    technique_labels: tuple[str, ...],
) -> dict:
    """The /classify summary.

    - stance per target: paragraph votes per label, and mean probabilities over the paragraphs
      that take a side toward the target (over all paragraphs when none does). The label follows
      those means, so it never contradicts them: "neutral" when no paragraph takes a side;
      otherwise the side (favor or against) with the higher mean ("neutral" on an exact tie).
      Paragraphs that take no side are left out of the means: their leaning scores would otherwise
      outvote the one paragraph that attacks or praises the target.
    - frames: the share of paragraphs that use each frame.
    - techniques: how many paragraphs use each technique.
    - bias: the mean paragraph bias probability and how many paragraphs are labeled biased.
    """
    n = len(paragraphs)
    stance = []
    for i, target in enumerate(targets):
        entries = [p["stance"][i] for p in paragraphs]
        votes = Counter(e["label"] for e in entries)
        counts = {label: votes.get(label, 0) for label in stance_labels}
        sided = [e for e in entries if e["label"] in ("favor", "against")]
        pool = sided or entries
        mean = {label: round(sum(e["scores"][label] for e in pool) / max(len(pool), 1), 4) for label in stance_labels}
        label = "neutral"
        if sided:
            favor, against = mean.get("favor", 0.0), mean.get("against", 0.0)
            label = "favor" if favor > against else "against" if against > favor else "neutral"
        stance.append({"target": target, "label": label, "scores": mean, "paragraphs": counts})
    frame_counts = Counter(l for p in paragraphs for l in p["frames"]["labels"])
    technique_counts = Counter(l for p in paragraphs for l in p["techniques"]["labels"])
    return {
        "stance": stance,
        "frames": {f: round(frame_counts.get(f, 0) / max(n, 1), 4) for f in frame_labels},
        "techniques": {t: technique_counts.get(t, 0) for t in technique_labels},
        "bias": {
            "score": round(sum(p["bias"]["score"] for p in paragraphs) / max(n, 1), 4),
            "biased_paragraphs": sum(p["bias"]["label"] == "biased" for p in paragraphs),
        },
    }
