"""The PostgreSQL backend: schema `pyevents` (sql/, migrations/) and its thin Python client."""

from pyevents.backends.postgres.store import PostgresEventStore

__all__ = ["PostgresEventStore"]
