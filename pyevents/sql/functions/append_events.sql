-- Appends a batch of events atomically, in one call: all stored or none.
--  * idempotent: an event_id already stored with the same content returns its position;
--    the same id with other content raises PE002;
--  * conditional (DCB): with p_condition, raises PE003 when an event matching it exists after
--    p_after. Only advisory locks on what the condition and the new events touch are taken
--    (sorted, shared for events, exclusive for conditions), so disjoint appends never wait;
--  * positions are drawn after the transaction has its xid, which followers rely on;
--  * live followers are woken on channel pyevents_events (payload: the last position).
-- Arrays are parallel: element i of each describes event i. Returns positions in input order.
CREATE OR REPLACE FUNCTION pyevents.append_events(
    p_event_ids uuid[],
    p_timestamps timestamptz[],
    p_event_types text[],
    p_actor_types text[],
    p_actor_ids text[],
    p_correlation_ids uuid[],
    p_causation_ids uuid[],
    p_schema_versions text[],
    p_payloads jsonb[],
    p_metadata jsonb[],
    p_condition jsonb DEFAULT NULL,
    p_after bigint DEFAULT NULL
)
RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Plan each statement once per session: custom plans over the partitions cost more than the work.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_count integer := coalesce(cardinality(p_event_ids), 0);
    v_error text;
    v_min timestamptz;
    v_max timestamptz;
    v_covered_until timestamptz;
    v_existing integer;
    v_conflict uuid;
    v_match bigint;
    v_positions bigint[];
    v_xid xid8;
    sep constant text := chr(31);
BEGIN
    -- 1. Validate everything before touching anything.
    IF v_count = 0 THEN
        PERFORM pyevents.raise_error('PE001', 'a batch needs at least one event');
    END IF;
    IF v_count > 10000 THEN
        PERFORM pyevents.raise_error('PE001', format('a batch holds at most 10000 events, got %s', v_count));
    END IF;
    IF coalesce(cardinality(p_timestamps), 0) <> v_count OR coalesce(cardinality(p_event_types), 0) <> v_count
       OR coalesce(cardinality(p_actor_types), 0) <> v_count OR coalesce(cardinality(p_actor_ids), 0) <> v_count
       OR coalesce(cardinality(p_correlation_ids), 0) <> v_count OR coalesce(cardinality(p_causation_ids), 0) <> v_count
       OR coalesce(cardinality(p_schema_versions), 0) <> v_count OR coalesce(cardinality(p_payloads), 0) <> v_count
       OR coalesce(cardinality(p_metadata), 0) <> v_count THEN
        PERFORM pyevents.raise_error('PE001', format('every array argument must have %s elements, one per event', v_count));
    END IF;
    SELECT format('event %s (index %s): %s', coalesce(e.id::text, 'without id'), e.ord - 1, e.problem)
    INTO v_error
    FROM (
        SELECT b.ord, b.id, CASE
            WHEN b.id IS NULL THEN 'event_id is required'
            WHEN b.ts IS NULL THEN 'timestamp is required'
            WHEN b.ts > now() + interval '1 day' THEN format('timestamp %s is more than a day in the future', b.ts)
            WHEN coalesce(b.etype, '') = '' OR length(b.etype) > 255 THEN 'event_type must be 1 to 255 characters'
            WHEN coalesce(b.atype, '') = '' OR length(b.atype) > 255 THEN 'actor_type must be 1 to 255 characters'
            WHEN coalesce(b.aid, '') = '' OR length(b.aid) > 255 THEN 'actor_id must be 1 to 255 characters'
            WHEN b.corr IS NULL THEN 'correlation_id is required'
            WHEN coalesce(b.sv, '') = '' OR length(b.sv) > 32 THEN 'schema_version must be 1 to 32 characters'
            WHEN b.payload IS NULL OR jsonb_typeof(b.payload) <> 'object' THEN 'payload must be a JSON object'
            WHEN b.meta IS NULL OR jsonb_typeof(b.meta) <> 'object' THEN 'metadata must be a JSON object'
            WHEN b.meta ? 'tags' AND (jsonb_typeof(b.meta -> 'tags') <> 'array' OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(b.meta -> 'tags') AS t
                WHERE jsonb_typeof(t) <> 'string' OR t #>> '{}' = '' OR length(t #>> '{}') > 255
            )) THEN 'metadata.tags must be a list of non-empty strings'
        END AS problem
        FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                    p_correlation_ids, p_schema_versions, p_payloads, p_metadata)
             WITH ORDINALITY AS b(id, ts, etype, atype, aid, corr, sv, payload, meta, ord)
    ) AS e
    WHERE e.problem IS NOT NULL
    ORDER BY e.ord
    LIMIT 1;
    IF v_error IS NOT NULL THEN
        PERFORM pyevents.raise_error('PE001', v_error);
    END IF;
    IF (SELECT count(DISTINCT id) FROM unnest(p_event_ids) AS id) <> v_count THEN
        PERFORM pyevents.raise_error('PE001', 'an event_id appears twice in the batch');
    END IF;
    PERFORM pyevents.check_query(p_condition);

    -- 2. The xid first: every position this transaction draws comes after it.
    v_xid := pg_current_xact_id();

    -- 3. Locks, in sorted key order so appends never deadlock each other.
    PERFORM CASE WHEN k.exclusive THEN pg_advisory_xact_lock(k.key) ELSE pg_advisory_xact_lock_shared(k.key) END
    FROM (
        SELECT key, bool_or(exclusive) AS exclusive
        FROM (
            -- every append holds the global key shared; Query.all() conditions hold it exclusive
            SELECT pyevents.lock_key('all') AS key,
                   p_condition IS NOT NULL AND p_condition = '{"all": true}'::jsonb AS exclusive
            UNION ALL
            SELECT ek.key, false FROM (
                SELECT DISTINCT pyevents.lock_key(n) AS key
                FROM unnest(p_event_types, p_metadata) AS b(etype, meta)
                CROSS JOIN LATERAL (
                    SELECT 'type' || sep || b.etype
                    UNION ALL
                    SELECT x FROM jsonb_array_elements_text(coalesce(b.meta -> 'tags', '[]')) AS t(tag),
                        LATERAL (VALUES ('tag' || sep || b.etype || sep || t.tag), ('tag' || sep || sep || t.tag)) AS v(x)
                ) AS names(n)
            ) AS ek
            UNION ALL
            SELECT pyevents.lock_key(CASE
                       WHEN ci.first_tag IS NULL THEN 'type' || sep || i.etype
                       ELSE 'tag' || sep || coalesce(i.etype, '') || sep || ci.first_tag
                   END), true
            FROM (
                SELECT (SELECT min(t) FROM jsonb_array_elements_text(coalesce(item -> 'tags', '[]')) AS t) AS first_tag,
                       item -> 'types' AS types
                FROM jsonb_array_elements(CASE WHEN p_condition ? 'items' THEN p_condition -> 'items' ELSE '[]' END) AS item
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

    -- 4. Retries: events already stored are compared, not stored again.
    SELECT count(*), (array_agg(b.id) FILTER (WHERE
               (e.timestamp, e.event_type, e.actor_type, e.actor_id, e.correlation_id, e.schema_version, e.payload, e.metadata)
               IS DISTINCT FROM (b.ts, b.etype, b.atype, b.aid, b.corr, b.sv, b.payload, b.meta)
               OR e.causation_id IS DISTINCT FROM b.caus))[1]
    INTO v_existing, v_conflict
    FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
         AS b(id, ts, etype, atype, aid, corr, caus, sv, payload, meta)
    JOIN pyevents.event_ids AS i ON i.event_id = b.id
    JOIN pyevents.events AS e ON e.position = i.position AND e.timestamp = i.timestamp;
    IF v_conflict IS NOT NULL THEN
        PERFORM pyevents.raise_error('PE002',
            format('event %s is already stored with different content', v_conflict),
            'An event_id identifies one event forever; give a new event a new id.');
    END IF;
    IF v_existing = v_count THEN
        RETURN ARRAY(
            SELECT i.position
            FROM unnest(p_event_ids) WITH ORDINALITY AS b(id, ord)
            JOIN pyevents.event_ids AS i ON i.event_id = b.id
            ORDER BY b.ord
        );
    END IF;

    -- 5. The condition, checked under the locks with a fresh snapshot.
    IF p_condition IS NOT NULL THEN
        SELECT m.position INTO v_match FROM pyevents.matching_positions(p_condition, p_after, 1) AS m;
        IF v_match IS NOT NULL THEN
            PERFORM pyevents.raise_error('PE003',
                format('append condition violated: event at position %s matches the condition (after %s)',
                       v_match, coalesce(p_after::text, 'none')));
        END IF;
    END IF;

    -- 6. Partitions for every timestamp, before any row could reach the default partition.
    SELECT min(t), max(t) INTO v_min, v_max FROM unnest(p_timestamps) AS t;
    SELECT p.range_end INTO v_covered_until
    FROM pyevents.partitions AS p
    WHERE p.range_start <= v_min
    ORDER BY p.range_start DESC
    LIMIT 1;
    IF v_covered_until IS NULL OR v_covered_until <= v_max THEN
        PERFORM pyevents.ensure_partition_for(p_timestamps);
    END IF;

    -- 7. Insert: ids (ON CONFLICT waits for a concurrent twin), then events and tags.
    WITH batch AS (
        SELECT *
        FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                    p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
             WITH ORDINALITY AS b(id, ts, etype, atype, aid, corr, caus, sv, payload, meta, ord)
        WHERE v_existing = 0 OR NOT EXISTS (SELECT 1 FROM pyevents.event_ids AS i WHERE i.event_id = b.id)
    ),
    ids AS (
        INSERT INTO pyevents.event_ids (event_id, position, timestamp)
        SELECT b.id, nextval('pyevents.events_position_seq'), b.ts FROM batch AS b ORDER BY b.ord
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id, position
    ),
    inserted AS (
        INSERT INTO pyevents.events (position, event_id, timestamp, event_type, actor_type, actor_id,
                                     correlation_id, causation_id, schema_version, payload, metadata,
                                     transaction_id)
        SELECT ids.position, b.id, b.ts, b.etype, b.atype, b.aid, b.corr, b.caus, b.sv, b.payload, b.meta, v_xid
        FROM batch AS b JOIN ids ON ids.event_id = b.id
        ORDER BY ids.position
        RETURNING position, timestamp, event_type, metadata
    ),
    tags AS (
        INSERT INTO pyevents.event_tags (tag, position, event_type, timestamp)
        SELECT DISTINCT t.tag, i.position, i.event_type, i.timestamp
        FROM inserted AS i, jsonb_array_elements_text(coalesce(i.metadata -> 'tags', '[]')) AS t(tag)
    )
    SELECT array_agg(ids.position ORDER BY b.ord) INTO v_positions
    FROM batch AS b JOIN ids ON ids.event_id = b.id;

    -- 8. Wake live followers. NOTIFY serialises committing transactions, so only the one
    -- append that holds the notify key does it; followers re-read everything below their
    -- settled frontier anyway, and poll as a fallback for appends that skipped it.
    IF v_positions IS NOT NULL AND pg_try_advisory_xact_lock(pyevents.lock_key('notify')) THEN
        PERFORM pg_notify('pyevents_events', v_positions[cardinality(v_positions)]::text);
    END IF;

    IF v_existing = 0 AND cardinality(v_positions) = v_count THEN
        RETURN v_positions;
    END IF;

    -- Some events were stored before or meanwhile by a concurrent twin: compare like a retry.
    SELECT b.id INTO v_conflict
    FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
         AS b(id, ts, etype, atype, aid, corr, caus, sv, payload, meta)
    JOIN pyevents.event_ids AS i ON i.event_id = b.id
    JOIN pyevents.events AS e ON e.position = i.position AND e.timestamp = i.timestamp
    WHERE (e.timestamp, e.event_type, e.actor_type, e.actor_id, e.correlation_id, e.schema_version, e.payload, e.metadata)
          IS DISTINCT FROM (b.ts, b.etype, b.atype, b.aid, b.corr, b.sv, b.payload, b.meta)
       OR e.causation_id IS DISTINCT FROM b.caus
    LIMIT 1;
    IF v_conflict IS NOT NULL THEN
        PERFORM pyevents.raise_error('PE002',
            format('event %s is already stored with different content', v_conflict),
            'An event_id identifies one event forever; give a new event a new id.');
    END IF;
    RETURN ARRAY(
        SELECT i.position
        FROM unnest(p_event_ids) WITH ORDINALITY AS b(id, ord)
        JOIN pyevents.event_ids AS i ON i.event_id = b.id
        ORDER BY b.ord
    );
END
$$;
