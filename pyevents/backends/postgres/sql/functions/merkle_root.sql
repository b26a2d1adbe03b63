-- The RFC 6962 root of the tree whose frontier is p_frontier (see merkle_append): a tree
-- splits at its largest perfect subtree, so the root folds the frontier from the right.
CREATE OR REPLACE FUNCTION pyevents.merkle_root(p_frontier bytea[])
RETURNS bytea
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_root bytea;
BEGIN
    IF cardinality(p_frontier) = 0 THEN
        RETURN sha256(''::bytea);
    END IF;
    v_root := p_frontier[cardinality(p_frontier)];
    FOR v_index IN REVERSE cardinality(p_frontier) - 1 .. 1 LOOP
        v_root := sha256('\x01'::bytea || p_frontier[v_index] || v_root);
    END LOOP;
    RETURN v_root;
END
$$;
COMMENT ON FUNCTION pyevents.merkle_root(bytea[]) IS
    'Internal: the RFC 6962 root of a Merkle tree given its frontier. Used by seal_events() and verify_seals().';
