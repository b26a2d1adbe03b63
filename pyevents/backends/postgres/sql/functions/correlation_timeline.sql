-- The timeline of one correlation for auditors: every event in position order with what
-- caused it (the causing event's position and type) and its depth in the causation chain
-- (0 for an event with no cause inside the correlation).
-- SELECT * FROM pyevents.correlation_timeline('6f1c...');
CREATE OR REPLACE FUNCTION pyevents.correlation_timeline(p_correlation_id uuid)
RETURNS TABLE (
    "position" bigint,
    "timestamp" timestamptz,
    event_type text,
    actor text,
    event_id uuid,
    caused_by bigint,
    caused_by_type text,
    depth integer
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE correlation AS (
        SELECT e.position, e.timestamp, e.event_type, e.actor_type, e.actor_id, e.event_id, e.causation_id
        FROM pyevents.events AS e
        WHERE e.correlation_id = p_correlation_id
    ), chain AS (
        SELECT c.event_id, 0 AS depth
        FROM correlation AS c
        WHERE NOT EXISTS (SELECT 1 FROM correlation AS p WHERE p.event_id = c.causation_id)
        UNION ALL
        SELECT c.event_id, chain.depth + 1
        FROM chain
        JOIN correlation AS c ON c.causation_id = chain.event_id
        WHERE chain.depth < 1000  -- a cycle of ids can only be forged, but must not loop forever
    )
    SELECT c.position, c.timestamp, c.event_type, c.actor_type || ':' || c.actor_id, c.event_id,
           p.position, p.event_type, (SELECT max(chain.depth) FROM chain WHERE chain.event_id = c.event_id)
    FROM correlation AS c
    LEFT JOIN correlation AS p ON p.event_id = c.causation_id
    ORDER BY c.position
$$;
COMMENT ON FUNCTION pyevents.correlation_timeline(uuid) IS
    'Every event of a correlation in position order, with the position and type of the event that caused it and its depth in the causation chain.';
