"""The `[eventstore]` configuration section of the EventStoreDB / KurrentDB backend (importable
without kurrentdbclient)."""

from __future__ import annotations

from pyevents.config import Key, register_section

register_section(
    "eventstore",
    {
        "connection_string": Key(
            str,
            "kurrentdb://, esdb:// or kdb:// URL, several hosts or +discover for a cluster; passed to kurrentdbclient",
            default="kurrentdb://localhost:2113?Tls=false",
        ),
        "stream": Key(
            str, "the server stream that holds this store's events (one store per stream)", default="pyevents"
        ),
        "default_credentials": {
            "username": Key(str, "user for the server, when the connection string names none", example="admin"),
            "password": Key(
                str,
                "better set as PYEVENTS_EVENTSTORE__DEFAULT_CREDENTIALS__PASSWORD than written here",
                example="...",
                secret=True,
            ),
        },
    },
)
