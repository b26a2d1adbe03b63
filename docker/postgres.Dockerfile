# PostgreSQL 15 with pg_partman, ready for `pyevents db upgrade`, and pgTAP for the SQL tests
# (Debian's packages; `CREATE EXTENSION pgtap` where the tests run).
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-partman postgresql-15-pgtap \
 && rm -rf /var/lib/apt/lists/*
COPY init-partman.sql /docker-entrypoint-initdb.d/
