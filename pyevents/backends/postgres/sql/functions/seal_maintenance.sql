-- The scheduled form of sealing, for pg_cron or any scheduler that runs SQL:
--   SELECT cron.schedule('pyevents-seal', '* * * * *', 'CALL pyevents.seal_maintenance()');
-- Seals everything final, in seals of at most p_max_events, committing after each so a long
-- backlog holds no transaction open. Runs with its caller's rights (a procedure that commits
-- cannot be SECURITY DEFINER): the caller needs EXECUTE on seal_events, as pyevents_writer has.
CREATE OR REPLACE PROCEDURE pyevents.seal_maintenance(p_max_events integer DEFAULT 100000)
LANGUAGE plpgsql
AS $$
DECLARE
    v_seals integer := 0;
    v_sealed record;
BEGIN
    LOOP
        SELECT * INTO v_sealed FROM pyevents.seal_events(p_max_events);
        EXIT WHEN NOT FOUND;
        v_seals := v_seals + 1;
        COMMIT;
    END LOOP;
    RAISE NOTICE 'pyevents sealing: % new seals', v_seals;
END
$$;
COMMENT ON PROCEDURE pyevents.seal_maintenance(integer) IS
    'Scheduled sealing (pg_cron): seals every final event, committing after each seal. For pyevents_writer.';
