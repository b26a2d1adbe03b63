-- One page of events matching every given filter (NULL = no filter), ordered by position,
-- timestamp or event_id (ties broken by position). Keyset pagination: pass the last row's
-- position and order value as p_cursor_position / p_cursor_value. A page holds p_limit rows,
-- 100 unless given (at most 100000): to count or group matches, use count_events(_by).
-- SELECT * FROM pyevents.get_events(p_event_types => ARRAY['OrderPlaced'], p_limit => 10);
CREATE OR REPLACE FUNCTION pyevents.get_events(
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_event_types text[] DEFAULT NULL,
    p_actor_id text DEFAULT NULL,
    p_correlation_id uuid DEFAULT NULL,
    p_tags text[] DEFAULT NULL,
    p_after_position bigint DEFAULT NULL,
    p_limit integer DEFAULT 100,
    p_offset integer DEFAULT 0,
    p_order_by text DEFAULT 'position',
    p_order_direction text DEFAULT 'asc',
    p_cursor_position bigint DEFAULT NULL,
    p_cursor_value text DEFAULT NULL
)
RETURNS SETOF pyevents.events
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_from text := 'pyevents.events e';
    v_where text[] := ARRAY['true'];
    v_key text;
    v_cmp text;
    v_dir text;
    v_tags text[] := ARRAY(SELECT DISTINCT t FROM unnest(p_tags) AS t ORDER BY 1);
    v_lower bigint;
    v_upper bigint;
    v_max_position constant bigint := 9223372036854775807;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        PERFORM pyevents.raise_error('PE001', format('limit must be from 1 to 100000, got %s', p_limit));
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        PERFORM pyevents.raise_error('PE001', format('offset must not be negative, got %s', p_offset));
    END IF;
    IF p_order_by NOT IN ('position', 'timestamp', 'event_id') THEN
        PERFORM pyevents.raise_error('PE001', format('order_by must be position, timestamp or event_id, got %s', p_order_by));
    END IF;
    IF lower(p_order_direction) NOT IN ('asc', 'desc') THEN
        PERFORM pyevents.raise_error('PE001', format('order_direction must be asc or desc, got %s', p_order_direction));
    END IF;
    -- Fast paths for the most common pages (position order; one type, one actor, one
    -- correlation or nothing; no time range, tags or offset): static queries planned once per
    -- session, since planning over every partition's indexes costs more than reading a page.
    -- Ordering by (column, position) binds each to its (column, position) index whatever the
    -- value. The general case below builds its SQL and is planned on every call.
    IF p_order_by = 'position' AND p_offset = 0 AND p_since IS NULL AND p_until IS NULL
       AND coalesce(cardinality(v_tags), 0) = 0 AND coalesce(cardinality(p_event_types), 0) <= 1
       AND (coalesce(cardinality(p_event_types), 0) = 1)::integer + (p_actor_id IS NOT NULL)::integer
           + (p_correlation_id IS NOT NULL)::integer <= 1 THEN
        v_lower := greatest(coalesce(p_after_position, 0),
                            CASE WHEN lower(p_order_direction) = 'asc' THEN coalesce(p_cursor_position, 0) ELSE 0 END);
        v_upper := CASE WHEN lower(p_order_direction) = 'desc' THEN coalesce(p_cursor_position, v_max_position)
                        ELSE v_max_position END;
        IF lower(p_order_direction) = 'asc' THEN
            IF coalesce(cardinality(p_event_types), 0) > 0 THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.event_type = p_event_types[1] AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.event_type, e.position LIMIT p_limit;
            ELSIF p_actor_id IS NOT NULL THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.actor_id = p_actor_id AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.actor_id, e.position LIMIT p_limit;
            ELSIF p_correlation_id IS NOT NULL THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.correlation_id = p_correlation_id AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.correlation_id, e.position LIMIT p_limit;
            ELSE
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.position > v_lower AND e.position < v_upper
                    ORDER BY e.position LIMIT p_limit;
            END IF;
        ELSE
            IF coalesce(cardinality(p_event_types), 0) > 0 THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.event_type = p_event_types[1] AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.event_type DESC, e.position DESC LIMIT p_limit;
            ELSIF p_actor_id IS NOT NULL THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.actor_id = p_actor_id AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.actor_id DESC, e.position DESC LIMIT p_limit;
            ELSIF p_correlation_id IS NOT NULL THEN
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.correlation_id = p_correlation_id AND e.position > v_lower AND e.position < v_upper
                    ORDER BY e.correlation_id DESC, e.position DESC LIMIT p_limit;
            ELSE
                RETURN QUERY SELECT e.* FROM pyevents.events AS e
                    WHERE e.position > v_lower AND e.position < v_upper
                    ORDER BY e.position DESC LIMIT p_limit;
            END IF;
        END IF;
        RETURN;
    END IF;

    v_dir := upper(p_order_direction);
    v_cmp := CASE v_dir WHEN 'ASC' THEN '>' ELSE '<' END;
    v_key := CASE p_order_by
        WHEN 'timestamp' THEN 'e.timestamp'
        WHEN 'event_id' THEN 'e.event_id'
        ELSE 'e.position'
    END;

    IF cardinality(v_tags) > 0 THEN
        -- Drive the page from the tag table: (tag, position) gives position order directly, and
        -- each event is fetched by its key (the OFFSET 0 fence keeps the planner from hashing
        -- every event of a common tag just to return one page).
        v_from := 'pyevents.event_tags t1 CROSS JOIN LATERAL (SELECT * FROM pyevents.events e0'
                  ' WHERE e0.position = t1.position AND e0.timestamp = t1.timestamp OFFSET 0) e';
        -- Tags as literals: behind a parameter subscript the planner cannot use their statistics.
        v_where := v_where || format('t1.tag = %L', v_tags[1]);
        FOR i IN 2 .. cardinality(v_tags) LOOP
            v_where := v_where || format(
                'EXISTS (SELECT 1 FROM pyevents.event_tags tx WHERE tx.tag = %L AND tx.position = e.position)',
                v_tags[i]);
        END LOOP;
        IF p_order_by = 'position' THEN
            v_key := 't1.position';
        END IF;
    END IF;
    IF p_since IS NOT NULL THEN v_where := v_where || 'e.timestamp >= $1'::text; END IF;
    IF p_until IS NOT NULL THEN v_where := v_where || 'e.timestamp < $2'::text; END IF;
    IF cardinality(p_event_types) > 0 THEN v_where := v_where || 'e.event_type = ANY ($3)'::text; END IF;
    IF p_actor_id IS NOT NULL THEN v_where := v_where || 'e.actor_id = $4'::text; END IF;
    IF p_correlation_id IS NOT NULL THEN v_where := v_where || 'e.correlation_id = $5'::text; END IF;
    IF p_after_position IS NOT NULL THEN
        v_where := v_where || format('%s > $7', CASE WHEN v_key = 't1.position' THEN v_key ELSE 'e.position' END);
    END IF;
    IF p_cursor_position IS NOT NULL THEN
        IF p_order_by = 'position' THEN
            v_where := v_where || format('%s %s $8', v_key, v_cmp);
        ELSE
            IF p_cursor_value IS NULL THEN
                PERFORM pyevents.raise_error('PE001', 'a cursor for this order needs p_cursor_value');
            END IF;
            v_where := v_where || format('(%s, e.position) %s ($9::%s, $8)', v_key, v_cmp,
                                         CASE p_order_by WHEN 'timestamp' THEN 'timestamptz' ELSE 'uuid' END);
        END IF;
    END IF;

    RETURN QUERY EXECUTE format(
        'SELECT e.* FROM %s WHERE %s ORDER BY %s %s%s LIMIT $10 OFFSET $11',
        v_from, array_to_string(v_where, ' AND '), v_key, v_dir,
        CASE WHEN p_order_by = 'position' THEN '' ELSE format(', e.position %s', v_dir) END
    )
    USING p_since, p_until, p_event_types, p_actor_id, p_correlation_id, v_tags,
          p_after_position, p_cursor_position, p_cursor_value, p_limit, p_offset;
END
$$;
COMMENT ON FUNCTION pyevents.get_events(timestamptz, timestamptz, text[], text, uuid, text[], bigint, integer, integer, text, text, bigint, text) IS
    'One page of the events matching every given filter (NULL: none), keyset-paginated, at most 100000 rows. For pyevents_reader.';
