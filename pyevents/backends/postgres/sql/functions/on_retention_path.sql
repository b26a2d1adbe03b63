-- Whether the running statement is on retention's path: the retention functions are SECURITY
-- DEFINER and owned by pyevents_retention, so inside them, and only there, current_user is that
-- role (nobody logs in as it). Every guard against removing events asks this one function.
CREATE OR REPLACE FUNCTION pyevents.on_retention_path()
RETURNS boolean
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT current_user = 'pyevents_retention'
$$;
COMMENT ON FUNCTION pyevents.on_retention_path() IS
    'Internal: true only inside the retention functions (current_user is pyevents_retention); the append-only guards let rows go only then.';
