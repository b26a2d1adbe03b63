-- The audit views and functions: for readers and for the auditor. They mask the paths of
-- pyevents.redacted_paths (redact), so the functions that mask are granted with them.
GRANT SELECT ON pyevents.daily_event_counts, pyevents.latest_events TO pyevents_reader, pyevents_auditor;
GRANT EXECUTE ON FUNCTION
    pyevents.correlation_timeline(uuid),
    pyevents.actor_activity(text, timestamptz, timestamptz),
    pyevents.redact(jsonb, text, text[]),
    pyevents.redacted_path_list()
TO pyevents_reader, pyevents_auditor;
