"""Configuration: one file (`pyevents.toml`), a dict, and `PYEVENTS_<SECTION>__<KEY>` overrides.

Every key is checked against one schema; errors name the key (`file.rotation.max_size`), and
secrets are masked wherever a configuration is shown.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyevents.errors import ConfigError

CONFIG_FILE_NAME = "pyevents.toml"
ENV_PREFIX = "PYEVENTS_"
SECRET_KEYS = frozenset({"password"})
MASK = "********"

# Each leaf is (type, default, allowed values or None). Nested dicts are sections.
Leaf = tuple[type, Any, tuple[Any, ...] | None]
SCHEMA: dict[str, Any] = {
    "backend": (str, "file", None),
    "limits": {
        "max_payload_size": (int, 1_048_576, None),
    },
    "postgresql": {
        "dsn": (str, None, None),
        "host": (str, None, None),
        "port": (int, None, None),
        "database": (str, None, None),
        "username": (str, None, None),
        "password": (str, None, None),
        "ssl": (str, None, ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")),
        "pool_size": (int, 10, None),
        "connect_timeout": (int, 10, None),
        "application_name": (str, "pyevents", None),
    },
    "file": {
        "data_directory": (str, ".pyevents", None),
        "fsync": (str, "always", ("always", "batch", "never")),
        "rotation": {
            "max_size": (int, 67_108_864, None),
            "max_files": (int, 0, None),
            "compression": (str, "gzip", ("gzip", "none")),
        },
        "indexing": {
            "enabled": (bool, True, None),
            "max_memory_size": (int, 67_108_864, None),
        },
    },
    "eventstore": {
        "connection_string": (str, "kurrentdb://localhost:2113?Tls=false", None),
        "default_credentials": {
            "username": (str, None, None),
            "password": (str, None, None),
        },
    },
    "retention": {
        "default_policy": (str, "infinite", ("infinite", "time", "count", "custom")),
        "time_policy": {"retain_days": (int, 90, None)},
        "count_policy": {"retain_events": (int, 1_000_000, None)},
        "custom_policy": {"rules": (list, [], None)},
    },
}
NON_NEGATIVE_INTS = frozenset(
    {"limits.max_payload_size", "file.rotation.max_size", "file.rotation.max_files", "postgresql.pool_size"}
)


def _coerce(value: Any, leaf: Leaf, key: str, *, from_env: bool) -> Any:
    kind, _default, choices = leaf
    if from_env and isinstance(value, str):
        if kind is bool:
            lowered = value.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ConfigError(f"{key} must be true or false, got {value!r}")
            value = lowered in ("1", "true", "yes", "on")
        elif kind is int:
            try:
                value = int(value)
            except ValueError:
                raise ConfigError(f"{key} must be an integer, got {value!r}") from None
        elif kind is list:
            raise ConfigError(f"{key} cannot be set from the environment")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{key} must be an integer, got {type(value).__name__}")
    if not isinstance(value, kind):
        raise ConfigError(f"{key} must be a {kind.__name__}, got {type(value).__name__}")
    if choices is not None and value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}, got {value!r}")
    if isinstance(value, int) and key in NON_NEGATIVE_INTS and value < 0:
        raise ConfigError(f"{key} must not be negative, got {value}")
    return value


def _validate(data: Mapping[str, Any], schema: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a table of keys")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        known = ", ".join(prefix + name for name in schema)
        raise ConfigError(f"unknown configuration key {prefix}{unknown[0]} (known here: {known})")
    result: dict[str, Any] = {}
    for name, spec in schema.items():
        key = prefix + name
        if isinstance(spec, dict):
            result[name] = _validate(data.get(name, {}), spec, key + ".")
        elif name in data and data[name] is not None:
            result[name] = _coerce(data[name], spec, key, from_env=False)
        else:
            result[name] = copy.deepcopy(spec[1])
    return result


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """PYEVENTS_FILE__ROTATION__MAX_SIZE=1 -> {"file": {"rotation": {"max_size": 1}}}."""
    overrides: dict[str, Any] = {}
    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key == "PYEVENTS_CONFIG":
            continue
        path = [part.lower() for part in env_key[len(ENV_PREFIX) :].split("__")]
        spec: Any = SCHEMA
        for part in path:
            if not isinstance(spec, dict) or part not in spec:
                spec = None
                break
            spec = spec[part]
        if spec is None or isinstance(spec, dict):
            continue  # other PYEVENTS_* variables (test settings, for instance) are not config keys
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _coerce(raw, spec, ".".join(path), from_env=True)
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def mask_secrets(value: Any) -> Any:
    """A copy safe to print: passwords and DSN passwords replaced by a mask."""
    if isinstance(value, Mapping):
        return {k: (MASK if k in SECRET_KEYS and v else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, str):
        return mask_dsn(value)
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_dsn(dsn: str) -> str:
    return _KV_PASSWORD.sub(rf"\1{MASK}", _URL_PASSWORD.sub(rf"\1{MASK}\3", dsn))


class Config:
    """A validated configuration. `repr` and `str` never show secrets."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, source: str = "defaults") -> None:
        self.source = source
        self.data = _validate(data or {}, SCHEMA)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """From a dict, else the given file, else $PYEVENTS_CONFIG, else ./pyevents.toml, else
        defaults (the file backend); then environment overrides on top."""
        environ = os.environ if environ is None else environ
        source = "defaults"
        data: dict[str, Any] = {}
        if config is not None:
            data, source = dict(config), "dict"
        else:
            chosen = path or environ.get("PYEVENTS_CONFIG")
            if chosen is None and Path(CONFIG_FILE_NAME).is_file():
                chosen = CONFIG_FILE_NAME
            if chosen is not None:
                data, source = cls._read_file(Path(chosen)), str(chosen)
        _validate(data, SCHEMA)  # name a bad key in the file before the environment hides it
        return cls(_merge(data, _env_overrides(environ)), source=source)

    @staticmethod
    def _read_file(path: Path) -> dict[str, Any]:
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"configuration file {path} cannot be read: {exc.strerror}") from None

    @property
    def backend(self) -> str:
        backend: str = self.data["backend"]
        return backend

    def section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.data[name]
        return section

    def masked(self) -> dict[str, Any]:
        masked: dict[str, Any] = mask_secrets(self.data)
        return masked

    def __repr__(self) -> str:
        return f"Config(source={self.source!r}, data={self.masked()!r})"

    __str__ = __repr__
