"""Configuration: file, dict and environment; every error names the key; secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pyevents
from pyevents import Config, ConfigError
from pyevents.backends import available
from pyevents.backends.postgres import PostgresEventStore
from pyevents.config import leaf_keys, mask_dsn, reference


def test_defaults_select_the_file_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config.load(environ={})
    assert config.backend == "file"
    assert config.section("file")["rotation"]["compression"] == "gzip"
    assert config.section("postgresql")["pool_size"] == 10


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
    other.write_text('backend = "file"\n')
    monkeypatch.chdir(tmp_path)
    assert Config.load(environ={}).backend == "postgresql"
    assert Config.load(environ={"PYEVENTS_CONFIG": str(other)}).backend == "file"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"postgresql": {"pool_sise": 3}}, "postgresql.pool_sise"),
        ({"postgresql": {"pool_size": "3"}}, "postgresql.pool_size must be an integer"),
        ({"postgresql": {"pool_size": 0}}, "postgresql.pool_size must be at least 1, got 0"),
        ({"file": {"indexing": {"max_memory_size": -1}}}, "file.indexing.max_memory_size must not be negative"),
        ({"limits": {"max_payload_size": True}}, "limits.max_payload_size must be an integer, got bool"),
        ({"file": {"rotation": {"compression": "zip"}}}, "file.rotation.compression must be one of gzip, none"),
        ({"file": {"fsync": "sometimes"}}, "file.fsync"),
        ({"file": "here"}, "file must be a table"),
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
        ({"PYEVENTS_POSTGRESQL__POOL_SIZ": "3"}, "unknown configuration key postgresql.pool_siz"),
        ({"PYEVENTS_FILE__ROTATION": "3"}, "file.rotation is a section"),
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
        },
        environ={},
    )
    shown = repr(config) + str(config) + str(config.masked())
    for secret in ("s3cret", "hunter2"):
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


def test_a_registered_section_is_validated_templated_and_listed() -> None:
    """A part of pyevents adds its section through the registration API; the keys of a feature
    not built before become accepted once it registers them."""
    program = """
import tomllib
from pyevents import config as configuration
from pyevents.config import Config, Key, reference, register_section, template
from pyevents.errors import ConfigError
configuration._unbuilt["archive"] = "archiving"
try:
    Config.load(config={"archive": {"mode": "cold"}}, environ={})
except ConfigError as exc:
    assert "archive.mode is not available: archiving are not built yet" in str(exc), exc
else:
    raise AssertionError("a key of an unbuilt feature was accepted")
register_section("archive", {
    "mode": Key(str, "what is archived", default="none", choices=("none", "cold")),
    "after": {"days": Key(int, "days kept hot", default=90, minimum=1)},
})
environ = {"PYEVENTS_ARCHIVE__AFTER__DAYS": "7"}
config = Config.load(config={"archive": {"mode": "cold"}}, environ=environ)
assert config.section("archive") == {"mode": "cold", "after": {"days": 7}}, config
assert tomllib.loads(template())["archive"]["after"] == {"days": 90}
assert "| `archive.after.days` | int | `90` |" in reference()
try:
    Config.load(config={"archive": {"mode": "forever"}}, environ={})
except ConfigError as exc:
    assert "archive.mode must be one of none, cold" in str(exc), exc
else:
    raise AssertionError("an invalid choice was accepted")
try:
    register_section("file", {})
except ValueError as exc:
    assert "[file] is already defined" in str(exc)
else:
    raise AssertionError("a section was defined twice")
"""
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def test_a_later_dsn_replaces_the_connection_parts_but_keeps_the_password(tmp_path: Path) -> None:
    path = tmp_path / "pyevents.toml"
    path.write_text('[postgresql]\nhost = "old"\nport = 5433\ndatabase = "old"\napplication_name = "app"\n')
    environ = {"PYEVENTS_POSTGRESQL__PASSWORD": "pw"}
    config = Config.load(path, environ=environ, overrides={"postgresql": {"dsn": "host=new dbname=events"}})
    settings = config.section("postgresql")
    assert (settings["host"], settings["port"], settings["database"]) == (None, None, None)
    assert (settings["dsn"], settings["password"], settings["application_name"]) == (
        "host=new dbname=events",
        "pw",
        "app",
    )
    from_environment = Config.load(path, environ={"PYEVENTS_POSTGRESQL__DSN": "host=env"})
    assert from_environment.section("postgresql")["host"] is None
    with_password = Config.load(path, environ=environ, overrides={"postgresql": {"dsn": "postgresql://u:own@h/d"}})
    assert with_password.section("postgresql")["password"] is None  # the DSN's own password is used
    with pytest.raises(ConfigError, match="unknown configuration key postgresql.sdn"):
        Config.load(path, environ={}, overrides={"postgresql": {"sdn": "x"}})


def test_the_readme_lists_every_key() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    listed = readme.split("<!-- configuration keys: start -->\n")[1].split("<!-- configuration keys: end -->")[0]
    assert listed == reference(), "the README's key list is out of date: replace it with `pyevents init --keys`"
    for path, key in leaf_keys().items():
        assert key.help and f"`{path}`" in listed


def test_values_that_would_misbehave_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for directory in ("", "  "):
        with pytest.raises(ConfigError, match="file.data_directory must not be empty"):
            pyevents.open_store(config={"backend": "file", "file": {"data_directory": directory}})
    assert list(tmp_path.iterdir()) == []
    for key, value in (("connect_timeout", -5), ("deadline", 0)):
        with pytest.raises(ConfigError, match=f"postgresql.{key} must be at least 1"):
            Config.load(config={"postgresql": {key: value}}, environ={})


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "pyevents.toml"
    path.write_bytes(b'backend = "file"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"pyevents.toml is not UTF-8 text"):
        Config.load(path, environ={})


def test_misspelled_variables_are_named_with_the_closest_key() -> None:
    with pytest.raises(ConfigError, match="POSTGRESQL__POOLSIZE.* did you mean PYEVENTS_POSTGRESQL__POOL_SIZE"):
        Config.load(config={}, environ={"PYEVENTS_POSTGRESQL__POOLSIZE": "3"})
    with pytest.warns(UserWarning, match="PYEVENTS_POSTGRES__DSN .* did you mean PYEVENTS_POSTGRESQL__DSN"):
        Config.load(config={}, environ={"PYEVENTS_POSTGRES__DSN": "x"})
    with pytest.warns(UserWarning, match="did you mean PYEVENTS_BACKEND"):
        Config.load(config={}, environ={"PYEVENTS_BACKND": "file"})
    Config.load(config={}, environ={"PYEVENTS_TEST_DSN": "x", "PYEVENTS_PGCLUSTER": "y"})  # not keys: no warning
