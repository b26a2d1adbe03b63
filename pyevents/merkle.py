"""Merkle trees in the style of RFC 6962 (Certificate Transparency), as a checker that needs
nothing but the standard library, and no database.

A tree's leaves are hashes: `leaf_hash(data)` is SHA-256 over 0x00 and the data (for an event,
its checksum), an inner node SHA-256 over 0x01 and its two children. A tree of n leaves splits
at the largest power of two below n, so a tree only ever grows on its right: an earlier tree
is a prefix of a later one, and a consistency proof shows it.

    root = tree_root(leaves)
    proof = inclusion_proof(leaves, index)
    verify_inclusion(leaves[index], index, len(leaves), proof, root)        # True
    verify_consistency(m, len(leaves), tree_root(leaves[:m]), root, consistency_proof(leaves, m))

Verification follows RFC 9162, sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The size of a tree's left subtree: the largest power of two below `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """The root of the tree over these leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    # Bottom-up, level by level: pairing from the left and carrying an odd last node up
    # unchanged gives the same tree as splitting at the largest power of two.
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def extend(frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The frontier of a tree of `size` leaves (the roots of its perfect subtrees, largest first:
    one per set bit of `size`) after appending `leaves`, as pyevents.merkle_append() computes it:
    a tree grows without its earlier leaves."""
    grown = list(frontier)
    for leaf in leaves:
        node, carry = leaf, size
        while carry & 1:
            node = node_hash(grown.pop(), node)
            carry >>= 1
        grown.append(node)
        size += 1
    return grown


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree a frontier describes: its subtrees joined from the right."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index`: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    return _path(leaves, 0, len(leaves), index)


def _path(leaves: Sequence[bytes], start: int, end: int, index: int) -> list[bytes]:
    size = end - start
    if size == 1:
        return []
    k = split(size)
    if index < k:
        return [*_path(leaves, start, start + k, index), tree_root(leaves[start + k : end])]
    return [*_path(leaves, start + k, end, index - k), tree_root(leaves[start : start + k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The hashes that prove the tree of the first `old_size` leaves is a prefix of this one."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"a tree of {old_size} leaves is not a prefix of a tree of {len(leaves)}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(leaves, 0, len(leaves), old_size, complete=True)


def _subproof(leaves: Sequence[bytes], start: int, end: int, old_size: int, *, complete: bool) -> list[bytes]:
    size = end - start
    if old_size == size:
        return [] if complete else [tree_root(leaves[start:end])]
    k = split(size)
    if old_size <= k:
        return [*_subproof(leaves, start, start + k, old_size, complete=complete), tree_root(leaves[start + k : end])]
    return [
        *_subproof(leaves, start + k, end, old_size - k, complete=False),
        tree_root(leaves[start : start + k]),
    ]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with `root`."""
    if not 0 <= index < size:
        return False
    node, last = index, size - 1
    digest = leaf
    for sibling in proof:
        if last == 0:
            return False
        if node & 1 or node == last:
            digest = node_hash(sibling, digest)
            while not node & 1 and node != 0:
                node, last = node >> 1, last >> 1
        else:
            digest = node_hash(digest, sibling)
        node, last = node >> 1, last >> 1
    return last == 0 and digest == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old tree is a node of the new one
        path.insert(0, old_root)
    if not path:
        return False
    node, last = old_size - 1, new_size - 1
    while node & 1:
        node, last = node >> 1, last >> 1
    old_digest = new_digest = path[0]
    for step in path[1:]:
        if last == 0:
            return False
        if node & 1 or node == last:
            old_digest = node_hash(step, old_digest)
            new_digest = node_hash(step, new_digest)
            while not node & 1 and node != 0:
                node, last = node >> 1, last >> 1
        else:
            new_digest = node_hash(new_digest, step)
        node, last = node >> 1, last >> 1
    return last == 0 and old_digest == old_root and new_digest == new_root
