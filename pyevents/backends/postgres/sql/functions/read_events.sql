-- DCB read: the events a query matches after a position, in position order. It first waits
-- for in-flight appends of matching events (lock_query): positions are drawn before commit,
-- so without that a matching event could commit later with a position below the head a
-- decision is based on, and a condition "nothing after the head" would never see it.
-- The locks are needed only until the read's snapshot is taken: they are taken in a
-- subtransaction that is rolled back once the rows are read, which releases them, so a reader
-- left idle in its transaction never holds back writers.
-- SELECT * FROM pyevents.read_events('{"items": [{"types": ["OrderPlaced"], "tags": ["order:7"]}]}');
CREATE OR REPLACE FUNCTION pyevents.read_events(p_query jsonb, p_after bigint DEFAULT NULL, p_limit integer DEFAULT NULL)
RETURNS SETOF pyevents.events
LANGUAGE plpgsql
VOLATILE  -- each statement takes a new snapshot: the read sees what committed while it waited
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_events pyevents.events[];
BEGIN
    PERFORM pyevents.check_query(p_query);
    BEGIN
        PERFORM pyevents.lock_query(p_query);
        v_events := ARRAY(
            SELECT e
            FROM pyevents.matching_positions(p_query, p_after, p_limit) AS m
            JOIN pyevents.events AS e ON e.position = m.position AND e.timestamp = m.timestamp
            ORDER BY e.position
        );
        RAISE EXCEPTION USING ERRCODE = 'PE000';  -- roll back the subtransaction: its locks go with it
    EXCEPTION WHEN SQLSTATE 'PE000' THEN
        NULL;
    END;
    RETURN QUERY SELECT e.* FROM unnest(v_events) AS e ORDER BY e.position;
END
$$;
COMMENT ON FUNCTION pyevents.read_events(jsonb, bigint, integer) IS
    'DCB read: the events a query matches after a position, in position order, once in-flight matching appends have committed. For pyevents_reader.';
