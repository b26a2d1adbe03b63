-- Descriptions shown by psql's \d+, \dv+ and \df+ for the tables and the functions of
-- backup, verify and audit.
COMMENT ON TABLE pyevents.events IS
    'The event log: append-only (UPDATE, DELETE and TRUNCATE are refused for everyone), range-partitioned by month of timestamp (UTC).';
COMMENT ON TABLE pyevents.event_ids IS 'Global uniqueness of event_id: one row per event, pointing at its position and timestamp.';
COMMENT ON TABLE pyevents.event_tags IS 'The tags of every event (metadata.tags), keyed for DCB reads and conditional appends.';
COMMENT ON TABLE pyevents.partitions IS 'The month partitions of pyevents.events and the range each covers.';
COMMENT ON TABLE pyevents.subscriptions IS 'Checkpoints of named subscriptions: the last position each consumer processed.';
COMMENT ON TABLE pyevents.store_settings IS
    'Fixed when the store was installed: role_prefix, the prefix of its role names (role_prefix || ''owner'', ...).';
COMMENT ON TABLE pyevents.event_checksums IS
    'SHA-256 of every event, recorded when it was appended (or sealed by backfill_checksums), recomputed by verify_events().';
COMMENT ON FUNCTION pyevents.event_checksum(bigint, uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb) IS
    'SHA-256 over an event''s stored fields, independent of the session''s TimeZone and DateStyle.';
COMMENT ON FUNCTION pyevents.backfill_checksums() IS
    'Seals events that have no checksum yet with the checksum of their current content; returns how many. Run by every upgrade.';
COMMENT ON FUNCTION pyevents.verify_events() IS
    'Checks of the log, one row per problem: checksums, unique ids and positions, removed events, partition coverage.';
COMMENT ON FUNCTION pyevents.verify() IS
    'Consistency checks of the side tables and partitions, one row per problem; see also verify_events().';
