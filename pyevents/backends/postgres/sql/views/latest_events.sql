-- The log newest first, for auditors: SELECT * FROM pyevents.latest_events LIMIT 20;
-- (the ORDER BY is served by the position index of each partition, so a LIMIT reads little).
-- The paths in pyevents.redacted_paths are masked in payload; security_barrier keeps a
-- caller's own functions in WHERE from seeing rows before the view has masked them.
CREATE OR REPLACE VIEW pyevents.latest_events WITH (security_barrier) AS
SELECT e.position,
       e.timestamp,
       e.event_type,
       e.actor_type || ':' || e.actor_id AS actor,
       e.correlation_id,
       e.metadata -> 'tags' AS tags,
       pyevents.redact(e.payload, 'payload', (SELECT pyevents.redacted_path_list())) AS payload,
       e.recorded_at,
       e.appended_by
FROM pyevents.events AS e
ORDER BY e.position DESC;
ALTER VIEW pyevents.latest_events OWNER TO pyevents_owner;
COMMENT ON VIEW pyevents.latest_events IS
    'Every event, newest (highest position) first, payload masked at the redacted paths; use with LIMIT.';
