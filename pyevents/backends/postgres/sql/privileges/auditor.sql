-- pyevents_auditor: checks the log (verify, which reads every partition, so it is not a
-- reader's right) and counts events by any filter. It reads no event content: grant
-- pyevents_reader as well to an auditor who must.
GRANT USAGE ON SCHEMA pyevents TO pyevents_auditor;
GRANT EXECUTE ON FUNCTION
    pyevents.schema_version(),
    pyevents.verify(),
    pyevents.missing_protection(),
    pyevents.count_events(timestamptz, timestamptz, text[], text, uuid, text[]),
    pyevents.count_events_by(text, timestamptz, timestamptz, text[], text, uuid, text[])
TO pyevents_auditor;
