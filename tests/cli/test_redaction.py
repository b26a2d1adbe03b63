"""Who appended each event and what --redact hides, as the CLI shows them: appended_by beside
actor_id in every format; the configured sensitive paths masked in every command that prints
or exports events; a redacted export flagged in its manifest and refused by import."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pyevents.logins import os_login
from tests.cli.helpers import Cli, event

SECRETS = ("alice@example.com", "4111-1111-1111-1111", "10.9.8.7")
PATHS = "payload.user.email,payload.card,metadata.ip"


def _seed(cli: Cli) -> str:
    payload = {"user": {"email": SECRETS[0], "name": "Alice"}, "card": SECRETS[1], "total": 12}
    [position] = cli.append_lines([event("order.placed", payload=payload, metadata={"ip": SECRETS[2], "tags": ["t"]})])
    return str(cli.json("query")["events"][0]["event_id"]) if position else ""


def _hides_secrets(text: str) -> None:
    assert not [secret for secret in SECRETS if secret in text], text
    assert "[REDACTED]" in text and "Alice" in text


def test_every_listing_masks_the_configured_paths_with_redact(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    event_id = _seed(cli)
    monkeypatch.setenv("PYEVENTS_SECURITY__REDACT", PATHS)
    unmasked = cli.run("query", "--format", "json").stdout
    assert all(secret in unmasked for secret in SECRETS)  # without --redact: everything
    outputs = {
        f"query {fmt}": cli.run("query", "--redact", "--wide", "--format", fmt).stdout
        for fmt in ("table", "csv", "tsv", "json", "jsonl")
    }
    outputs["query --all"] = cli.run("query", "--redact", "--all", "--format", "jsonl").stdout
    outputs["read"] = cli.run("read", "--redact", "--format", "json").stdout
    outputs["read csv"] = cli.run("read", "--redact", "--format", "csv").stdout
    outputs["get"] = cli.run("get", event_id, "--redact").stdout
    outputs["get json"] = cli.run("get", event_id, "--redact", "--format", "json").stdout
    outputs["tail"] = cli.run("tail", "--redact", "--from-start", "--no-follow").stdout
    outputs["tail table"] = cli.run("tail", "--redact", "--from-start", "--no-follow", "--format", "table").stdout
    for name, text in outputs.items():
        if "table" in name or name == "get":  # tables show the payload only; metadata is in the details
            assert not [secret for secret in SECRETS if secret in text], name
            assert "[REDACTED]" in text, name
        else:
            _hides_secrets(text)
    document = json.loads(outputs["get json"])
    assert document["payload"] == {"user": {"email": "[REDACTED]", "name": "Alice"}, "card": "[REDACTED]", "total": 12}
    assert document["metadata"] == {"ip": "[REDACTED]", "tags": ["t"]}


def test_a_redacted_export_is_flagged_and_refused_by_import(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _seed(cli)
    monkeypatch.setenv("PYEVENTS_SECURITY__REDACT", PATHS)
    export = tmp_path / "review.jsonl.gz"
    cli.run("export", "--redact", str(export))
    with gzip.open(export, "rt", encoding="utf-8") as lines:
        _hides_secrets(lines.read())
    manifest = json.loads((tmp_path / "review.jsonl.gz.manifest.json").read_text())
    assert manifest["redacted"] == sorted(PATHS.split(","))
    stdout = cli.run("export", "--redact", "--no-gzip", "-").stdout
    _hides_secrets(stdout)
    plain = tmp_path / "backup.jsonl.gz"
    cli.run("export", str(plain))
    assert json.loads((tmp_path / "backup.jsonl.gz.manifest.json").read_text())["redacted"] == []

    target = tmp_path / "target.toml"
    target.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "target"}"\n')
    refused = cli_in(target).run("import", str(export), code=2)
    assert "exported with --redact" in refused.stderr and "--allow-redacted" in refused.stderr
    assert cli_in(target).json("query")["events"] == []
    cli_in(target).run("import", str(export), "--allow-redacted")
    _hides_secrets(cli_in(target).run("query", "--format", "json").stdout)


def cli_in(config: Path) -> Cli:
    return Cli("file", before=["--config", str(config)])


def test_appended_by_is_shown_beside_actor_id_and_cannot_be_claimed(cli: Cli) -> None:
    _seed(cli)
    document = cli.json("query")["events"][0]
    login = document["appended_by"]
    assert login and document["actor_id"] == "u-1"
    if cli.backend == "file":
        assert login == os_login()
    header, row = cli.run("query", "--format", "csv").stdout.splitlines()[:2]
    columns = header.split(",")
    assert columns[columns.index("actor_id") + 1] == "appended_by"
    assert f"u-1,{login}," in row
    details = cli.run("get", document["event_id"]).stdout
    assert f"appended_by     {login}" in details
    forged = json.dumps(event("order.forged", appended_by="someone-else"))
    cli.run("append", input=forged)
    assert [e["appended_by"] for e in cli.json("query", "--type", "order.forged")["events"]] == [login]


def test_import_records_the_importing_login_not_the_exported_one(cli: Cli, tmp_path: Path) -> None:
    """An export holds the source's appended_by; the import stores its own login, and the
    manifest's checksum (which leaves appended_by out) still holds."""
    _seed(cli)
    export = tmp_path / "backup.jsonl"
    cli.run("export", "--no-gzip", str(export))
    line = json.loads(export.read_text())
    assert line["appended_by"]
    export.write_text(json.dumps(line | {"appended_by": "mallory"}) + "\n")
    target = cli_in(tmp_path / "target.toml")
    (tmp_path / "target.toml").write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "target"}"\n')
    target.run("import", str(export))
    assert [e["appended_by"] for e in target.json("query")["events"]] == [os_login()]


@pytest.mark.parametrize("path", ["user.email", "payload", "payload..x", "metadata.tags", "payload.a b"])
def test_a_bad_redacted_path_is_named(cli: Cli, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.setenv("PYEVENTS_SECURITY__REDACT", f"payload.ok,{path}")
    refused = cli.run("query", "--redact", code=2)
    assert f"security.redact: {path!r}" in refused.stderr


def test_the_database_paths_and_the_configured_ones_are_masked_together(
    pg: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _seed(pg)
    config = tmp_path / "owner.toml"
    config.write_text('[security]\nredact = ["payload.user.email", "metadata.ip"]\n')
    owner = Cli("postgresql", before=["--config", str(config)], after=["--dsn", str(pg.dsn)], dsn=pg.dsn)
    assert owner.json("db", "redact", "sync")["changes"] == [
        {"path": "metadata.ip", "change": "added"},
        {"path": "payload.user.email", "change": "added"},
    ]
    assert pg.run("db", "redact", "list").stdout.splitlines() == ["metadata.ip", "payload.user.email"]
    monkeypatch.setenv("PYEVENTS_SECURITY__REDACT", "payload.card")
    _hides_secrets(pg.run("query", "--redact", "--format", "json").stdout)  # card from the config, the rest from the db
    monkeypatch.delenv("PYEVENTS_SECURITY__REDACT")
    masked = pg.run("query", "--redact", "--format", "json").stdout
    assert SECRETS[1] in masked and SECRETS[0] not in masked and SECRETS[2] not in masked
    config.write_text('[security]\nredact = ["payload.user.email"]\n')
    assert owner.json("db", "redact", "sync")["changes"] == [{"path": "metadata.ip", "change": "removed"}]
