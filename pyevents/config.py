"""Configuration: one file (`pyevents.toml`), a dict, and `PYEVENTS_<SECTION>__<KEY>` overrides.

Every key is defined once, as a `Key` (type, default, choices, help, example); validation, the
`pyevents init` template (`template()`) and the README's key list (`reference()`) all come from
those definitions. Each part of pyevents contributes its own section with `register_section`
(the file backend `[file]`, the PostgreSQL backend `[postgresql]`). Keys of features that are
not built yet are refused by name. Errors name the key (`file.rotation.max_size`), and secrets
are masked wherever a configuration is shown.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pyevents.errors import ConfigError
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE

if TYPE_CHECKING:
    from pyevents.retention import RetentionPolicy

CONFIG_FILE_NAME = "pyevents.toml"
ENV_PREFIX = "PYEVENTS_"
MASK = "********"
# Modules that register the built-in sections when imported; plugins name theirs in this group.
BUILTIN_SECTION_MODULES = (
    "pyevents.backends.file.settings",
    "pyevents.backends.postgres.settings",
    "pyevents.encryption.settings",
    "pyevents.backends.eventstore.settings",
    "pyevents.retention_settings",
)
SECTIONS_ENTRY_POINT_GROUP = "pyevents.config"


@dataclass(frozen=True)
class Key:
    """One configuration key. Without a default, the key is optional and `example` shows a value.
    `supersedes` names keys of the same section that a later layer (environment, override)
    setting this key clears, such as the connection parts a whole DSN replaces; a function of
    the new value when that depends on it."""

    kind: type
    help: str
    default: Any = None
    choices: tuple[Any, ...] | None = None
    example: Any = None
    minimum: int | None = None
    secret: bool = False
    supersedes: tuple[str, ...] | Callable[[Any], tuple[str, ...]] = ()


# A section maps names to keys or to nested sections (`file.rotation.max_size`).
Section: TypeAlias = Mapping[str, "Key | Section"]

_TOP_LEVEL: dict[str, Key] = {
    "backend": Key(
        str,
        "the backend that stores the events: file (JSONL segments and a SQLite index), postgresql or eventstore",
        default="file",
    ),
}
_sections: dict[str, Section] = {}
# Features whose keys are refused, by name, until the feature is built and registers them.
_unbuilt: dict[str, str] = {}
_builtins_loaded = False


def register_section(name: str, keys: Section) -> None:
    """Add the section `[name]` with these keys. A key path of a feature that is not built yet
    becomes available once a section defines it."""
    if name in _sections or name in _TOP_LEVEL:
        raise ValueError(f"configuration section [{name}] is already defined")
    _check_section(keys, name)
    _sections[name] = keys
    for path in _leaf_paths(keys, name + "."):
        _unbuilt.pop(path, None)
    _unbuilt.pop(name, None)


def _check_section(keys: Section, prefix: str) -> None:
    for key_name, spec in keys.items():
        path = f"{prefix}.{key_name}"
        if isinstance(spec, Key):
            if spec.default is not None and not _is_kind(spec.default, spec.kind):
                raise ValueError(f"default of {path} is not a {spec.kind.__name__}")
            if spec.choices is not None and spec.default is not None and spec.default not in spec.choices:
                raise ValueError(f"default of {path} is not one of its choices")
            unknown = set() if callable(spec.supersedes) else set(spec.supersedes) - set(keys)
            if unknown:
                raise ValueError(f"{path} supersedes unknown keys {sorted(unknown)}")
        else:
            _check_section(spec, path)


def schema() -> dict[str, Key | Section]:
    """Every defined key: the top-level keys, then each registered section."""
    _load_builtin_sections()
    return {**_TOP_LEVEL, **_sections}


def _load_builtin_sections() -> None:
    """Sections register when their module is imported; import them on first use (not at
    import time: the backends themselves import this module)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for module in BUILTIN_SECTION_MODULES:
        import_module(module)
    for entry in entry_points(group=SECTIONS_ENTRY_POINT_GROUP):
        if entry.value not in BUILTIN_SECTION_MODULES:
            import_module(entry.value)


def _leaf_paths(spec: Section, prefix: str = "") -> Iterator[str]:
    for name, child in spec.items():
        if isinstance(child, Key):
            yield prefix + name
        else:
            yield from _leaf_paths(child, f"{prefix}{name}.")


def leaf_keys() -> dict[str, Key]:
    """Every key by its dotted path, in definition order."""
    found: dict[str, Key] = {}

    def walk(spec: Section, prefix: str) -> None:
        for name, child in spec.items():
            if isinstance(child, Key):
                found[prefix + name] = child
            else:
                walk(child, f"{prefix}{name}.")

    walk(schema(), "")
    return found


def _unbuilt_feature(path: str) -> str | None:
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        feature = _unbuilt.get(".".join(parts[:end]))
        if feature is not None:
            return feature
    return None


def _first_leaf(value: Any, path: str) -> str:
    """The first key given under `path`, so an error names a key the user wrote."""
    while isinstance(value, Mapping) and value:
        name = next(iter(value))
        path, value = f"{path}.{name}", value[name]
    return path


def _refuse_unbuilt(path: str, value: Any) -> None:
    feature = _unbuilt_feature(path)
    if feature is not None:
        key = _first_leaf(value, path)
        raise ConfigError(f"configuration key {key} is not available: {feature} are not built yet; remove the key")


# -- validation --------------------------------------------------------------------------------
def _is_kind(value: Any, kind: type) -> bool:
    if kind is int and isinstance(value, bool):
        return False
    return isinstance(value, kind)


def _coerce(value: Any, key: Key, path: str, *, from_env: bool) -> Any:
    if from_env and isinstance(value, str):
        value = _from_text(value, key, path)
    if not _is_kind(value, key.kind):
        article = "an" if key.kind.__name__[0] in "aeiou" else "a"
        kind = "integer" if key.kind is int else key.kind.__name__
        raise ConfigError(f"{path} must be {article} {kind}, got {type(value).__name__}")
    if key.choices is not None and value not in key.choices:
        raise ConfigError(f"{path} must be one of {', '.join(map(str, key.choices))}, got {value!r}")
    if key.minimum is not None and value < key.minimum:
        if key.minimum == 0:
            raise ConfigError(f"{path} must not be negative, got {value}")
        raise ConfigError(f"{path} must be at least {key.minimum}, got {value}")
    return value


def _from_text(text: str, key: Key, path: str) -> Any:
    if key.kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigError(f"{path} must be true or false, got {text!r}")
        return lowered in ("1", "true", "yes", "on")
    if key.kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{path} must be an integer, got {text!r}") from None
    if key.kind is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    if key.kind is not str:
        raise ConfigError(f"{path} cannot be set from the environment")
    return text


def _validate(data: Any, spec: Section, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'configuration'} must be a table of keys")
    for name in data:
        if name not in spec:
            _refuse_unbuilt(prefix + name, data[name])
    unknown = sorted(set(data) - set(spec))
    if unknown:
        known = ", ".join(prefix + name for name in spec)
        raise ConfigError(f"unknown configuration key {prefix}{unknown[0]} (known here: {known})")
    result: dict[str, Any] = {}
    for name, child in spec.items():
        path = prefix + name
        if not isinstance(child, Key):
            result[name] = _validate(data.get(name, {}), child, path + ".")
        elif data.get(name) is not None:
            result[name] = _coerce(data[name], child, path, from_env=False)
        else:
            result[name] = copy.deepcopy(child.default)
    return result


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """PYEVENTS_FILE__ROTATION__MAX_SIZE=1 -> {"file": {"rotation": {"max_size": 1}}}.
    Variables under a section's name must name one of its keys; other PYEVENTS_* variables
    (PYEVENTS_CONFIG, test settings) are not configuration keys."""
    overrides: dict[str, Any] = {}
    top = schema()
    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key == "PYEVENTS_CONFIG":
            continue
        path = [part.lower() for part in env_key[len(ENV_PREFIX) :].split("__")]
        dotted = ".".join(path)
        if path[0] not in top:
            if _unbuilt_feature(dotted) is not None:
                _refuse_unbuilt(dotted, raw)
            _warn_if_misspelled(env_key)
            continue
        spec: Any = top
        for part in path:
            if not isinstance(spec, Mapping) or part not in spec:
                _refuse_unbuilt(dotted, raw)
                raise ConfigError(f"unknown configuration key {dotted} (from {env_key}){_closest_hint(env_key)}")
            spec = spec[part]
        if not isinstance(spec, Key):
            raise ConfigError(f"{dotted} is a section; {env_key} must name one of its keys")
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _coerce(raw, spec, dotted, from_env=True)
    return overrides


def _env_names() -> list[str]:
    return [ENV_PREFIX + path.upper().replace(".", "__") for path in leaf_keys()]


def _closest_hint(env_key: str) -> str:
    closest = difflib.get_close_matches(env_key, _env_names(), n=1, cutoff=0.6)
    return f"; did you mean {closest[0]}?" if closest else ""


def _warn_if_misspelled(env_key: str) -> None:
    """A variable outside every section is ignored (scripts use PYEVENTS_* names of their own),
    but one shaped like a key (SECTION__KEY, or close to a top-level key) is likely a typo."""
    top_level = [name for name in _env_names() if "__" not in name]
    if "__" not in env_key and not difflib.get_close_matches(env_key, top_level, n=1, cutoff=0.85):
        return
    warnings.warn(
        f"environment variable {env_key} is not a pyevents configuration key{_closest_hint(env_key)}", stacklevel=4
    )


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any], spec: Section) -> dict[str, Any]:
    """`extra` on top of `base`; a key set in `extra` clears the keys it supersedes in `base`."""
    merged = dict(base)
    for name, value in extra.items():
        child = spec.get(name)
        if isinstance(child, Key):
            superseded = child.supersedes(value) if callable(child.supersedes) else child.supersedes
            for cleared in superseded:
                if cleared not in extra:
                    merged.pop(cleared, None)
            merged[name] = value
        elif isinstance(value, Mapping) and isinstance(merged.get(name), Mapping) and child is not None:
            merged[name] = _merge(merged[name], value, child)
        else:
            merged[name] = value
    return merged


# -- secrets -----------------------------------------------------------------------------------
def secret_names() -> frozenset[str]:
    return frozenset({"password"} | {path.rsplit(".", 1)[-1] for path, key in leaf_keys().items() if key.secret})


def mask_secrets(value: Any) -> Any:
    """A copy safe to print: secrets and DSN passwords replaced by a mask."""
    secrets = secret_names()

    def mask(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {k: (MASK if k in secrets and v else mask(v)) for k, v in item.items()}
        if isinstance(item, str):
            return mask_dsn(item)
        if isinstance(item, list):
            return [mask(v) for v in item]
        return item

    return mask(value)


_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_dsn(dsn: str) -> str:
    return _KV_PASSWORD.sub(rf"\1{MASK}", _URL_PASSWORD.sub(rf"\1{MASK}\3", dsn))


# -- the template and the reference ------------------------------------------------------------
def toml_value(value: object) -> str:
    """A value written as TOML (the kinds keys use)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _described(key: Key) -> str:
    if key.choices is None:
        return key.help
    return f"{key.help} ({' | '.join(map(str, key.choices))})"


def template(backend: str = "file") -> str:
    """A pyevents.toml listing every key with its help and default; keys without a default are
    written commented out, with an example."""
    lines = [
        "# pyevents configuration. Every key is shown with its default; keys without a default are",
        "# commented out. Any key can be overridden from the environment as PYEVENTS_<SECTION>__<KEY>,",
        "# e.g. PYEVENTS_POSTGRESQL__PASSWORD or PYEVENTS_FILE__ROTATION__MAX_SIZE.",
        "",
    ]
    lines += _template_lines(schema(), "", {"backend": backend})
    return "\n".join(lines).rstrip() + "\n"


def _template_lines(spec: Section, prefix: str, values: dict[str, Any]) -> Iterator[str]:
    leaves = [(name, child) for name, child in spec.items() if isinstance(child, Key)]
    sections = [(name, child) for name, child in spec.items() if not isinstance(child, Key)]
    if prefix and leaves:
        yield f"[{prefix.rstrip('.')}]"
    for name, key in leaves:
        yield f"# {_described(key)}"
        value = values.get(prefix + name, key.default)
        if value is None:
            yield f"# {name} = {toml_value(key.example) if key.example is not None else '...'}"
        else:
            yield f"{name} = {toml_value(value)}"
    if leaves:
        yield ""
    for name, child in sections:
        yield from _template_lines(child, f"{prefix}{name}.", values)


def reference() -> str:
    """Every key as a Markdown table (the README's key list, `pyevents init --keys`)."""
    rows = [
        "| key | type | default | choices | meaning |",
        "|---|---|---|---|---|",
    ]
    for path, key in leaf_keys().items():
        if key.default is not None:
            default = f"`{toml_value(key.default)}`"
        elif key.example is not None:
            default = f"none (e.g. `{toml_value(key.example)}`)"
        else:
            default = "none"
        choices = ", ".join(f"`{choice}`" for choice in key.choices) if key.choices else ""
        rows.append(f"| `{path}` | {key.kind.__name__} | {default} | {choices} | {key.help} |")
    return "\n".join(rows) + "\n"


# -- the configuration -------------------------------------------------------------------------
class Config:
    """A validated configuration. `repr` and `str` never show secrets."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, source: str = "defaults") -> None:
        self.source = source
        self.data = _validate(data or {}, schema())

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Config:
        """From a dict, else the given file, else $PYEVENTS_CONFIG, else ./pyevents.toml, else
        defaults (the file backend); then environment overrides on top, then `overrides`
        (command-line options such as `--dsn`)."""
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
        spec = schema()
        _validate(data, spec)  # name a bad key in the file before the environment hides it
        merged = _merge(data, _env_overrides(environ), spec)
        if overrides:
            _validate(overrides, spec)
            merged, source = _merge(merged, overrides, spec), f"{source} with overrides"
        return cls(merged, source=source)

    @staticmethod
    def _read_file(path: Path) -> dict[str, Any]:
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"configuration file {path} is not UTF-8 text (a byte {exc.object[exc.start : exc.start + 1]!r} "
                f"at offset {exc.start})"
            ) from None
        except OSError as exc:
            raise ConfigError(f"configuration file {path} cannot be read: {exc.strerror}") from None

    @property
    def backend(self) -> str:
        backend: str = self.data["backend"]
        return backend

    def section(self, name: str) -> dict[str, Any]:
        section: dict[str, Any] = self.data[name]
        return section

    @property
    def retention(self) -> RetentionPolicy:
        """The `[retention]` policy, its rules validated (errors name the rule)."""
        from pyevents.retention import RetentionPolicy

        return RetentionPolicy.from_section(self.section("retention"))

    def masked(self) -> dict[str, Any]:
        masked: dict[str, Any] = mask_secrets(self.data)
        return masked

    def __repr__(self) -> str:
        return f"Config(source={self.source!r}, data={self.masked()!r})"

    __str__ = __repr__


register_section(
    "limits",
    {
        "max_payload_size": Key(
            int, "largest accepted payload, in bytes of compact JSON", default=DEFAULT_MAX_PAYLOAD_SIZE, minimum=1
        ),
    },
)
