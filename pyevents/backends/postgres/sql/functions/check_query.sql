-- Validates a DCB query in its wire form: NULL or {"all": true} matches everything, else
-- {"items": [{"types": [...], "tags": [...]}, ...]} with types or tags in every item.
-- Simple expressions only (no queries): it runs on every conditional append.
CREATE OR REPLACE FUNCTION pyevents.check_query(p_query jsonb)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_items jsonb := p_query -> 'items';
    v_item jsonb;
    v_list jsonb;
    v_key text;
BEGIN
    IF p_query IS NULL OR p_query = '{"all": true}'::jsonb THEN
        RETURN;
    END IF;
    IF jsonb_typeof(v_items) IS DISTINCT FROM 'array' OR p_query - 'items' <> '{}'::jsonb THEN
        PERFORM pyevents.raise_error('PE001', 'query must be {"all": true} or {"items": [...]}');
    END IF;
    IF jsonb_array_length(v_items) = 0 THEN
        PERFORM pyevents.raise_error('PE001', 'query needs at least one item');
    END IF;
    FOR i IN 0 .. jsonb_array_length(v_items) - 1 LOOP
        v_item := v_items -> i;
        IF jsonb_typeof(v_item) <> 'object' THEN
            PERFORM pyevents.raise_error('PE001', format('query item %s is not an object', v_item));
        END IF;
        IF v_item - 'types' - 'tags' <> '{}'::jsonb THEN
            PERFORM pyevents.raise_error('PE001', format('query item %s has a key other than types and tags', v_item));
        END IF;
        FOREACH v_key IN ARRAY ARRAY['types', 'tags'] LOOP
            v_list := v_item -> v_key;
            CONTINUE WHEN v_list IS NULL;
            IF jsonb_typeof(v_list) <> 'array' THEN
                PERFORM pyevents.raise_error('PE001', format('query item %s must be a list of non-empty strings', v_key));
            END IF;
            FOR j IN 0 .. jsonb_array_length(v_list) - 1 LOOP
                IF jsonb_typeof(v_list -> j) <> 'string' OR v_list ->> j = '' THEN
                    PERFORM pyevents.raise_error('PE001', format('query item %s must be a list of non-empty strings', v_key));
                END IF;
            END LOOP;
        END LOOP;
        IF coalesce(jsonb_array_length(v_item -> 'types'), 0) = 0
           AND coalesce(jsonb_array_length(v_item -> 'tags'), 0) = 0 THEN
            PERFORM pyevents.raise_error('PE001', 'query item needs types or tags');
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION pyevents.check_query(jsonb) IS
    'Internal: validates a DCB query in its wire form ({"items": [{"types": [...], "tags": [...]}]} or {"all": true}); raises PE001 otherwise.';
