"""DCB differential test: random logs, random queries and conditions, against a tiny model."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyevents import AppendCondition, AppendConditionViolated, Event, Query, QueryItem
from pyevents.store import EventStore

from .events import make_event

TYPES = ["A", "B", "C"]
TAGS = ["t1", "t2", "t3", "t4"]

items = (
    st.tuples(
        st.lists(st.sampled_from(TYPES), max_size=2, unique=True),
        st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
    )
    .filter(lambda pair: bool(pair[0] or pair[1]))
    .map(lambda pair: QueryItem(types=pair[0], tags=pair[1]))
)
queries = st.one_of(st.just(Query.all()), st.lists(items, min_size=1, max_size=3).map(Query))


class Model:
    """The specification, written plainly: a list of (position, event)."""

    def __init__(self) -> None:
        self.log: list[tuple[int, Event]] = []

    def read(self, query: Query, after: int | None) -> list[int]:
        return [p for p, e in self.log if (after is None or p > after) and query.matches(e)]


def random_event(rng: random.Random) -> Event:
    return make_event(rng.choice(TYPES), tags=rng.sample(TAGS, rng.randrange(0, 3)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reads_and_conditions_agree_with_the_model(store: EventStore, data: st.DataObject) -> None:
    model = getattr(store, "_dcb_model", None)
    if model is None:  # one random log per store; examples keep appending to it
        model = Model()
        rng = random.Random(11)
        batch = [random_event(rng) for _ in range(40)]
        model.log += list(zip(store.append_batch(batch), batch, strict=True))
        store._dcb_model = model  # type: ignore[attr-defined]
    query = data.draw(queries)
    positions = [0] + [p for p, _ in model.log]
    # Draw an index, not a position: what hypothesis draws must not depend on the growing log.
    pick = data.draw(st.none() | st.integers(0, 10_000))
    after = None if pick is None else positions[pick % len(positions)]
    assert [e.position for e in store.read(query, after=after).events] == model.read(query, after)

    event = make_event(data.draw(st.sampled_from(TYPES)), tags=data.draw(st.lists(st.sampled_from(TAGS), max_size=2)))
    should_fail = bool(model.read(query, after))
    try:
        position = store.append(event, AppendCondition(query, after=after))
    except AppendConditionViolated:
        assert should_fail, "violation reported although nothing matches"
        assert store.get_event(event.event_id) is None
    else:
        assert not should_fail, "append succeeded although a matching event exists after the position"
        model.log.append((position, event))
