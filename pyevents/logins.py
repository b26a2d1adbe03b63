"""Who runs pyevents: the OS login a backend without logins of its own records as `appended_by`."""

from __future__ import annotations

import getpass


def os_login() -> str | None:
    """The OS login of this process (getpass: $LOGNAME, $USER... first, then the password
    database), None when there is none. Anyone who can set the environment or write a store's
    files can claim any name, so it records who ran pyevents, not a checked identity."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None
