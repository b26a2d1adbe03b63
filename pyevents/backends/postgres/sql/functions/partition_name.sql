-- Name of our own partition starting at a month: events_pYYYYMMDD, as pg_partman 5 names them.
CREATE OR REPLACE FUNCTION pyevents.partition_name(p_range_start timestamptz)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'events_p' || to_char(p_range_start AT TIME ZONE 'UTC', 'YYYYMMDD')
$$;
COMMENT ON FUNCTION pyevents.partition_name(timestamptz) IS
    'Internal: the name of our partition starting at a month, events_pYYYYMMDD (as pg_partman 5 names them).';
