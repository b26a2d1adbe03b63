"""Configuration: file, dict and environment; every error names the key; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

import pyevents
from pyevents import Config, ConfigError
from pyevents.backends import available
from pyevents.backends.postgres import PostgresEventStore
from pyevents.config import mask_dsn


def test_defaults_select_the_file_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config.load(environ={})
    assert config.backend == "file"
    assert config.section("file")["rotation"]["compression"] == "gzip"
    assert config.section("retention")["default_policy"] == "infinite"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "pyevents.toml"
    path.write_text('backend = "postgresql"\n[postgresql]\ndsn = "postgresql://app@db/events"\npool_size = 3\n')
    environ = {"PYEVENTS_POSTGRESQL__POOL_SIZE": "7", "PYEVENTS_FILE__ROTATION__MAX_SIZE": "1024"}
    config = Config.load(path, environ=environ)
    assert config.section("postgresql")["pool_size"] == 7
    assert config.section("file")["rotation"]["max_size"] == 1024
    assert config.source == str(path)


def test_config_path_from_environment_and_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyevents.toml").write_text('backend = "postgresql"\n')
    other = tmp_path / "other.toml"
    other.write_text('backend = "eventstore"\n')
    monkeypatch.chdir(tmp_path)
    assert Config.load(environ={}).backend == "postgresql"
    assert Config.load(environ={"PYEVENTS_CONFIG": str(other)}).backend == "eventstore"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"postgresql": {"pool_sise": 3}}, "postgresql.pool_sise"),
        ({"postgresql": {"pool_size": "3"}}, "postgresql.pool_size must be an integer"),
        ({"postgresql": {"pool_size": -1}}, "postgresql.pool_size must not be negative"),
        ({"file": {"rotation": {"compression": "zip"}}}, "file.rotation.compression must be one of gzip, none"),
        ({"file": {"fsync": "sometimes"}}, "file.fsync"),
        ({"file": "here"}, "file must be a table"),
        ({"retention": {"default_policy": "forever"}}, "retention.default_policy"),
        ({"colour": "red"}, "unknown configuration key colour"),
    ],
)
def test_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        Config.load(config=data, environ={})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PYEVENTS_POSTGRESQL__POOL_SIZE": "many"}, "postgresql.pool_size must be an integer"),
        ({"PYEVENTS_FILE__INDEXING__ENABLED": "perhaps"}, "file.indexing.enabled must be true or false"),
    ],
)
def test_environment_errors_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        Config.load(config={}, environ=environ)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("backend = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(bad, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        Config.load(tmp_path / "missing.toml", environ={})


def test_secrets_are_never_shown() -> None:
    config = Config.load(
        config={
            "backend": "postgresql",
            "postgresql": {"dsn": "postgresql://app:s3cret@db/events", "password": "hunter2"},
            "eventstore": {"default_credentials": {"username": "admin", "password": "changeit"}},
        },
        environ={},
    )
    shown = repr(config) + str(config) + str(config.masked())
    for secret in ("s3cret", "hunter2", "changeit"):
        assert secret not in shown
    assert mask_dsn("host=db password='a b' user=x") == "host=db password=******** user=x"
    store = pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": "postgresql://u:pw@h/d"}})
    assert isinstance(store, PostgresEventStore) and "pw@" not in repr(store)


def test_unknown_backend_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'mongo'; available backends: .*postgresql"):
        pyevents.open_store(config={"backend": "mongo"})
    assert "postgresql" in available()


def test_postgresql_needs_a_connection() -> None:
    with pytest.raises(ConfigError, match="postgresql.dsn"):
        pyevents.open_store(config={"backend": "postgresql"})


def test_unreachable_database_is_backend_unavailable() -> None:
    config = {"backend": "postgresql", "postgresql": {"dsn": "postgresql://nobody@127.0.0.1:1/x", "connect_timeout": 2}}
    with pyevents.open_store(config=config) as store:
        assert not store.health_check().healthy
        with pytest.raises(pyevents.BackendUnavailable):
            store.get_events()
