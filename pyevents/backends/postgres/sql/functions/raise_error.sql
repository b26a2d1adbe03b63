-- Raises a pyevents error with its SQLSTATE, so every function reports errors the same way.
-- PE001 validation, PE002 duplicate event, PE003 append condition violated,
-- PE004 immutability violated, PE005 no partition for a timestamp.
CREATE OR REPLACE FUNCTION pyevents.raise_error(p_sqlstate text, p_message text, p_hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message;
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message, HINT = p_hint;
END
$$;
COMMENT ON FUNCTION pyevents.raise_error(text, text, text) IS
    'Internal: raises a pyevents error with its SQLSTATE (PE001 validation, PE002 duplicate event, PE003 append condition violated, PE004 immutability violated, PE005 no partition). Not granted to any role.';
