"""The `[security]` configuration section: keys for client-side encryption of payloads, and the
paths of event values masked for those who may not see them (`pyevents.redaction`)."""

from __future__ import annotations

from pyevents.config import Key, register_section

register_section(
    "security",
    {
        "redact": Key(
            list,
            'paths of payload and metadata values (payload.user.email, metadata.ip) shown as "[REDACTED]" with '
            "--redact, and in PostgreSQL's audit views once `pyevents db redact sync` wrote them there "
            "(comma-separated in PYEVENTS_SECURITY__REDACT)",
            default=[],
        ),
        "encryption": {
            "keys": Key(
                str,
                "encryption keys as comma-separated KEY_ID:BASE64 pairs of 32 random bytes, oldest first; "
                "the last one encrypts new events (prefer PYEVENTS_SECURITY__ENCRYPTION__KEYS)",
                example="2026-01:BASE64KEY=",
                secret=True,
            ),
            "key_file": Key(
                str,
                "file of KEY_ID:BASE64 lines, oldest first, readable by its owner only; used when keys is unset",
                example="/etc/pyevents/keys",
            ),
        },
    },
)
