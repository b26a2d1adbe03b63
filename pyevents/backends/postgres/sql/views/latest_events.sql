-- The log newest first, for auditors: SELECT * FROM pyevents.latest_events LIMIT 20;
-- (the ORDER BY is served by the position index of each partition, so a LIMIT reads little).
CREATE OR REPLACE VIEW pyevents.latest_events AS
SELECT e.position,
       e.timestamp,
       e.event_type,
       e.actor_type || ':' || e.actor_id AS actor,
       e.correlation_id,
       e.metadata -> 'tags' AS tags,
       e.payload,
       e.recorded_at
FROM pyevents.events AS e
ORDER BY e.position DESC;
ALTER VIEW pyevents.latest_events OWNER TO pyevents_owner;
COMMENT ON VIEW pyevents.latest_events IS 'Every event, newest (highest position) first; use with LIMIT.';
