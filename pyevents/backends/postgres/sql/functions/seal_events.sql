-- Seals the final events after the last seal, at most p_max_events of them: their leaf hashes
-- (SHA-256 of 0x00 and the checksum recorded at append) join the log's Merkle tree, and one
-- row of pyevents.seals records the new root, chained to the previous seal. Returns the seal
-- (without its leaves), or no row when nothing new is final.
-- Writers never wait for it: it takes no lock they take, and reads only what they committed.
-- A position is final when no transaction can still commit an event at or below it, by the
-- reasoning of stream_frontier: the gap-free run after the last seal is final at once; past a
-- gap, what was visible is final once the oldest running transaction has passed the horizon
-- taken with it (kept in seal_mark for a later call). So a late commit below a seal is
-- impossible, and a gap the seal records (a rolled-back draw) stays empty for good.
-- SELECT * FROM pyevents.seal_events();
CREATE OR REPLACE FUNCTION pyevents.seal_events(p_max_events integer DEFAULT 100000)
RETURNS TABLE (seal bigint, first_position bigint, last_position bigint, gaps bigint[], tree_size bigint, root bytea,
               previous_hash bytea, sealed_at timestamptz, seal_hash bytea)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_number bigint := 1;
    v_after bigint := 0;
    v_size bigint := 0;
    v_frontier bytea[] := '{}';
    v_previous_hash bytea;
    v_contiguous bigint;
    v_visible bigint;
    v_xmin xid8;
    v_horizon xid8;
    v_pending_max bigint;
    v_pending_horizon xid8;
    v_upper bigint;
    v_cap bigint;
    v_positions bigint[];
    v_leaves bytea;
    v_missing bigint;
    v_gaps bigint[];
    v_root bytea;
    v_sealed_at timestamptz := clock_timestamp();
BEGIN
    IF p_max_events IS NULL OR p_max_events < 1 THEN
        PERFORM pyevents.raise_error('PE001', format('p_max_events must be at least 1, got %s', p_max_events));
    END IF;
    PERFORM pg_advisory_xact_lock(pyevents.lock_key('pyevents.seal'));  -- one sealer at a time
    SELECT s.seal + 1, s.last_position, s.tree_size, s.frontier, s.seal_hash
    INTO v_number, v_after, v_size, v_frontier, v_previous_hash
    FROM pyevents.seals AS s
    ORDER BY s.seal DESC
    LIMIT 1;
    IF NOT FOUND THEN
        v_number := 1;
        v_after := 0;
        v_size := 0;
        v_frontier := '{}';
    END IF;

    SELECT f.contiguous_until, f.visible_max, f.snapshot_xmin, f.horizon
    INTO v_contiguous, v_visible, v_xmin, v_horizon
    FROM pyevents.stream_frontier(v_after, p_max_events) AS f;
    SELECT m.pending_max, m.pending_horizon INTO v_pending_max, v_pending_horizon FROM pyevents.seal_mark AS m;
    v_upper := v_contiguous;
    IF v_pending_max IS NOT NULL AND v_xmin > v_pending_horizon THEN
        v_upper := greatest(v_upper, v_pending_max);
    END IF;
    v_cap := (SELECT e.position FROM pyevents.events AS e WHERE e.position > v_after
              ORDER BY e.position OFFSET p_max_events - 1 LIMIT 1);
    v_upper := least(v_upper, coalesce(v_cap, v_upper));
    -- The pending step is used up once sealed past; a new one waits for a later call.
    IF v_pending_max IS NOT NULL AND v_pending_max <= v_upper THEN
        v_pending_max := NULL;
    END IF;
    IF v_pending_max IS NULL AND v_horizon IS NOT NULL AND v_visible > v_upper THEN
        UPDATE pyevents.seal_mark SET pending_max = v_visible, pending_horizon = v_horizon;
    ELSIF v_pending_max IS NULL THEN
        UPDATE pyevents.seal_mark SET pending_max = NULL, pending_horizon = NULL WHERE pending_max IS NOT NULL;
    END IF;

    SELECT array_agg(e.position ORDER BY e.position),
           string_agg(sha256('\x00'::bytea || coalesce(e.checksum, c.checksum)), ''::bytea ORDER BY e.position),
           count(*) FILTER (WHERE coalesce(e.checksum, c.checksum) IS NULL)
    INTO v_positions, v_leaves, v_missing
    FROM pyevents.events AS e
    LEFT JOIN pyevents.event_checksums AS c ON c.position = e.position AND e.checksum IS NULL
    WHERE e.position > v_after AND e.position <= v_upper;
    IF v_positions IS NULL THEN
        RETURN;
    END IF;
    IF v_missing > 0 THEN
        PERFORM pyevents.raise_error('PE005',
            format('%s events after position %s have no checksum, so they cannot be sealed', v_missing, v_after),
            'Record their checksums with SELECT pyevents.backfill_checksums(), then seal again.');
    END IF;
    -- Runs of positions that hold no event, as [first, last] pairs: rolled-back draws, and
    -- events retention removed before they were sealed.
    SELECT coalesce(array_agg(ARRAY[g.previous + 1, g.position - 1] ORDER BY g.position), '{}')
    INTO v_gaps
    FROM (
        SELECT p.position, lag(p.position, 1, v_after) OVER (ORDER BY p.position) AS previous
        FROM unnest(v_positions) AS p(position)
    ) AS g
    WHERE g.position - g.previous > 1;

    v_frontier := pyevents.merkle_append(v_frontier, v_size, v_leaves);
    v_size := v_size + cardinality(v_positions);
    v_root := pyevents.merkle_root(v_frontier);
    v_upper := v_positions[cardinality(v_positions)];
    RETURN QUERY
    INSERT INTO pyevents.seals AS s (seal, first_position, last_position, gaps, tree_size, leaves, frontier, root,
                                     previous_hash, sealed_at, seal_hash)
    VALUES (v_number, v_after + 1, v_upper, v_gaps, v_size, v_leaves, v_frontier, v_root, v_previous_hash,
            v_sealed_at,
            pyevents.seal_hash(v_number, v_after + 1, v_upper, v_gaps, v_size, v_root, v_previous_hash, v_sealed_at))
    RETURNING s.seal, s.first_position, s.last_position, s.gaps, s.tree_size, s.root, s.previous_hash, s.sealed_at,
              s.seal_hash;
END
$$;
COMMENT ON FUNCTION pyevents.seal_events(integer) IS
    'Seals the final events after the last seal into the log''s Merkle tree and records the seal; writers never wait for it. For pyevents_writer (and pg_cron through seal_maintenance).';
