"""Client-side encryption of event payloads (AES-256-GCM), configured in `[security.encryption]`.

This module only reads the configuration; the cipher lives in `pyevents.encryption.store`,
which needs the optional `cryptography` package (`pip install 'pyevents[encryption]'`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from pyevents.config import Config
from pyevents.errors import ConfigError

if TYPE_CHECKING:
    from pyevents.encryption.store import Keyring
    from pyevents.store import EventStore


def key_text(config: Config) -> tuple[str, str] | None:
    """The configured key list and where it came from, or None when encryption is off."""
    section = config.section("security")["encryption"]
    if section["keys"]:
        return section["keys"], "security.encryption.keys"
    if not section["key_file"]:
        return None
    path = Path(section["key_file"])
    try:
        with path.open("r", encoding="utf-8") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            # Like ssh with private keys: a key others can read is a key already given away.
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"key file {path} is accessible to group or others (mode {stat.S_IMODE(mode):o}); "
                    f"run chmod 600 {path}"
                )
            return handle.read(), f"key file {path}"
    except FileNotFoundError:
        raise ConfigError(f"key file {path} (security.encryption.key_file) does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"key file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"key file {path} cannot be read: {exc.strerror}") from None


def load_keyring(config: Config) -> Keyring | None:
    """The configured keys, or None when encryption is off. Errors never show key material."""
    found = key_text(config)
    if found is None:
        return None
    try:
        from pyevents.encryption.store import Keyring
    except ImportError:
        raise ConfigError(
            "security.encryption needs the cryptography package: pip install 'pyevents[encryption]'"
        ) from None
    return Keyring.parse(*found)


def encrypting(store: EventStore, keyring: Keyring | None) -> EventStore:
    """The store itself without keys, else the store behind the encrypting layer."""
    if keyring is None:
        return store
    from pyevents.encryption.store import EncryptedEventStore

    return EncryptedEventStore(store, keyring)
