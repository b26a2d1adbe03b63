-- Description of the event id index table.
COMMENT ON TABLE pyevents.event_ids IS
    'Global uniqueness of event_id: one row per event, pointing at its position and timestamp (partition). Kept by append_events.';
