-- Makes pyevents.redacted_paths hold exactly p_paths (what `pyevents db redact sync` writes
-- from the configuration); returns each path added or removed. Granted to nobody: the owner's
-- (and superusers') to run. Bad paths are refused by the table's check, naming the path.
-- SELECT * FROM pyevents.set_redacted_paths(ARRAY['payload.user.email', 'metadata.ip']);
CREATE OR REPLACE FUNCTION pyevents.set_redacted_paths(p_paths text[])
RETURNS TABLE (path text, change text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_path text;
BEGIN
    FOREACH v_path IN ARRAY coalesce(p_paths, '{}') LOOP
        IF v_path IS NULL OR v_path !~ '^(payload|metadata)(\.[A-Za-z0-9_-]+)+$' OR v_path ~ '^metadata\.tags(\.|$)' THEN
            PERFORM pyevents.raise_error('PE001', format(
                'redacted path %s must be payload.KEY or metadata.KEY (dotted keys of letters, digits, _ and -; '
                'not metadata.tags)', coalesce(quote_literal(v_path), 'NULL')));
        END IF;
    END LOOP;
    RETURN QUERY
    WITH removed AS (
        DELETE FROM pyevents.redacted_paths AS r
        WHERE r.path <> ALL (coalesce(p_paths, '{}'))
        RETURNING r.path
    ), added AS (
        INSERT INTO pyevents.redacted_paths (path)
        SELECT DISTINCT p FROM unnest(p_paths) AS p
        ON CONFLICT DO NOTHING
        RETURNING redacted_paths.path
    )
    SELECT a.path, 'added' FROM added AS a
    UNION ALL
    SELECT d.path, 'removed' FROM removed AS d
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION pyevents.set_redacted_paths(text[]) IS
    'Makes pyevents.redacted_paths hold exactly the given paths; returns each path added or removed. Owner only (pyevents db redact sync).';
