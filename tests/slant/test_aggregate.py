"""The article summary: each target's label agrees with its summary scores."""
from slant.aggregate import summarize
from slant.labels import FRAMES, STANCE, TECHNIQUES


def paragraph(label: str, favor: float, against: float) -> dict:
    scores = {"favor": favor, "against": against, "neutral": round(1 - favor - against, 4)}
    return {"stance": [{"target": "the mayor", "label": label, "scores": scores}],
            "frames": {"labels": []}, "techniques": {"labels": []}, "bias": {"label": "neutral", "score": 0.1}}


def summary_of(*paragraphs) -> dict:
    return summarize(list(paragraphs), ["the mayor"], STANCE.labels, FRAMES.labels, TECHNIQUES.labels)["stance"][0]


def test_label_follows_the_mean_scores_not_the_vote_count():
    # Two mildly "against" paragraphs and one strongly "favor": the votes say against, the means favor.
    s = summary_of(paragraph("against", 0.30, 0.40), paragraph("against", 0.30, 0.40), paragraph("favor", 0.95, 0.01))
    assert s["paragraphs"] == {"favor": 1, "against": 2, "neutral": 0}
    assert s["scores"]["favor"] > s["scores"]["against"]
    assert s["label"] == "favor"


def test_neutral_when_no_paragraph_takes_a_side():
    s = summary_of(paragraph("neutral", 0.40, 0.10), paragraph("neutral", 0.35, 0.05))
    assert s["scores"]["favor"] > s["scores"]["against"]
    assert s["label"] == "neutral"


def test_one_sided_paragraph_among_neutral_ones_decides_the_side():
    s = summary_of(paragraph("neutral", 0.05, 0.15), paragraph("against", 0.05, 0.90), paragraph("neutral", 0.10, 0.10))
    assert s["label"] == "against"
