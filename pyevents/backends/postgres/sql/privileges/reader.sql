-- pyevents_reader: reads through the query functions only, never the tables directly;
-- consumers also keep their subscription checkpoints.
GRANT USAGE ON SCHEMA pyevents TO pyevents_reader;
GRANT EXECUTE ON FUNCTION
    pyevents.schema_version(),
    pyevents.get_events(timestamptz, timestamptz, text[], text, uuid, text[], bigint, integer, integer, text, text, bigint, text),
    pyevents.get_event(uuid),
    pyevents.get_events_by_correlation(uuid),
    pyevents.read_events(jsonb, bigint, integer),
    pyevents.stream_frontier(bigint, integer),
    pyevents.get_checkpoint(text),
    pyevents.save_checkpoint(text, bigint)
TO pyevents_reader;
GRANT EXECUTE ON FUNCTION pyevents.verify() TO pyevents_reader;
