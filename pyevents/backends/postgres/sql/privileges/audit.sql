-- The audit views and functions: for readers, and for the auditor role where it exists.
GRANT SELECT ON pyevents.daily_event_counts, pyevents.latest_events TO pyevents_reader;
GRANT EXECUTE ON FUNCTION
    pyevents.correlation_timeline(uuid),
    pyevents.actor_activity(text, timestamptz, timestamptz)
TO pyevents_reader;
DO $audit$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'pyevents_auditor') THEN
        GRANT USAGE ON SCHEMA pyevents TO pyevents_auditor;
        GRANT SELECT ON pyevents.daily_event_counts, pyevents.latest_events TO pyevents_auditor;
        GRANT EXECUTE ON FUNCTION
            pyevents.correlation_timeline(uuid),
            pyevents.actor_activity(text, timestamptz, timestamptz),
            pyevents.verify_events()
        TO pyevents_auditor;
    END IF;
END
$audit$;
