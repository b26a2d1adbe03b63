-- The first position after p_after of an event matching a DCB query, or NULL: the check of a
-- conditional append. One static, once-planned query per item (unlike matching_positions,
-- which builds SQL for reads), each stopping at its first match: tags from event_tags
-- (tag, position), types alone from the (event_type, position) index.
CREATE OR REPLACE FUNCTION pyevents.first_match(p_query jsonb, p_after bigint)
RETURNS bigint
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_after bigint := coalesce(p_after, 0);
    v_items jsonb := p_query -> 'items';
    v_types text[];
    v_tags text[];
    v_found bigint;
    v_first bigint;
BEGIN
    IF p_query = '{"all": true}'::jsonb THEN
        SELECT e.position INTO v_first FROM pyevents.events AS e WHERE e.position > v_after ORDER BY e.position LIMIT 1;
        RETURN v_first;
    END IF;
    FOR i IN 0 .. jsonb_array_length(v_items) - 1 LOOP
        v_types := ARRAY(SELECT jsonb_array_elements_text(v_items -> i -> 'types'));
        v_tags := ARRAY(SELECT jsonb_array_elements_text(v_items -> i -> 'tags'));
        IF cardinality(v_tags) > 0 THEN
            SELECT t.position INTO v_found
            FROM pyevents.event_tags AS t
            WHERE t.tag = v_tags[1]
              AND t.position > v_after
              AND (cardinality(v_types) = 0 OR t.event_type = ANY (v_types))
              AND NOT EXISTS (
                  SELECT 1 FROM unnest(v_tags[2:]) AS other(tag)
                  WHERE NOT EXISTS (
                      SELECT 1 FROM pyevents.event_tags AS x WHERE x.tag = other.tag AND x.position = t.position
                  )
              )
            ORDER BY t.position
            LIMIT 1;
        ELSE
            SELECT e.position INTO v_found
            FROM pyevents.events AS e
            WHERE e.event_type = ANY (v_types) AND e.position > v_after
            ORDER BY e.position
            LIMIT 1;
        END IF;
        IF v_found IS NOT NULL AND (v_first IS NULL OR v_found < v_first) THEN
            v_first := v_found;
        END IF;
    END LOOP;
    RETURN v_first;
END
$$;
COMMENT ON FUNCTION pyevents.first_match(jsonb, bigint) IS
    'Internal: the first position after a given one of an event matching a DCB query, or NULL; the check of a conditional append.';
