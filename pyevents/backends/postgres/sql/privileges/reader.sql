-- pyevents_reader: reads through the query functions only, never the tables directly, and
-- may look up a subscription's checkpoint; moving one is the consumer's right.
GRANT USAGE ON SCHEMA pyevents TO pyevents_reader;
-- Earlier versions granted these to readers.
REVOKE EXECUTE ON FUNCTION pyevents.save_checkpoint(text, bigint), pyevents.verify() FROM pyevents_reader;
GRANT EXECUTE ON FUNCTION
    pyevents.schema_version(),
    pyevents.get_events(timestamptz, timestamptz, text[], text, uuid, text[], bigint, integer, integer, text, text, bigint, text),
    pyevents.count_events(timestamptz, timestamptz, text[], text, uuid, text[]),
    pyevents.count_events_by(text, timestamptz, timestamptz, text[], text, uuid, text[]),
    pyevents.get_event(uuid),
    pyevents.get_events_by_correlation(uuid),
    pyevents.read_events(jsonb, bigint, integer),
    pyevents.stream_frontier(bigint, integer),
    pyevents.get_checkpoint(text)
TO pyevents_reader;
