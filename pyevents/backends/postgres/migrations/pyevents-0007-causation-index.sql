-- depends: pyevents-0006-timestamp-limits
-- "What did this event cause?" follows causation_id; without an index it scans every partition.

CREATE INDEX IF NOT EXISTS events_causation_idx ON pyevents.events (causation_id, position);
