-- Installed before pyevents so that `pyevents db upgrade` hands partitions to pg_partman.
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
