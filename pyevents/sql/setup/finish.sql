-- Last step of every install and upgrade: hand partitions to pg_partman when it is installed,
-- protect and register existing partitions, and premake the coming months.
DO $finish$
BEGIN
    PERFORM pyevents.register_partman();
    PERFORM pyevents.sync_partitions();
    PERFORM pyevents.ensure_partitions();
END
$finish$;
