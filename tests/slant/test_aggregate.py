"""The article summary: each target's label agrees with its summary scores."""

from slant.aggregate import summarize
from slant.labels import FRAMES, STANCE, TECHNIQUES


def paragraph(label: str, favor: float, against: float) -> dict:
    scores = {"favor": favor, "against": against, "neutral": round(1 - favor - against, 4)}
    return {
        "stance": [{"target": "the mayor", "label": label, "scores": scores}],
        "frames": {"labels": []},
        "techniques": {"labels": []},
        "bias": {"label": "neutral", "score": 0.1},
    }


def summary_of(*paragraphs) -> dict:
    return summarize(list(paragraphs), ["the mayor"], STANCE.labels, FRAMES.labels, TECHNIQUES.labels)["stance"][0]


def agrees(s: dict) -> bool:
    favor, against = s["scores"]["favor"], s["scores"]["against"]
    return s["label"] == ("favor" if favor > against else "against" if against > favor else "neutral")


def test_label_follows_the_mean_scores_not_the_vote_count():
    # Two mildly "against" paragraphs and one strongly "favor": the votes say against, the means favor.
    s = summary_of(paragraph("against", 0.30, 0.40), paragraph("against", 0.30, 0.40), paragraph("favor", 0.95, 0.01))
    assert s["paragraphs"] == {"favor": 1, "against": 2, "neutral": 0}
    assert s["label"] == "favor" and agrees(s)


def test_neutral_when_no_paragraph_takes_a_side():
    s = summary_of(paragraph("neutral", 0.40, 0.10), paragraph("neutral", 0.35, 0.05))
    assert s["scores"]["favor"] == 0.375  # the means are over all paragraphs then
    assert s["label"] == "neutral"


def test_neutral_paragraphs_leaning_one_way_do_not_outvote_a_sided_one():
    # Three neutral paragraphs leaning favor (0.43) and one clear attack: the article is against him.
    s = summary_of(
        paragraph("neutral", 0.43, 0.02),
        paragraph("against", 0.22, 0.72),
        paragraph("neutral", 0.47, 0.03),
        paragraph("neutral", 0.44, 0.02),
    )
    assert s["label"] == "against" and agrees(s)
    assert s["scores"]["against"] == 0.72
