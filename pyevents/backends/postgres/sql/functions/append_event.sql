-- Appends one event; see append_events for idempotence, conditions and errors.
-- SELECT pyevents.append_event(gen_random_uuid(), now(), 'UserRegistered', 'service', 'signup',
--                              gen_random_uuid(), NULL, '1.0', '{"user": 7}', '{"tags": ["user:7"]}');
CREATE OR REPLACE FUNCTION pyevents.append_event(
    p_event_id uuid,
    p_timestamp timestamptz,
    p_event_type text,
    p_actor_type text,
    p_actor_id text,
    p_correlation_id uuid,
    p_causation_id uuid,
    p_schema_version text,
    p_payload jsonb,
    p_metadata jsonb,
    p_condition jsonb DEFAULT NULL,
    p_after bigint DEFAULT NULL
)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (pyevents.append_events(
        ARRAY[p_event_id], ARRAY[p_timestamp], ARRAY[p_event_type], ARRAY[p_actor_type], ARRAY[p_actor_id],
        ARRAY[p_correlation_id], ARRAY[p_causation_id], ARRAY[p_schema_version], ARRAY[p_payload],
        ARRAY[p_metadata], p_condition, p_after
    ))[1]
$$;
COMMENT ON FUNCTION pyevents.append_event(uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb, jsonb, bigint) IS
    'Appends one event (see append_events for idempotence, conditions and errors); returns its position. For pyevents_writer.';
