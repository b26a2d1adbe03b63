"""Dynamic Consistency Boundary (dcb.events): query matching and conditional append."""

from __future__ import annotations

import pytest

from pyevents import AppendCondition, AppendConditionViolated, Query, QueryItem, ValidationError
from pyevents.store import EventStore

from .events import make_event


def fill(store: EventStore) -> list[int]:
    return store.append_batch(
        [
            make_event("CourseDefined", tags=["course:c1"]),
            make_event("StudentSubscribed", tags=["course:c1", "student:s1"]),
            make_event("CourseDefined", tags=["course:c2"]),
            make_event("StudentSubscribed", tags=["course:c2", "student:s1"]),
            make_event("StudentRenamed", tags=["student:s1"]),
        ]
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Query([QueryItem(types=["CourseDefined"])]), [0, 2]),
        (Query([QueryItem(tags=["student:s1"])]), [1, 3, 4]),
        (Query([QueryItem(types=["StudentSubscribed"], tags=["course:c2"])]), [3]),
        (Query([QueryItem(tags=["course:c1", "student:s1"])]), [1]),
        (Query([QueryItem(types=["CourseDefined"], tags=["course:c1"]), QueryItem(tags=["student:s1"])]), [0, 1, 3, 4]),
        (Query([QueryItem(types=["CourseDefined", "StudentRenamed"])]), [0, 2, 4]),
        (Query([QueryItem(types=["Nothing"])]), []),
        (Query.all(), [0, 1, 2, 3, 4]),
    ],
)
def test_read_matches_the_specification(store: EventStore, query: Query, expected: list[int]) -> None:
    positions = fill(store)
    result = store.read(query)
    assert [e.position for e in result.events] == [positions[i] for i in expected]
    assert result.head == (positions[expected[-1]] if expected else None)


def test_read_after_and_limit(store: EventStore) -> None:
    positions = fill(store)
    query = Query([QueryItem(tags=["student:s1"])])
    assert [e.position for e in store.read(query, after=positions[1]).events] == [positions[3], positions[4]]
    limited = store.read(query, limit=2)
    assert [e.position for e in limited.events] == [positions[1], positions[3]]
    assert limited.head == positions[3]
    assert store.read(query, after=positions[4]).head == positions[4]


def test_condition_fails_when_a_match_exists_after_the_position(store: EventStore) -> None:
    positions = fill(store)
    query = Query([QueryItem(types=["StudentSubscribed"], tags=["course:c1"])])
    new = make_event("StudentSubscribed", tags=["course:c1", "student:s2"])
    with pytest.raises(AppendConditionViolated):
        store.append(new, AppendCondition(query, after=None))
    with pytest.raises(AppendConditionViolated):
        store.append(new, AppendCondition(query, after=positions[0]))
    assert store.get_event(new.event_id) is None
    position = store.append(new, AppendCondition(query, after=positions[1]))
    assert position > positions[-1]


def test_condition_with_no_match_succeeds(store: EventStore) -> None:
    fill(store)
    query = Query([QueryItem(types=["StudentSubscribed"], tags=["course:c3"])])
    batch = [make_event("CourseDefined", tags=["course:c3"]), make_event("StudentSubscribed", tags=["course:c3"])]
    positions = store.append_batch(batch, AppendCondition(query))
    assert len(positions) == 2
    with pytest.raises(AppendConditionViolated):
        store.append(make_event("StudentSubscribed", tags=["course:c3"]), AppendCondition(query))


def test_query_all_condition(store: EventStore) -> None:
    first = store.append(make_event())
    with pytest.raises(AppendConditionViolated):
        store.append(make_event(), AppendCondition(Query.all()))
    assert store.append(make_event(), AppendCondition(Query.all(), after=first)) > first


def test_retry_of_a_conditional_append_that_succeeded_is_idempotent(store: EventStore) -> None:
    event = make_event("Once", tags=["k"])
    condition = AppendCondition(Query([QueryItem(tags=["k"])]))
    position = store.append(event, condition)
    assert store.append(event, condition) == position


def test_query_shapes_are_validated() -> None:
    with pytest.raises(ValidationError, match="types or tags"):
        QueryItem()
    with pytest.raises(ValidationError, match="at least one item"):
        Query([])
    with pytest.raises(ValidationError, match="fail_if_events_match"):
        AppendCondition("tags")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="after"):
        AppendCondition(Query.all(), after=-1)
