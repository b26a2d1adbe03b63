-- Description of the event log (created by the migrations; comments are re-applied on upgrade).
COMMENT ON TABLE pyevents.events IS
    'The event log: append-only (UPDATE, DELETE and TRUNCATE are refused for everyone), range-partitioned by month of timestamp (UTC). Read through get_events, read_events or the views; written only by append_events.';
