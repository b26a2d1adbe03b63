-- The event with this id, found through event_ids (one index probe, one partition).
CREATE OR REPLACE FUNCTION pyevents.get_event(p_event_id uuid)
RETURNS SETOF pyevents.events
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.*
    FROM pyevents.event_ids AS i
    JOIN pyevents.events AS e ON e.position = i.position AND e.timestamp = i.timestamp
    WHERE i.event_id = p_event_id
$$;
COMMENT ON FUNCTION pyevents.get_event(uuid) IS
    'The event with this event_id, or no row (one index probe). For pyevents_reader.';
