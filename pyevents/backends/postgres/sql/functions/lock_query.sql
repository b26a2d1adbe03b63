-- Takes the locks that make a DCB query's answer stable until the transaction ends: the gate
-- table in SHARE mode (waits for large batches) and the query's keys exclusive (wait for
-- in-flight appends of matching events, and hold new ones back), together with the given
-- keys shared (an append's own events), all in sorted order so that lockers never deadlock.
-- Keys: 'type|T' for an item with types only, 'tag|T|g' (or 'tag||g' without types) for an
-- item with tags, g its first tag; Query.all() takes 'all' exclusive.
CREATE OR REPLACE FUNCTION pyevents.lock_query(p_query jsonb, p_shared_keys bigint[] DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    sep constant text := chr(31);
BEGIN
    LOCK TABLE pyevents.dcb_gate IN SHARE MODE;
    PERFORM CASE WHEN k.exclusive THEN pg_advisory_xact_lock(k.key) ELSE pg_advisory_xact_lock_shared(k.key) END
    FROM (
        SELECT key, bool_or(exclusive) AS exclusive
        FROM (
            SELECT unnest(p_shared_keys) AS key, false AS exclusive
            UNION ALL
            SELECT pyevents.lock_key('all'), true WHERE p_query = '{"all": true}'::jsonb
            UNION ALL
            SELECT pyevents.lock_key(CASE
                       WHEN ci.first_tag IS NULL THEN 'type' || sep || i.etype
                       ELSE 'tag' || sep || coalesce(i.etype, '') || sep || ci.first_tag
                   END), true
            FROM (
                SELECT (SELECT min(t) FROM jsonb_array_elements_text(item -> 'tags') AS t) AS first_tag,
                       item -> 'types' AS types
                FROM jsonb_array_elements(CASE WHEN p_query ? 'items' THEN p_query -> 'items' ELSE '[]' END) AS item
            ) AS ci
            CROSS JOIN LATERAL (
                SELECT jsonb_array_elements_text(ci.types) AS etype
                WHERE jsonb_array_length(coalesce(ci.types, '[]')) > 0
                UNION ALL
                SELECT NULL WHERE jsonb_array_length(coalesce(ci.types, '[]')) = 0
            ) AS i
        ) AS keys
        GROUP BY key
    ) AS k
    ORDER BY k.key;
END
$$;
COMMENT ON FUNCTION pyevents.lock_query(jsonb, bigint[]) IS
    'Internal: takes the advisory locks that keep a DCB query''s answer stable until the transaction ends, in sorted order.';
