"""serving/heap.py: what a worker loaded is frozen; what it makes later is still collected."""

from __future__ import annotations

import gc
import weakref

import pytest

from serving.heap import freeze_loaded


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as before


def test_what_was_loaded_is_left_out_of_every_collection():
    loaded = Node()
    assert freeze_loaded() > 0
    assert not any(o is loaded for o in gc.get_objects())  # no generation scans it any more


def test_a_cycle_made_after_the_freeze_is_still_collected():
    freeze_loaded()
    later = Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None


def test_freezing_again_collects_what_the_first_freeze_kept_and_was_let_go_since():
    """After a model switch: the replaced model's cycles are freed, not kept for good."""
    previous = Node()
    gone = weakref.ref(previous)
    freeze_loaded()
    del previous
    gc.collect()
    assert gone() is not None  # frozen: a full collection passes it by
    freeze_loaded()
    assert gone() is None
