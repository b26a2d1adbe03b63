-- The advisory-lock key of a DCB lock name. Plain SQL without SET so the planner inlines it.
CREATE OR REPLACE FUNCTION pyevents.lock_key(p_name text)
RETURNS bigint
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT pg_catalog.hashtextextended('pyevents' || chr(31) || p_name, 0)
$$;
COMMENT ON FUNCTION pyevents.lock_key(text) IS
    'Internal: the advisory-lock key of a DCB lock name, used by appends and DCB reads.';
