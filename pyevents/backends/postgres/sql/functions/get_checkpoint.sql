-- The last position a named subscription has processed, or NULL for a new one.
CREATE OR REPLACE FUNCTION pyevents.get_checkpoint(p_name text)
RETURNS bigint
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.position FROM pyevents.subscriptions AS s WHERE s.name = p_name
$$;
COMMENT ON FUNCTION pyevents.get_checkpoint(text) IS
    'The last position a named subscription processed, or NULL for a new one. For consumers and readers.';
