-- Records how far a named subscription has processed. Checkpoints only move forward, so a
-- late save from a stale consumer cannot rewind another one.
CREATE OR REPLACE FUNCTION pyevents.save_checkpoint(p_name text, p_position bigint)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO pyevents.subscriptions AS s (name, position)
    VALUES (p_name, p_position)
    ON CONFLICT (name) DO UPDATE
        SET position = greatest(s.position, EXCLUDED.position), updated_at = now()
    RETURNING s.position
$$;
COMMENT ON FUNCTION pyevents.save_checkpoint(text, bigint) IS
    'Records how far a named subscription processed; checkpoints only move forward. For pyevents_consumer.';
