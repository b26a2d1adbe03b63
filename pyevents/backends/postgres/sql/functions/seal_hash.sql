-- SHA-256 over a seal's fields in a form that depends on no session setting; pyevents.seals
-- (the Python module) computes the same for exported seals. Each seal records the hash of
-- the one before it, so changing any seal changes every later hash.
CREATE OR REPLACE FUNCTION pyevents.seal_hash(
    p_seal bigint,
    p_first_position bigint,
    p_last_position bigint,
    p_gaps bigint[],
    p_tree_size bigint,
    p_root bytea,
    p_previous_hash bytea,
    p_sealed_at timestamptz
)
RETURNS bytea
LANGUAGE sql
STABLE
PARALLEL SAFE
AS $$
    SELECT pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws(pg_catalog.chr(31),
        'pyevents seal 1',
        p_seal::pg_catalog.text,
        p_first_position::pg_catalog.text,
        p_last_position::pg_catalog.text,
        pg_catalog.array_to_string(p_gaps, ','),
        p_tree_size::pg_catalog.text,
        pg_catalog.encode(p_root, 'hex'),
        coalesce(pg_catalog.encode(p_previous_hash, 'hex'), ''),
        pg_catalog.to_char(pg_catalog.timezone('UTC', p_sealed_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    ), 'UTF8'))
$$;
COMMENT ON FUNCTION pyevents.seal_hash(bigint, bigint, bigint, bigint[], bigint, bytea, bytea, timestamptz) IS
    'SHA-256 over a seal''s fields, independent of the session''s settings; each seal records its predecessor''s. Used by seal_events() and verify_seals().';
