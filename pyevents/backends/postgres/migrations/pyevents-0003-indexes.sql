-- depends: pyevents-0001-events
-- Indexes for the queries of get_events. Each ends with position, so a filtered page is read
-- straight off one index in log order.

CREATE INDEX IF NOT EXISTS events_event_type_idx ON pyevents.events (event_type, position);
CREATE INDEX IF NOT EXISTS events_correlation_idx ON pyevents.events (correlation_id, position);
CREATE INDEX IF NOT EXISTS events_actor_idx ON pyevents.events (actor_id, position);
CREATE INDEX IF NOT EXISTS events_timestamp_idx ON pyevents.events (timestamp, position);
