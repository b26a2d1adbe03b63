-- Every position the seals up to p_seal cover (NULL: all seals), each with the leaf hash it was
-- sealed with and what the log holds there now: the event's id and its checksum recomputed from
-- its fields (NULL where no event is). removed: the sealed event is gone because a retention run
-- removed it (a pyevents.retention.applied event lists the position). Positions where a seal
-- recorded no event appear only if an event is there now (sealed_leaf NULL).
-- What verify_seals() checks, and what `pyevents prove` and `pyevents verify --against`
-- rebuild the tree from outside the database.
-- SELECT * FROM pyevents.sealed_leaves() WHERE sealed_leaf IS DISTINCT FROM sha256('\x00' || checksum);
CREATE OR REPLACE FUNCTION pyevents.sealed_leaves(p_seal bigint DEFAULT NULL)
RETURNS TABLE (seal bigint, "position" bigint, event_id uuid, checksum bytea, sealed_leaf bytea, removed boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_seal record;
    v_leaves bytea;  -- a variable holds the value detoasted: each leaf is then a slice in memory
    v_removed_from bigint[];
    v_removed_to bigint[];
    v_run_from bigint[];
    v_run_to bigint[];
    v_next bigint;
BEGIN
    SELECT coalesce(array_agg((r.value ->> 0)::bigint), '{}'), coalesce(array_agg((r.value ->> 1)::bigint), '{}')
    INTO v_removed_from, v_removed_to
    FROM pyevents.events AS e
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(e.payload -> 'removed_ranges') = 'array' THEN e.payload -> 'removed_ranges' ELSE '[]' END
    ) AS r(value)
    WHERE e.event_type = 'pyevents.retention.applied';

    FOR v_seal IN
        SELECT s.seal, s.first_position, s.last_position, s.gaps
        FROM pyevents.seals AS s
        WHERE p_seal IS NULL OR s.seal <= p_seal
        ORDER BY s.seal
    LOOP
        v_leaves := (SELECT s.leaves FROM pyevents.seals AS s WHERE s.seal = v_seal.seal);
        -- The runs of sealed positions between the gaps: each position and leaf in one pass.
        v_run_from := '{}';
        v_run_to := '{}';
        v_next := v_seal.first_position;
        FOR v_index IN 1 .. coalesce(array_length(v_seal.gaps, 1), 0) LOOP
            IF v_seal.gaps[v_index][1] > v_next THEN
                v_run_from := v_run_from || v_next;
                v_run_to := v_run_to || (v_seal.gaps[v_index][1] - 1);
            END IF;
            v_next := v_seal.gaps[v_index][2] + 1;
        END LOOP;
        IF v_next <= v_seal.last_position THEN
            v_run_from := v_run_from || v_next;
            v_run_to := v_run_to || v_seal.last_position;
        END IF;
        RETURN QUERY
        WITH sealed AS (
            SELECT p.position, row_number() OVER (ORDER BY p.position) - 1 AS leaf
            FROM unnest(v_run_from, v_run_to) AS r(first, last)
            CROSS JOIN LATERAL generate_series(r.first, r.last) AS p(position)
        ), present AS (
            SELECT e.position, e.event_id,
                   pyevents.event_checksum(e.position, e.event_id, e.timestamp, e.event_type, e.actor_type,
                                           e.actor_id, e.correlation_id, e.causation_id, e.schema_version,
                                           e.payload, e.metadata, e.appended_by) AS checksum
            FROM pyevents.events AS e
            WHERE e.position BETWEEN v_seal.first_position AND v_seal.last_position
        ), removed AS (
            SELECT DISTINCT generate_series(greatest(r.first, v_seal.first_position),
                                            least(r.last, v_seal.last_position)) AS position
            FROM unnest(v_removed_from, v_removed_to) AS r(first, last)
            WHERE r.last >= v_seal.first_position AND r.first <= v_seal.last_position
        )
        SELECT v_seal.seal, coalesce(s.position, p.position), p.event_id, p.checksum,
               CASE WHEN s.position IS NOT NULL THEN substring(v_leaves FROM s.leaf::integer * 32 + 1 FOR 32) END,
               s.position IS NOT NULL AND p.position IS NULL AND d.position IS NOT NULL
        FROM sealed AS s
        FULL JOIN present AS p ON p.position = s.position
        LEFT JOIN removed AS d ON d.position = s.position
        ORDER BY coalesce(s.position, p.position);
    END LOOP;
END
$$;
COMMENT ON FUNCTION pyevents.sealed_leaves(bigint) IS
    'Every sealed position with its sealed leaf hash and the checksum of what the log holds there now (removed: by retention). For pyevents_auditor: what verify_seals() checks and proofs are built from.';
