-- SHA-256 over an event's stored fields, position included, in a form that depends on
-- neither the session's TimeZone nor DateStyle (timestamp in UTC, jsonb in its own canonical
-- text). Recorded at append time and recomputed by verify_events(). appended_by comes last
-- and concat_ws skips NULLs, so events stored before it was recorded keep their checksum.
-- The earlier form without appended_by:
DROP FUNCTION IF EXISTS pyevents.event_checksum(bigint, uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb);
CREATE OR REPLACE FUNCTION pyevents.event_checksum(
    p_position bigint,
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
    p_appended_by text
)
RETURNS bytea
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT sha256(convert_to(concat_ws(chr(31),
        p_position::text,
        p_event_id::text,
        to_char(p_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        p_event_type,
        p_actor_type,
        p_actor_id,
        p_correlation_id::text,
        coalesce(p_causation_id::text, ''),
        p_schema_version,
        p_payload::text,
        p_metadata::text,
        p_appended_by
    ), 'UTF8'))
$$;
COMMENT ON FUNCTION pyevents.event_checksum(bigint, uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb, text) IS
    'SHA-256 over an event''s stored fields (appended_by too, when recorded), independent of the session''s TimeZone and DateStyle. Used by appends and verify_events().';
