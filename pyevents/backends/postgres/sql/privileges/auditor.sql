-- pyevents_auditor: checks the log (verify, which reads every partition, so it is not a
-- reader's right) and counts events by any filter. It sees event content only through the
-- audit views and functions (audit.sql), which mask the paths of pyevents.redacted_paths;
-- pyevents_reader as well would give it whole events.
GRANT USAGE ON SCHEMA pyevents TO pyevents_auditor;
GRANT EXECUTE ON FUNCTION
    pyevents.schema_version(),
    pyevents.verify(),
    pyevents.missing_protection(),
    pyevents.count_events(timestamptz, timestamptz, text[], text, uuid, text[]),
    pyevents.count_events_by(text, timestamptz, timestamptz, text[], text, uuid, text[])
TO pyevents_auditor;
