-- The configured sensitive paths (table pyevents.redacted_paths), sorted: what the auditor's
-- views and functions mask, and what the Python client adds to its own list with --redact.
-- SELECT pyevents.redacted_path_list();
CREATE OR REPLACE FUNCTION pyevents.redacted_path_list()
RETURNS text[]
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(r.path ORDER BY r.path), '{}') FROM pyevents.redacted_paths AS r
$$;
COMMENT ON FUNCTION pyevents.redacted_path_list() IS
    'The paths of pyevents.redacted_paths, sorted; for readers and auditors (and clients masking the same paths).';
