"""The store's role names.

Roles are cluster-wide: a grant of `pyevents_writer` reaches every database of the cluster that
holds a store under the default names. `[postgresql] role_prefix` gives a store names of its
own (`<prefix>owner`, `<prefix>writer`, ...). The SQL files keep the default names, readable and
runnable with psql as they are; `rename()` rewrites them for another prefix wherever SQL is
rendered (`db upgrade`, migrations, `db bundle`).
"""

from __future__ import annotations

import re

from pyevents.errors import ConfigError

DEFAULT_PREFIX = "pyevents_"
ROLES = ("owner", "writer", "reader", "consumer", "auditor", "retention")
# Every role but the owner: a member of the owner could become it and rewrite history.
GRANTABLE = ROLES[1:]
MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names are truncated by the server
MAX_PREFIX_LENGTH = MAX_IDENTIFIER_BYTES - max(len(role) for role in ROLES)
_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")
_DEFAULT_NAME = re.compile(rf"\b{DEFAULT_PREFIX}({'|'.join(ROLES)})\b")


def check_prefix(prefix: str) -> str:
    """The prefix, or a ConfigError saying what is wrong with it."""
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(
            f"postgresql.role_prefix must be lowercase letters, digits and underscores, not starting with a digit,"
            f" got {prefix!r}"
        )
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise ConfigError(
            f"postgresql.role_prefix must be at most {MAX_PREFIX_LENGTH} characters, so that"
            f" {prefix}retention fits in {MAX_IDENTIFIER_BYTES} bytes; got {len(prefix)}"
        )
    if prefix.startswith("pg_"):
        raise ConfigError(
            f"postgresql.role_prefix must not start with pg_ (reserved for the server's roles), got {prefix!r}"
        )
    return prefix


def role_name(role: str, prefix: str = DEFAULT_PREFIX) -> str:
    """`writer` -> `<prefix>writer`."""
    return prefix + role


def rename(text: str, prefix: str) -> str:
    """SQL with every default role name (whole words only) under the given prefix."""
    if prefix == DEFAULT_PREFIX:
        return text
    return _DEFAULT_NAME.sub(lambda match: prefix + match[1], text)
