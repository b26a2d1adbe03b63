# PostgreSQL 15 with pg_partman (Debian's package), ready for `pyevents db upgrade`.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-partman \
 && rm -rf /var/lib/apt/lists/*
COPY init-partman.sql /docker-entrypoint-initdb.d/
