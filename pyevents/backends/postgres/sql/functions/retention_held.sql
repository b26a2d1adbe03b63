-- Whether any legal hold (a compiled rule with keep = true) matches an event.
CREATE OR REPLACE FUNCTION pyevents.retention_held(p_holds jsonb, p_event_type text, p_actor_type text, p_tags jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_holds <> '[]'::jsonb
       AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_holds) AS h(rule)
                   WHERE pyevents.retention_matches(h.rule, p_event_type, p_actor_type, p_tags))
$$;
COMMENT ON FUNCTION pyevents.retention_held(jsonb, text, text, jsonb) IS
    'Internal: whether a legal hold of a compiled retention policy keeps an event (used by apply_retention).';
