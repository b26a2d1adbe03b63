"""JSON that people give pyevents (CLI input, import files): refused when it is ambiguous
(a key twice in one object) or beyond what the parser can hold, with errors saying where."""

from __future__ import annotations

import json
from typing import Any

from pyevents.errors import ValidationError


class DuplicateKey(ValueError):
    """A JSON object names a key twice: which value was meant is unknowable."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def loads(text: str | bytes, where: str) -> Any:
    """json.loads that refuses duplicated keys; numbers too long and nesting too deep for the
    parser are ValidationErrors naming `where` (other syntax errors stay JSONDecodeErrors)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise
    except DuplicateKey as exc:
        raise ValidationError(f"{where}: {exc}") from None
    except ValueError as exc:  # Python's limit on digits in an integer
        raise ValidationError(f"{where}: a number is too long ({exc})") from None
    except RecursionError:
        raise ValidationError(f"{where}: JSON is nested too deeply") from None
