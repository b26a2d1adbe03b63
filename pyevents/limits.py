"""The limits every backend enforces, defined once.

The Python checks use these constants, and the PostgreSQL functions receive them as `@NAME@`
placeholders rendered by the schema installer. The CHECK constraints of released migrations
cannot change; a test proves they agree with these values.
"""

from __future__ import annotations

from datetime import timedelta

# event_type, actor_type, actor_id, tags, subscription names
MAX_NAME_LENGTH = 255
MAX_SCHEMA_VERSION_LENGTH = 32
# events in one batch, and rows in one page
MAX_BATCH_SIZE = 10_000
# Further ahead than this is a broken clock or a typo, not an event.
MAX_FUTURE_SKEW = timedelta(days=1)
# bytes of compact JSON; the default of the `limits.max_payload_size` key
DEFAULT_MAX_PAYLOAD_SIZE = 1_048_576
# levels of nested arrays and objects in a payload or metadata; deeper JSON exhausts recursive
# encoders and decoders (Python's and PostgreSQL's) instead of failing cleanly
MAX_JSON_DEPTH = 100


def interval_text(interval: timedelta) -> str:
    """An interval as both PostgreSQL (`interval '1 day'`) and people read it."""
    seconds = int(interval.total_seconds())
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return f"{days} day" if days == 1 else f"{days} days"
    return f"{seconds} seconds"
