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
