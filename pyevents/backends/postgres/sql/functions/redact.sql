-- Masks values of one JSON document, an event's payload or metadata: every path of p_paths
-- under p_root ('payload' or 'metadata') that names a value present in the document has that
-- value, whatever it holds (a string, an object, a list), replaced by the string "[REDACTED]".
-- Paths are dotted keys (payload.user.email); a segment of digits indexes a list.
-- SELECT pyevents.redact('{"user": {"email": "a@example.com"}}', 'payload', ARRAY['payload.user.email']);
CREATE OR REPLACE FUNCTION pyevents.redact(p_document jsonb, p_root text, p_paths text[])
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_path text;
    v_keys text[];
BEGIN
    FOREACH v_path IN ARRAY coalesce(p_paths, '{}') LOOP
        IF starts_with(v_path, p_root || '.') THEN
            v_keys := string_to_array(substr(v_path, length(p_root) + 2), '.');
            -- #> is NULL where the path leads nowhere (a missing key, a scalar on the way)
            IF p_document #> v_keys IS NOT NULL THEN
                p_document := jsonb_set(p_document, v_keys, '"[REDACTED]"', false);
            END IF;
        END IF;
    END LOOP;
    RETURN p_document;
END
$$;
COMMENT ON FUNCTION pyevents.redact(jsonb, text, text[]) IS
    'The document with the value at every given path under its root replaced by "[REDACTED]"; used by the audit views and functions.';
