-- Every seal, oldest first, without its leaves: what `pyevents seal --export` writes and what an
-- auditor compares with a seal kept outside the database.
-- SELECT seal, tree_size, encode(root, 'hex') FROM pyevents.seal_history();
CREATE OR REPLACE FUNCTION pyevents.seal_history()
RETURNS TABLE (seal bigint, first_position bigint, last_position bigint, gaps bigint[], tree_size bigint, root bytea,
               previous_hash bytea, sealed_at timestamptz, seal_hash bytea)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.seal, s.first_position, s.last_position, s.gaps, s.tree_size, s.root, s.previous_hash, s.sealed_at,
           s.seal_hash
    FROM pyevents.seals AS s
    ORDER BY s.seal
$$;
COMMENT ON FUNCTION pyevents.seal_history() IS
    'Every seal, oldest first, without its leaves. For pyevents_writer (exports) and pyevents_auditor.';
