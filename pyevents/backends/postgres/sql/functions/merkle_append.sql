-- The frontier of a Merkle tree of p_size leaves (the roots of its perfect subtrees, largest
-- first: one per set bit of p_size) after appending p_leaves (32-byte leaf hashes laid end
-- to end). Appending works like a binary counter: each trailing one bit of the size is a
-- subtree of the same height to merge with, so the tree grows without its leaves.
CREATE OR REPLACE FUNCTION pyevents.merkle_append(p_frontier bytea[], p_size bigint, p_leaves bytea)
RETURNS bytea[]
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_frontier bytea[] := p_frontier;
    v_size bigint := p_size;
    v_hash bytea;
    v_carry bigint;
    v_top integer;
BEGIN
    IF length(p_leaves) % 32 <> 0 OR cardinality(p_frontier) <> length(replace(p_size::bit(64)::text, '0', '')) THEN
        PERFORM pyevents.raise_error('PE001', format('not a Merkle frontier of %s leaves with 32-byte leaf hashes', p_size));
    END IF;
    FOR v_index IN 0 .. length(p_leaves) / 32 - 1 LOOP
        v_hash := substring(p_leaves FROM v_index * 32 + 1 FOR 32);
        v_top := cardinality(v_frontier);
        v_carry := v_size;
        WHILE v_carry & 1 = 1 LOOP
            v_hash := sha256('\x01'::bytea || v_frontier[v_top] || v_hash);
            v_top := v_top - 1;
            v_carry := v_carry >> 1;
        END LOOP;
        v_frontier := v_frontier[1:v_top] || v_hash;
        v_size := v_size + 1;
    END LOOP;
    RETURN v_frontier;
END
$$;
COMMENT ON FUNCTION pyevents.merkle_append(bytea[], bigint, bytea) IS
    'Internal: the frontier (perfect subtree roots, largest first) of an RFC 6962 Merkle tree after appending leaf hashes. Used by seal_events() and verify_seals().';
