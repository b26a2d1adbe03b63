-- Whether a compiled retention rule (see pyevents/retention.py, Rule.to_json) matches an
-- event: any of its type patterns, all of its tags, any of its actor types; an empty
-- criterion matches everything. A plain SQL function, so the planner inlines it per row.
CREATE OR REPLACE FUNCTION pyevents.retention_matches(p_rule jsonb, p_event_type text, p_actor_type text, p_tags jsonb)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT ((p_rule -> 'type_patterns') = '[]'::jsonb
            OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(p_rule -> 'type_patterns') AS t(pattern)
                       WHERE p_event_type ~ t.pattern))
       AND coalesce(p_tags, '[]') @> (p_rule -> 'tags')
       AND ((p_rule -> 'actor_types') = '[]'::jsonb OR (p_rule -> 'actor_types') ? p_actor_type)
$$;
COMMENT ON FUNCTION pyevents.retention_matches(jsonb, text, text, jsonb) IS
    'Internal: whether a compiled retention rule matches an event (used by apply_retention).';
