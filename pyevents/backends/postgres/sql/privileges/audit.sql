-- The audit views and functions: for readers and for the auditor.
GRANT SELECT ON pyevents.daily_event_counts, pyevents.latest_events TO pyevents_reader, pyevents_auditor;
GRANT EXECUTE ON FUNCTION
    pyevents.correlation_timeline(uuid),
    pyevents.actor_activity(text, timestamptz, timestamptz)
TO pyevents_reader, pyevents_auditor;
