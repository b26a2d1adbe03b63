# PostgreSQL 15 with pg_partman, ready for `pyevents db upgrade`, pgTAP for the SQL tests
# (`CREATE EXTENSION pgtap` where the tests run), and pg_cron and pgAudit for scheduled retention
# and the access audit (preloaded by compose.yml; docs/access-audit.md). Debian's packages.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-partman postgresql-15-pgtap \
    postgresql-15-cron postgresql-15-pgaudit \
 && rm -rf /var/lib/apt/lists/*
COPY init-partman.sql /docker-entrypoint-initdb.d/
