-- Validates a DCB query in its wire form: NULL or {"all": true} matches everything, else
-- {"items": [{"types": [...], "tags": [...]}, ...]} with types or tags in every item.
CREATE OR REPLACE FUNCTION pyevents.check_query(p_query jsonb)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item jsonb;
    v_key text;
BEGIN
    IF p_query IS NULL OR p_query = '{"all": true}'::jsonb THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p_query) <> 'object' OR jsonb_typeof(p_query -> 'items') <> 'array'
       OR (SELECT count(*) FROM jsonb_object_keys(p_query)) <> 1 THEN
        PERFORM pyevents.raise_error('PE001', 'query must be {"all": true} or {"items": [...]}');
    END IF;
    IF jsonb_array_length(p_query -> 'items') = 0 THEN
        PERFORM pyevents.raise_error('PE001', 'query needs at least one item');
    END IF;
    FOR v_item IN SELECT value FROM jsonb_array_elements(p_query -> 'items') LOOP
        IF jsonb_typeof(v_item) <> 'object' THEN
            PERFORM pyevents.raise_error('PE001', format('query item %s is not an object', v_item));
        END IF;
        FOR v_key IN SELECT jsonb_object_keys(v_item) LOOP
            IF v_key NOT IN ('types', 'tags') THEN
                PERFORM pyevents.raise_error('PE001', format('query item has unknown key %s', v_key));
            END IF;
            IF jsonb_typeof(v_item -> v_key) <> 'array' OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(v_item -> v_key) AS e
                WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' = ''
            ) THEN
                PERFORM pyevents.raise_error('PE001', format('query item %s must be a list of non-empty strings', v_key));
            END IF;
        END LOOP;
        IF coalesce(jsonb_array_length(v_item -> 'types'), 0) = 0
           AND coalesce(jsonb_array_length(v_item -> 'tags'), 0) = 0 THEN
            PERFORM pyevents.raise_error('PE001', 'query item needs types or tags');
        END IF;
    END LOOP;
END
$$;
