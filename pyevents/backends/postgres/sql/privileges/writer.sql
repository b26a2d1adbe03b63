-- pyevents_writer: appends through the append functions only; grant pyevents_reader as well
-- to applications that also read.
GRANT USAGE ON SCHEMA pyevents TO pyevents_writer;
GRANT EXECUTE ON FUNCTION
    pyevents.schema_version(),
    pyevents.append_event(uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb, jsonb, bigint),
    pyevents.append_events(uuid[], timestamptz[], text[], text[], text[], uuid[], uuid[], text[], jsonb[], jsonb[], jsonb, bigint)
TO pyevents_writer;
