"""Streams work over a small page-reading and checkpoint interface, not a store's insides."""

from __future__ import annotations

import ast
from pathlib import Path

import pyevents.streams


def test_streams_import_no_store_and_call_nothing_private() -> None:
    tree = ast.parse(Path(pyevents.streams.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith(("pyevents.store", "pyevents.backends"))}
    private_calls = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private_calls == []
