-- Checks of the seals, one row per problem, each naming the seal and the position:
--  * the table: its triggers refusing UPDATE, DELETE and TRUNCATE are there, ENABLE ALWAYS;
--  * the chain: seals are numbered 1, 2, ... without a hole, each starts where the one before
--    ended, records that seal's hash, and hashes to its own seal_hash;
--  * the tree: the leaves of every seal, appended in order, give each seal's frontier, size
--    and root (a seal whose leaves or root were rewritten no longer matches);
--  * the events: every sealed event is still there with the content it was sealed with (its
--    checksum recomputed from its fields, so a checksum changed to match is no cover), no event
--    appeared where a seal recorded none, and a sealed event that is gone was removed by a
--    retention run (a pyevents.retention.applied event lists its position) and not behind
--    the store's back.
-- A superuser can rewrite the seals as well: an exported seal kept elsewhere (`pyevents seal
-- --export`) is checked against the events by `pyevents verify --against`.
-- SELECT * FROM pyevents.verify_seals();
CREATE OR REPLACE FUNCTION pyevents.verify_seals()
RETURNS SETOF text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_seal record;
    v_expected bigint := 1;
    v_after bigint := 0;
    v_size bigint := 0;
    v_frontier bytea[] := '{}';
    v_previous_hash bytea;
BEGIN
    RETURN QUERY
    SELECT format('table pyevents.seals lacks trigger %s or it is not ENABLE ALWAYS', t.name)
    FROM (VALUES ('seals_forbid_change'), ('seals_forbid_truncate')) AS t(name)
    WHERE NOT EXISTS (SELECT 1 FROM pg_trigger AS g
                      WHERE g.tgrelid = 'pyevents.seals'::regclass AND g.tgname = t.name AND g.tgenabled = 'A');
    FOR v_seal IN SELECT * FROM pyevents.seals AS s ORDER BY s.seal LOOP
        IF v_seal.seal <> v_expected THEN
            RETURN NEXT format('seal %s is missing: seal %s follows seal %s', v_expected, v_seal.seal, v_expected - 1);
        END IF;
        IF v_seal.first_position <> v_after + 1 THEN
            RETURN NEXT format('seal %s starts at position %s, but the seal before it ended at position %s',
                               v_seal.seal, v_seal.first_position, v_after);
        END IF;
        IF v_seal.previous_hash IS DISTINCT FROM v_previous_hash THEN
            RETURN NEXT format('seal %s does not record the hash of the seal before it: one of them was changed', v_seal.seal);
        END IF;
        IF v_seal.seal_hash <> pyevents.seal_hash(v_seal.seal, v_seal.first_position, v_seal.last_position, v_seal.gaps,
                                                   v_seal.tree_size, v_seal.root, v_seal.previous_hash, v_seal.sealed_at) THEN
            RETURN NEXT format('seal %s does not match its seal_hash: the seal was changed', v_seal.seal);
        END IF;
        BEGIN
            v_frontier := pyevents.merkle_append(v_frontier, v_size, v_seal.leaves);
            v_size := v_size + length(v_seal.leaves) / 32;
        EXCEPTION WHEN SQLSTATE 'PE001' THEN
            RETURN NEXT format('seal %s holds leaves that are not 32-byte hashes: the seal was changed', v_seal.seal);
            RETURN;
        END;
        IF v_seal.tree_size <> v_size OR v_seal.frontier <> v_frontier OR v_seal.root <> pyevents.merkle_root(v_frontier) THEN
            RETURN NEXT format('seal %s records a tree of %s events with root %s, but its leaves and those of the seals '
                               'before it give %s events with root %s: a seal was changed', v_seal.seal, v_seal.tree_size,
                               encode(v_seal.root, 'hex'), v_size, encode(pyevents.merkle_root(v_frontier), 'hex'));
        END IF;
        v_expected := v_seal.seal + 1;
        v_after := v_seal.last_position;
        v_previous_hash := v_seal.seal_hash;
    END LOOP;
    RETURN QUERY
    SELECT CASE
               WHEN l.sealed_leaf IS NULL THEN
                   format('event %s at position %s was inserted after seal %s, which holds no event there',
                          l.event_id, l.position, l.seal)
               WHEN l.checksum IS NULL THEN
                   format('the event at position %s, sealed by seal %s, is gone, and no retention run removed it',
                          l.position, l.seal)
               ELSE
                   format('event %s at position %s is not what seal %s sealed: it was changed',
                          l.event_id, l.position, l.seal)
           END
    FROM pyevents.sealed_leaves() AS l
    WHERE l.sealed_leaf IS DISTINCT FROM sha256('\x00'::bytea || l.checksum) AND NOT l.removed;
END
$$;
COMMENT ON FUNCTION pyevents.verify_seals() IS
    'Checks the seal chain, its Merkle roots and every sealed event against its leaf hash, one row per problem naming seal and position. For pyevents_auditor.';
