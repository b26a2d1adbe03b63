"""The CLI encrypts and decrypts through the same configuration as the library."""

from __future__ import annotations

import pytest

from pyevents.encryption.store import generate_key
from tests.cli.helpers import Cli, event

KEYS_VARIABLE = "PYEVENTS_SECURITY__ENCRYPTION__KEYS"


def test_cli_reads_back_what_it_encrypted_and_fails_clearly_with_a_wrong_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv(KEYS_VARIABLE, f"k1:{key}")
    [position] = cli.append_lines([event("card.added", payload={"card": "4111 1111"})])
    [stored] = cli.json("query")["events"]
    assert stored["position"] == position and stored["payload"] == {"card": "4111 1111"}
    assert cli.json("verify")["problems"] == []
    monkeypatch.delenv(KEYS_VARIABLE)
    [sealed] = cli.json("query")["events"]
    assert list(sealed["payload"]) == ["$encrypted"] and "4111" not in str(sealed)
    monkeypatch.setenv(KEYS_VARIABLE, f"k1:{generate_key()}")
    result = cli.run("get", stored["event_id"], code=1)
    assert f"event {stored['event_id']} does not decrypt with key 'k1'" in result.stderr
    assert key not in result.output + result.stderr
