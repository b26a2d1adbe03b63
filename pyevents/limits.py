"""The limits every backend enforces, defined once.

The Python checks use these constants, and the PostgreSQL definitions receive them as
`@NAME@` placeholders rendered by the schema installer, so the two can never disagree.
"""

from __future__ import annotations

from datetime import timedelta

# event_type, actor_type, actor_id, tags, subscription names
MAX_NAME_LENGTH = 255
# events in one batch, and rows in one page
MAX_BATCH_SIZE = 10_000
# Further ahead than this is a broken clock or a typo, not an event.
MAX_FUTURE_SKEW = timedelta(days=1)
# bytes of compact JSON; the default of the `limits.max_payload_size` key
DEFAULT_MAX_PAYLOAD_SIZE = 1_048_576
