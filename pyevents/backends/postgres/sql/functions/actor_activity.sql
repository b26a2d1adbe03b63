-- What one actor did in a time window (timestamp >= p_since and < p_until; either may be
-- NULL for an open end), in position order; payload masked at the redacted paths.
-- SELECT * FROM pyevents.actor_activity('u-17', '2024-05-01', '2024-06-01');
CREATE OR REPLACE FUNCTION pyevents.actor_activity(
    p_actor_id text,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL
)
RETURNS TABLE (
    "position" bigint,
    "timestamp" timestamptz,
    event_type text,
    actor_type text,
    correlation_id uuid,
    payload jsonb
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.position, e.timestamp, e.event_type, e.actor_type, e.correlation_id,
           pyevents.redact(e.payload, 'payload', (SELECT pyevents.redacted_path_list()))
    FROM pyevents.events AS e
    WHERE e.actor_id = p_actor_id
      AND (p_since IS NULL OR e.timestamp >= p_since)
      AND (p_until IS NULL OR e.timestamp < p_until)
    ORDER BY e.position
$$;
COMMENT ON FUNCTION pyevents.actor_activity(text, timestamptz, timestamptz) IS
    'What one actor did between p_since (inclusive) and p_until (exclusive), in position order, payload masked at the redacted paths; NULL leaves an end open.';
