-- Appends a batch of events atomically, in one call: all stored or none.
--  * idempotent: an event_id already stored with the same content returns its position;
--    the same id with other content raises PE002;
--  * conditional (DCB): with p_condition, raises PE003 when an event matching it exists after
--    p_after. Only advisory locks on what the condition and the new events touch are taken
--    (sorted, shared for events, exclusive for conditions), so disjoint appends never wait;
--  * positions are drawn after the transaction has its xid, which followers rely on;
--  * live followers are woken on channel pyevents_events (payload: the last position);
--  * each event records the login that appended it (appended_by = session_user); a retry
--    by another login keeps the first one's;
--  * each event's checksum (event_checksum) is computed in the same INSERT, in its row.
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
    v_max timestamptz;
    v_covered_until timestamptz;
    v_existing integer;
    v_conflict uuid;
    v_match bigint;
    v_positions bigint[];
    v_xid xid8;
    v_small constant boolean := v_count <= 16;  -- lock key by key (else: the gate table)
    v_event_keys bigint[] := '{}';
    v_tags jsonb;
    v_all_ids uuid[];
    v_inserted bigint;
    sep constant text := chr(31);
    v_latest constant timestamptz := now() + interval '@MAX_FUTURE_SKEW@';
    v_earliest timestamptz;
BEGIN
    -- 1. Validate everything before touching anything.
    IF v_count = 0 THEN
        PERFORM pyevents.raise_error('PE001', 'a batch needs at least one event');
    END IF;
    IF v_count > @MAX_BATCH_SIZE@ THEN
        PERFORM pyevents.raise_error('PE001', format('a batch holds at most @MAX_BATCH_SIZE@ events, got %s', v_count));
    END IF;
    IF coalesce(cardinality(p_timestamps), 0) <> v_count OR coalesce(cardinality(p_event_types), 0) <> v_count
       OR coalesce(cardinality(p_actor_types), 0) <> v_count OR coalesce(cardinality(p_actor_ids), 0) <> v_count
       OR coalesce(cardinality(p_correlation_ids), 0) <> v_count OR coalesce(cardinality(p_causation_ids), 0) <> v_count
       OR coalesce(cardinality(p_schema_versions), 0) <> v_count OR coalesce(cardinality(p_payloads), 0) <> v_count
       OR coalesce(cardinality(p_metadata), 0) <> v_count THEN
        PERFORM pyevents.raise_error('PE001', format('every array argument must have %s elements, one per event', v_count));
    END IF;
    -- The accepted range bounds how many partitions one append can make.
    SELECT l.earliest INTO v_earliest FROM pyevents.timestamp_limits AS l;
    -- A loop of simple expressions: far cheaper than queries for the usual single event. For
    -- small batches it also gathers the lock keys of the new events (see step 3).
    FOR i IN 1 .. v_count LOOP
        v_error := CASE
            WHEN p_event_ids[i] IS NULL THEN 'event_id is required'
            WHEN p_timestamps[i] IS NULL THEN 'timestamp is required'
            WHEN p_timestamps[i] > v_latest THEN format('timestamp %s is more than @MAX_FUTURE_SKEW@ in the future', p_timestamps[i])
            WHEN p_timestamps[i] < v_earliest THEN format(
                'timestamp %s is before %s, the earliest accepted (pyevents.timestamp_limits)', p_timestamps[i], v_earliest)
            WHEN coalesce(p_event_types[i], '') = '' OR length(p_event_types[i]) > @MAX_NAME_LENGTH@ THEN 'event_type must be 1 to @MAX_NAME_LENGTH@ characters'
            WHEN coalesce(p_actor_types[i], '') = '' OR length(p_actor_types[i]) > @MAX_NAME_LENGTH@ THEN 'actor_type must be 1 to @MAX_NAME_LENGTH@ characters'
            WHEN coalesce(p_actor_ids[i], '') = '' OR length(p_actor_ids[i]) > @MAX_NAME_LENGTH@ THEN 'actor_id must be 1 to @MAX_NAME_LENGTH@ characters'
            WHEN p_correlation_ids[i] IS NULL THEN 'correlation_id is required'
            WHEN coalesce(p_schema_versions[i], '') = '' OR length(p_schema_versions[i]) > @MAX_SCHEMA_VERSION_LENGTH@ THEN 'schema_version must be 1 to @MAX_SCHEMA_VERSION_LENGTH@ characters'
            WHEN jsonb_typeof(p_payloads[i]) IS DISTINCT FROM 'object' THEN 'payload must be a JSON object'
            WHEN jsonb_typeof(p_metadata[i]) IS DISTINCT FROM 'object' THEN 'metadata must be a JSON object'
            WHEN jsonb_typeof(p_metadata[i] -> 'tags') <> 'array' THEN 'metadata.tags must be a list of non-empty strings'
        END;
        v_tags := p_metadata[i] -> 'tags';
        IF v_error IS NULL AND v_tags IS NOT NULL THEN
            IF v_small THEN
                FOR j IN 0 .. jsonb_array_length(v_tags) - 1 LOOP
                    IF jsonb_typeof(v_tags -> j) <> 'string' OR v_tags ->> j = '' THEN
                        v_error := 'metadata.tags must be a list of non-empty strings';
                        EXIT;
                    END IF;
                    v_event_keys := v_event_keys
                        || pyevents.lock_key('tag' || sep || p_event_types[i] || sep || (v_tags ->> j))
                        || pyevents.lock_key('tag' || sep || sep || (v_tags ->> j));
                END LOOP;
            ELSIF jsonb_path_exists(v_tags, 'strict $[*] ? (@.type() != "string" || @ == "")') THEN
                v_error := 'metadata.tags must be a list of non-empty strings';
            END IF;
        END IF;
        IF v_error IS NOT NULL THEN
            PERFORM pyevents.raise_error('PE001',
                format('event %s (index %s): %s', coalesce(p_event_ids[i]::text, 'without id'), i - 1, v_error));
        END IF;
        IF v_small THEN
            v_event_keys := v_event_keys || pyevents.lock_key('type' || sep || p_event_types[i]);
        END IF;
    END LOOP;
    IF v_count > 1 AND (SELECT count(DISTINCT id) FROM unnest(p_event_ids) AS id) <> v_count THEN
        PERFORM pyevents.raise_error('PE001', 'an event_id appears twice in the batch');
    END IF;
    IF p_condition IS NOT NULL THEN
        PERFORM pyevents.check_query(p_condition);
    END IF;

    -- 2. The xid first: every position this transaction draws comes after it.
    v_xid := pg_current_xact_id();

    -- 3. Locks (DCB). New events take their keys shared ('type|T', 'tag|T|g', 'tag||g', and
    --    'all'); a condition takes its query's keys exclusive (lock_query), so no matching
    --    event can slip past a running check. Batches too big to lock key by key take the gate
    --    table in ROW EXCLUSIVE mode instead, which such batches share and which conditions
    --    and DCB reads (SHARE) wait for. Gate first, then keys in sorted order: no deadlocks.
    IF NOT v_small OR cardinality(v_event_keys) > 64 THEN
        LOCK TABLE pyevents.dcb_gate IN ROW EXCLUSIVE MODE;
        v_event_keys := '{}';
    END IF;
    v_event_keys := v_event_keys || pyevents.lock_key('all');
    IF p_condition IS NULL THEN
        PERFORM pg_advisory_xact_lock_shared(k) FROM unnest(ARRAY(SELECT DISTINCT unnest(v_event_keys) ORDER BY 1)) AS k;
    ELSE
        PERFORM pyevents.lock_query(p_condition, v_event_keys);
    END IF;

    -- 4. Retries: events already stored are compared, not stored again.
    SELECT (SELECT count(*) FROM pyevents.event_ids AS i WHERE i.event_id = ANY (p_event_ids)),
           (SELECT p.range_end FROM pyevents.partitions AS p
            WHERE p.range_start <= (SELECT min(t) FROM unnest(p_timestamps) AS t)
            ORDER BY p.range_start DESC
            LIMIT 1),
           (SELECT max(t) FROM unnest(p_timestamps) AS t)
    INTO v_existing, v_covered_until, v_max;
    IF v_existing > 0 THEN
        SELECT b.id INTO v_conflict
        FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                    p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
             AS b(id, ts, etype, atype, aid, corr, caus, sv, payload, meta)
        JOIN pyevents.event_ids AS i ON i.event_id = b.id
        JOIN pyevents.events AS e ON e.position = i.position AND e.timestamp = i.timestamp
        WHERE (e.timestamp, e.event_type, e.actor_type, e.actor_id, e.correlation_id, e.schema_version,
               e.payload, e.metadata)
              IS DISTINCT FROM (b.ts, b.etype, b.atype, b.aid, b.corr, b.sv, b.payload, b.meta)
           OR e.causation_id IS DISTINCT FROM b.caus
        LIMIT 1;
    END IF;
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
        v_match := pyevents.first_match(p_condition, p_after);
        IF v_match IS NOT NULL THEN
            PERFORM pyevents.raise_error('PE003',
                format('append condition violated: event at position %s matches the condition (after %s)',
                       v_match, coalesce(p_after::text, 'none')));
        END IF;
    END IF;

    -- 6. Partitions for every timestamp (coverage was looked up in step 4), before any row could
    --    reach the default partition.
    IF v_covered_until IS NULL OR v_covered_until <= v_max THEN
        PERFORM pyevents.ensure_partition_for(p_timestamps);
    END IF;

    -- 7. Insert the events not stored yet: positions drawn in input order, then the id index
    --    (where a concurrent twin shows up as a conflict), the events, and their tags.
    v_all_ids := p_event_ids;
    IF v_existing > 0 THEN
        SELECT array_agg(b.id ORDER BY b.ord), array_agg(b.ts ORDER BY b.ord), array_agg(b.etype ORDER BY b.ord),
               array_agg(b.atype ORDER BY b.ord), array_agg(b.aid ORDER BY b.ord), array_agg(b.corr ORDER BY b.ord),
               array_agg(b.caus ORDER BY b.ord), array_agg(b.sv ORDER BY b.ord), array_agg(b.payload ORDER BY b.ord),
               array_agg(b.meta ORDER BY b.ord)
        INTO p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids, p_correlation_ids,
             p_causation_ids, p_schema_versions, p_payloads, p_metadata
        FROM unnest(p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                    p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
             WITH ORDINALITY AS b(id, ts, etype, atype, aid, corr, caus, sv, payload, meta, ord)
        WHERE NOT EXISTS (SELECT 1 FROM pyevents.event_ids AS i WHERE i.event_id = b.id);
    END IF;
    v_positions := ARRAY(
        SELECT nextval('pyevents.events_position_seq') FROM generate_series(1, cardinality(p_event_ids))
    );
    -- One statement for the three tables: each statement a PL/pgSQL call runs costs an executor
    -- start-up, which for a single event outweighs the rows it writes. appended_by: the login,
    -- never a parameter (session_user, since current_user is the owner inside this SECURITY
    -- DEFINER function); the checksum covers it, in the same pass.
    WITH ids AS (
        INSERT INTO pyevents.event_ids (event_id, position, timestamp)
        SELECT * FROM unnest(p_event_ids, v_positions, p_timestamps)
        ON CONFLICT (event_id) DO NOTHING
        RETURNING 1
    ), stored AS (
        INSERT INTO pyevents.events (position, event_id, timestamp, event_type, actor_type, actor_id,
                                     correlation_id, causation_id, schema_version, payload, metadata, transaction_id,
                                     appended_by, checksum)
        SELECT b.*, v_xid, session_user,
               pyevents.event_checksum(b.pos, b.id, b.ts, b.etype, b.atype, b.aid, b.corr, b.caus, b.sv, b.payload,
                                       b.meta, session_user)
        FROM unnest(v_positions, p_event_ids, p_timestamps, p_event_types, p_actor_types, p_actor_ids,
                    p_correlation_ids, p_causation_ids, p_schema_versions, p_payloads, p_metadata)
             AS b(pos, id, ts, etype, atype, aid, corr, caus, sv, payload, meta)
    ), tagged AS (
        INSERT INTO pyevents.event_tags (tag, position, event_type, timestamp)
        SELECT DISTINCT t.tag, b.pos, b.etype, b.ts
        FROM unnest(v_positions, p_event_types, p_timestamps, p_metadata) AS b(pos, etype, ts, meta),
             jsonb_array_elements_text(b.meta -> 'tags') AS t(tag)
    )
    SELECT count(*) INTO v_inserted FROM ids;
    -- A concurrent twin stored an id first: raising undoes this statement's rows too.
    IF v_inserted < cardinality(p_event_ids) THEN
        PERFORM pyevents.raise_error('40001',
            'a concurrent append stored one of these event ids first; retry the append',
            'Retrying is safe: events already stored with the same content are not stored again.');
    END IF;

    -- 8. Wake live followers. NOTIFY serialises committing transactions, so only the one
    -- append that holds the notify key does it; followers re-read everything below their
    -- settled frontier anyway, and poll as a fallback for appends that skipped it.
    IF cardinality(v_positions) > 0 AND pg_try_advisory_xact_lock(pyevents.lock_key('notify')) THEN
        PERFORM pg_notify('pyevents_events', v_positions[cardinality(v_positions)]::text);
    END IF;

    IF v_existing = 0 THEN
        RETURN v_positions;
    END IF;
    RETURN ARRAY(
        SELECT i.position
        FROM unnest(v_all_ids) WITH ORDINALITY AS b(id, ord)
        JOIN pyevents.event_ids AS i ON i.event_id = b.id
        ORDER BY b.ord
    );
END
$$;
COMMENT ON FUNCTION pyevents.append_events(uuid[], timestamptz[], text[], text[], text[], uuid[], uuid[], text[], jsonb[], jsonb[], jsonb, bigint) IS
    'Appends a batch of events atomically (parallel arrays), idempotent by event_id, optionally conditional (DCB, raises PE003); returns their positions. For pyevents_writer.';
