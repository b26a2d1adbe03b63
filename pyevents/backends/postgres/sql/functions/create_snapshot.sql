-- Saves the snapshot of a correlation, replacing any earlier one. p_position defaults to the
-- highest position visible now; a position beyond it is refused (the state cannot reflect
-- events that do not exist yet).
CREATE OR REPLACE FUNCTION pyevents.create_snapshot(p_correlation_id uuid, p_state jsonb, p_position bigint DEFAULT NULL)
RETURNS SETOF pyevents.snapshots
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_head bigint := coalesce((SELECT max(e.position) FROM pyevents.events AS e), 0);
BEGIN
    IF p_correlation_id IS NULL THEN
        PERFORM pyevents.raise_error('PE001', 'correlation_id must not be null');
    END IF;
    IF p_state IS NULL OR jsonb_typeof(p_state) <> 'object' THEN
        PERFORM pyevents.raise_error('PE001', 'state must be a JSON object');
    END IF;
    IF p_position < 0 OR p_position > v_head THEN
        -- COLUMN names the offending argument for the client's ValidationError.field
        RAISE EXCEPTION USING ERRCODE = 'PE001', COLUMN = 'position',
            MESSAGE = format('position %s is outside the log (0 to the head, %s)', p_position, v_head);
    END IF;
    RETURN QUERY
    INSERT INTO pyevents.snapshots AS s (correlation_id, position, state)
    VALUES (p_correlation_id, coalesce(p_position, v_head), p_state)
    ON CONFLICT (correlation_id) DO UPDATE
        SET position = EXCLUDED.position, state = EXCLUDED.state,
            created_at = EXCLUDED.created_at, created_by = EXCLUDED.created_by
    RETURNING s.*;
END
$$;
COMMENT ON FUNCTION pyevents.create_snapshot(uuid, jsonb, bigint) IS
    'Saves a correlation''s state as of a position (default: the head), replacing the earlier snapshot. For pyevents_writer.';
