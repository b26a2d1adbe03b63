"""Health and metrics on every backend: readiness checks, and metrics that follow what was
appended, queried and refused (DESIGN.md 3, health_check / get_metrics)."""

from __future__ import annotations

import uuid

import pytest

from pyevents import AppendCondition, AppendConditionViolated, Query, QueryItem, QueryOptions, ValidationError
from pyevents.store import EventStore

from .conftest import Opener
from .events import make_event


def test_health_is_ready_with_every_check_passing(store: EventStore) -> None:
    status = store.health_check()
    assert status.healthy and status.reachable, status.to_dict()
    assert status.checks and all(check.ok for check in status.checks), status.checks
    document = status.to_dict()
    assert document["ready"] is True and document["live"] is True
    assert set(document["checks"]) == {check.name for check in status.checks}


def test_metrics_follow_appends_queries_and_failures(store: EventStore) -> None:
    fresh = store.get_metrics()
    assert fresh.storage is not None and fresh.storage.events_total == 0 and fresh.storage.head == 0
    assert fresh.appended_total == 0 and fresh.append_latency.count == 0

    positions = store.append_batch([make_event("A"), make_event("A"), make_event("B", tags=["k"])])
    last = store.append(make_event("B"))
    store.get_events(QueryOptions(event_type="A"))
    head = store.read(Query([QueryItem(types=["B"], tags=["k"])])).head
    with pytest.raises(AppendConditionViolated):
        store.append(make_event("B"), AppendCondition(Query([QueryItem(types=["B"])]), after=positions[0]))
    with pytest.raises(ValidationError):
        store.append_batch([])
    store.create_snapshot(uuid.uuid4(), {"a": 1})

    metrics = store.get_metrics()
    storage = metrics.storage
    assert storage is not None, metrics.error
    assert storage.events_by_type == {"A": 2, "B": 2} and storage.events_total == 4
    assert storage.head == last and head == positions[-1]
    assert storage.storage_bytes > 0 and storage.partitions >= 1
    assert storage.growth_bytes_per_day >= 0
    assert metrics.appended_by_type == {"A": 2, "B": 2} and metrics.appended_total == 4
    assert metrics.append_latency.count == 2 and metrics.append_latency.sum > 0
    assert metrics.append_latency.buckets[-1] == (float("inf"), 2)
    assert {name: h.count for name, h in metrics.query_latency.items()} == {"get_events": 1, "read": 1}
    assert metrics.failed_writes == {"AppendConditionViolated": 1, "ValidationError": 1}
    assert metrics.connection_errors == 0
    assert metrics.to_dict()["storage"]["events_total"] == 4


def test_subscription_lag_is_the_distance_to_the_head(open_store: Opener) -> None:
    store = open_store()
    positions = store.append_batch([make_event() for _ in range(3)])
    with store.stream_events(subscription="mailer") as stream:
        for event in stream:
            if event.position == positions[1]:
                break
    store.append(make_event())
    storage = open_store().get_metrics().storage
    assert storage is not None and storage.subscription_lag == {"mailer": 2}


def test_metrics_of_storage_are_shared_by_every_process(open_store: Opener) -> None:
    open_store().append_batch([make_event("X") for _ in range(2)])
    other = open_store().get_metrics()
    assert other.storage is not None and other.storage.events_by_type == {"X": 2}
    assert other.appended_total == 0  # process counters belong to the store object that appended
