-- Events matching every given filter (NULL = no filter, as in get_events), counted per group:
-- p_group_by is event_type, actor_type, actor_id, day or month (UTC), or all (one row).
-- SELECT * FROM pyevents.count_events_by('event_type', p_actor_id => 'billing');
CREATE OR REPLACE FUNCTION pyevents.count_events_by(
    p_group_by text,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_event_types text[] DEFAULT NULL,
    p_actor_id text DEFAULT NULL,
    p_correlation_id uuid DEFAULT NULL,
    p_tags text[] DEFAULT NULL
)
RETURNS TABLE (key text, events bigint)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key text := CASE p_group_by
        WHEN 'event_type' THEN 'e.event_type'
        WHEN 'actor_type' THEN 'e.actor_type'
        WHEN 'actor_id' THEN 'e.actor_id'
        WHEN 'day' THEN $k$to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD')$k$
        WHEN 'month' THEN $k$to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM')$k$
        WHEN 'all' THEN 'NULL::text'
    END;
BEGIN
    IF v_key IS NULL THEN
        PERFORM pyevents.raise_error('PE001', format(
            'group_by must be event_type, actor_type, actor_id, day, month or all, got %s', coalesce(p_group_by, 'NULL')));
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT %s, count(*) FROM pyevents.events e'
        ' WHERE ($1 IS NULL OR e.timestamp >= $1) AND ($2 IS NULL OR e.timestamp < $2)'
        '   AND ($3 IS NULL OR e.event_type = ANY ($3)) AND ($4 IS NULL OR e.actor_id = $4)'
        '   AND ($5 IS NULL OR e.correlation_id = $5)'
        '   AND ($6 IS NULL OR coalesce(e.metadata -> ''tags'', ''[]'') @> to_jsonb($6))'
        ' GROUP BY 1 ORDER BY 1',
        v_key
    )
    USING p_since, p_until, p_event_types, p_actor_id, p_correlation_id, p_tags;
END
$$;
COMMENT ON FUNCTION pyevents.count_events_by(text, timestamptz, timestamptz, text[], text, uuid, text[]) IS
    'Counts of the events matching the filters of get_events, per event_type, actor_type, actor_id, day, month (UTC) or all. For readers and auditors.';
