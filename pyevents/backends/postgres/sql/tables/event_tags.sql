-- Description of the tag index table.
COMMENT ON TABLE pyevents.event_tags IS
    'The tags of every event (metadata.tags), keyed for DCB reads and conditional appends. Kept by append_events.';
