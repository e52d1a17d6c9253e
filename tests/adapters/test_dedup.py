from hypothesis import given
from hypothesis import strategies as st

from ingestion.adapters.dedup import InMemoryDedupStore, NoDedup
from support import FakeClock


def test_uri_is_seen_only_after_delivery_and_within_the_window():
    clock = FakeClock(1000.0)
    store = InMemoryDedupStore(window_seconds=600, clock=clock)
    assert not store.is_duplicate("/submit/a")
    store.mark_delivered("/submit/a")
    assert store.is_duplicate("/submit/a")
    assert not store.is_duplicate("/submit/b")
    clock.now += 599
    assert store.is_duplicate("/submit/a")
    clock.now += 2
    assert not store.is_duplicate("/submit/a")
    assert len(store) == 0  # expired entries are forgotten


def test_run_long_window_never_expires():
    clock = FakeClock(1000.0)
    store = InMemoryDedupStore(window_seconds=None, clock=clock)
    store.mark_delivered("u")
    clock.now += 10**9
    assert store.is_duplicate("u")


def test_no_dedup_never_reports_duplicates():
    store = NoDedup()
    store.mark_delivered("u")
    assert not store.is_duplicate("u")


def test_expired_marks_are_swept_as_new_ones_arrive():
    clock = FakeClock(1000.0)
    store = InMemoryDedupStore(window_seconds=10, clock=clock)
    for index in range(1000):
        store.mark_delivered(f"/submit/{index}")
        clock.now += 1
    # Never more than the live window (10 marks) plus the two swept per mark can lag behind.
    assert len(store) <= 12
    assert store.is_duplicate("/submit/999") and not store.is_duplicate("/submit/0")


@given(st.lists(st.text(max_size=6), max_size=400), st.integers(min_value=1, max_value=50))
def test_the_store_never_holds_more_than_its_bound(uris, bound):
    store = InMemoryDedupStore(window_seconds=None, clock=FakeClock(0.0), max_entries=bound)
    for uri in uris:
        store.mark_delivered(uri)
        assert len(store) <= bound
        assert store.is_duplicate(uri)  # the newest mark is always kept
    # The most recently marked distinct uris are the ones kept.
    assert len(store) == min(bound, len(set(uris)))
