"""The `[file]` configuration section of the file backend."""

from __future__ import annotations

from pyevents.config import Key, register_section

FSYNC_MODES = ("always", "batch", "never")
COMPRESSIONS = ("gzip", "none")

register_section(
    "file",
    {
        "data_directory": Key(str, "where segments and the index live", default=".pyevents"),
        "fsync": Key(
            str,
            "fsync per append, per group of concurrent appends (group commit), or never",
            default="always",
            choices=FSYNC_MODES,
        ),
        "rotation": {
            "max_size": Key(int, "start a new segment after this many bytes", default=67_108_864, minimum=1),
            "max_files": Key(
                int,
                "keep at most this many segments: retention removes the oldest beyond it (0: no limit)",
                default=0,
                minimum=0,
            ),
            "compression": Key(str, "how closed segments are stored", default="gzip", choices=COMPRESSIONS),
        },
        "indexing": {
            "enabled": Key(bool, "SQLite index for fast queries (rebuildable from the segments)", default=True),
            "max_memory_size": Key(int, "bytes of index and block cache kept in memory", default=67_108_864, minimum=0),
        },
    },
)
