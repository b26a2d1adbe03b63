"""The `[retention]` configuration section (the policy model is in pyevents.retention). Only
the configuration loader imports this module, so the section's place in the key list is fixed."""

from __future__ import annotations

from pyevents.config import Key, register_section
from pyevents.retention import POLICIES

register_section(
    "retention",
    {
        "default_policy": Key(
            str, "what retention removes; infinite: nothing, ever", default="infinite", choices=POLICIES
        ),
        "time_policy": {"retain_days": Key(int, "time: events older than this many days go", default=90, minimum=1)},
        "count_policy": {
            "retain_events": Key(int, "count: all but the newest this many events go", default=1_000_000, minimum=1)
        },
        "custom_policy": {
            "rules": Key(
                list,
                "custom: rules, the first match decides; keep = true is a legal hold under every policy",
                default=[],
            )
        },
        "rewrite_segments": Key(
            bool, "files: rewrite partly expired segments (else they stay until fully expired)", default=False
        ),
    },
)
