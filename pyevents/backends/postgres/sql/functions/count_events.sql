-- How many events match every given filter (NULL = no filter), the same filters as get_events
-- but without its page size: "what did actor Y do last week" is counted, not paged.
-- SELECT pyevents.count_events(p_actor_id => 'billing', p_since => now() - interval '1 week');
CREATE OR REPLACE FUNCTION pyevents.count_events(
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_event_types text[] DEFAULT NULL,
    p_actor_id text DEFAULT NULL,
    p_correlation_id uuid DEFAULT NULL,
    p_tags text[] DEFAULT NULL
)
RETURNS bigint
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sum(c.events)::bigint
    FROM pyevents.count_events_by('all', p_since, p_until, p_event_types, p_actor_id, p_correlation_id, p_tags) AS c
$$;
COMMENT ON FUNCTION pyevents.count_events(timestamptz, timestamptz, text[], text, uuid, text[]) IS
    'How many events match the filters of get_events, without its page size. For readers and auditors.';
