import random

import pytest

from slant import artifact as art
from slant.predictor import Pass, Predictor, plan_batches


def _check_plan(lengths, cap, workers):
    spans = plan_batches(lengths, cap, workers)
    # Contiguous, in order, every window once.
    assert spans[0][0] == 0 and spans[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for start, end in spans:
        assert end > start
        # Rows x the longest (last, ascending) window: the padded size of the batch.
        assert (end - start) * lengths[end - 1] <= max(cap, lengths[end - 1])
    return spans


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_batches_cover_every_window_within_the_padded_cap(workers):
    rng = random.Random(0)
    for _ in range(200):
        lengths = sorted(rng.randint(3, 128) for _ in range(rng.randint(1, 80)))
        _check_plan(lengths, rng.choice([128, 256, 512]), workers)


def test_parallel_workers_get_a_multiple_of_their_count_of_even_batches():
    # A lone article: 12 windows that pack greedily into 3 batches of <= 256 padded tokens.
    lengths = [30] * 7 + [60] * 5
    greedy = plan_batches(lengths, 256, workers=1)
    assert len(greedy) == 3
    even = _check_plan(lengths, 256, workers=2)
    assert len(even) == 4
    padded = [(end - start) * lengths[end - 1] for start, end in even]
    assert max(padded) < max((end - start) * lengths[end - 1] for start, end in greedy)
    # No more batches than windows, and one window stays one batch.
    assert len(plan_batches([40, 50, 60], 512, workers=4)) == 3
    assert plan_batches([100], 256, workers=2) == [(0, 1)]


def test_scores_do_not_depend_on_how_the_windows_are_batched(tiny_artifact):
    loaded = art.load(tiny_artifact)
    texts = [" ".join(["The council met and the budget grew."] * n) for n in (1, 3, 8, 20, 40)]
    passes = [Pass(t) for t in texts] + [Pass(t, "the council") for t in texts]
    one_by_one = Predictor(loaded, device="cpu", threads=1)
    parallel = Predictor(loaded, device="cpu", threads=2, batch_tokens=128)
    assert parallel.workers == 2
    alone = [one_by_one.score([p])[0] for p in passes]
    together = parallel.score(passes)
    for a, b in zip(alone, together):
        if a.stance is not None:
            assert b.stance == pytest.approx(a.stance, abs=0.05)
        else:
            # int8 activation scales are per onnxruntime call: batch-mates move scores a little.
            assert b.frames == pytest.approx(a.frames, abs=0.05)
            assert b.bias == pytest.approx(a.bias, abs=0.05)
            assert [t[:2] for t in b.tokens] == [t[:2] for t in a.tokens]


def test_loaded_spans_skip_words_inside_names():
    from slant.predictor import loaded_spans

    text = "Trump's reckless plan angered Nancy Pelosi."
    tokens = [(0, 5, 0.9), (5, 7, 0.9), (8, 16, 0.8), (17, 21, 0.2), (30, 35, 0.7), (36, 42, 0.7)]
    names = [(0, 5), (30, 42)]
    assert [s["text"] for s in loaded_spans(text, tokens, 0.5)] == ["Trump's reckless", "Nancy Pelosi"]
    assert [s["text"] for s in loaded_spans(text, tokens, 0.5, names)] == ["reckless"]


def test_name_spans_find_people_and_places():
    from slant.targets import name_spans

    text = "Angela Merkel visited Paris on Monday."
    (spans,) = name_spans([text])
    found = {text[s:e] for s, e in spans}
    assert "Angela Merkel" in found and "Paris" in found
