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
-- STABLE, not IMMUTABLE (to_char is STABLE, though these patterns depend on no setting), and
-- no SET: only then does the planner inline it, so an append does not plan it on every call.
-- Every name is qualified instead.
STABLE
PARALLEL SAFE
AS $$
    SELECT pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws(pg_catalog.chr(31),
        p_position::pg_catalog.text,
        p_event_id::pg_catalog.text,
        pg_catalog.to_char(pg_catalog.timezone('UTC', p_timestamp), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        p_event_type,
        p_actor_type,
        p_actor_id,
        p_correlation_id::pg_catalog.text,
        coalesce(p_causation_id::pg_catalog.text, ''),
        p_schema_version,
        p_payload::pg_catalog.text,
        p_metadata::pg_catalog.text,
        p_appended_by
    ), 'UTF8'))
$$;
COMMENT ON FUNCTION pyevents.event_checksum(bigint, uuid, timestamptz, text, text, text, uuid, uuid, text, jsonb, jsonb, text) IS
    'SHA-256 over an event''s stored fields (appended_by too, when recorded), independent of the session''s TimeZone and DateStyle. Used by appends and verify_events().';
