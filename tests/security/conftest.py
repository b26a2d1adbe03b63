"""Stores of each backend, configured by dict, for the security tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(params=["file", "postgresql"])
def backend_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh, empty store of each backend (without a `[security]` section)."""
    if request.param == "file":
        return {"backend": "file", "file": {"data_directory": str(tmp_path / "events")}}
    return {"backend": "postgresql", "postgresql": {"dsn": request.getfixturevalue("pg_dsn"), "pool_size": 2}}
