"""pyevents.merkle against the published RFC 6962 test vectors (Certificate Transparency), and
every proof of every small tree: each verifies, and any change to it is rejected."""

from __future__ import annotations

import pytest

from pyevents.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    extend,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    split,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTOR_DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
VECTOR_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
LEAVES = [leaf_hash(bytes.fromhex(data)) for data in VECTOR_DATA]
MANY = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(40)]


def flipped(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 1]) + digest[1:]


def test_the_published_roots() -> None:
    assert EMPTY_ROOT.hex() == VECTOR_ROOTS[0]
    for size in range(len(LEAVES) + 1):
        assert tree_root(LEAVES[:size]).hex() == VECTOR_ROOTS[size], size


def test_the_published_proofs() -> None:
    root = tree_root(LEAVES)
    for (index, size), expected in VECTOR_INCLUSION.items():
        proof = inclusion_proof(LEAVES[:size], index)
        assert [step.hex() for step in proof] == expected
        assert verify_inclusion(LEAVES[index], index, size, proof, root)
    for (old, new), expected in VECTOR_CONSISTENCY.items():
        proof = consistency_proof(LEAVES[:new], old)
        assert [step.hex() for step in proof] == expected
        assert verify_consistency(old, new, tree_root(LEAVES[:old]), tree_root(LEAVES[:new]), proof)


def test_the_split_is_the_largest_power_of_two_below() -> None:
    assert [split(n) for n in (2, 3, 4, 5, 8, 9, 1000)] == [1, 2, 2, 4, 4, 8, 512]
    assert tree_root(MANY[:3]) == node_hash(node_hash(MANY[0], MANY[1]), MANY[2])


@pytest.mark.parametrize("step", [1, 3, 7])
def test_a_frontier_grows_to_the_root_of_every_prefix(step: int) -> None:
    frontier: list[bytes] = []
    assert frontier_root(frontier) == EMPTY_ROOT
    for size in range(0, len(MANY), step):
        frontier = extend(frontier, size, MANY[size : size + step])
        grown = min(size + step, len(MANY))
        assert len(frontier) == grown.bit_count()  # one perfect subtree per set bit
        assert frontier_root(frontier) == tree_root(MANY[:grown]), grown
    assert frontier_root(extend([], 0, LEAVES)).hex() == VECTOR_ROOTS[len(LEAVES)]


@pytest.mark.parametrize("size", range(1, len(MANY) + 1))
def test_every_inclusion_proof_verifies_and_no_altered_one_does(size: int) -> None:
    leaves = MANY[:size]
    root = tree_root(leaves)
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(leaves[index], index, size, proof, root)
        assert not verify_inclusion(flipped(leaves[index]), index, size, proof, root)
        assert not verify_inclusion(leaves[index], index, size, proof, flipped(root))
        if size > 1:
            assert not verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
            assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
            assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)
            for step in range(len(proof)):
                altered = [*proof[:step], flipped(proof[step]), *proof[step + 1 :]]
                assert not verify_inclusion(leaves[index], index, size, altered, root)


@pytest.mark.parametrize("new", range(1, 25))
def test_every_consistency_proof_verifies_and_no_altered_one_does(new: int) -> None:
    new_root = tree_root(MANY[:new])
    for old in range(0, new + 1):
        old_root = tree_root(MANY[:old])
        proof = consistency_proof(MANY[:new], old)
        assert verify_consistency(old, new, old_root, new_root, proof), (old, new)
        if old > 0:  # the empty tree is a prefix of every tree
            assert not verify_consistency(old, new, old_root, flipped(new_root), proof)
        if 0 < old < new:
            assert not verify_consistency(old, new, flipped(old_root), new_root, proof)
            for step in range(len(proof)):
                altered = [*proof[:step], flipped(proof[step]), *proof[step + 1 :]]
                assert not verify_consistency(old, new, old_root, new_root, altered)
    # A history that rewrote an early leaf does not extend the old one.
    if new > 1:
        rewritten = [flipped(MANY[0]), *MANY[1:new]]
        assert not verify_consistency(1, new, MANY[0], tree_root(rewritten), consistency_proof(rewritten, 1))


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="leaf index 3 is outside a tree of 3 leaves"):
        inclusion_proof(MANY[:3], 3)
    with pytest.raises(ValueError, match="a tree of 4 leaves is not a prefix of a tree of 3"):
        consistency_proof(MANY[:3], 4)
    assert not verify_consistency(4, 3, EMPTY_ROOT, EMPTY_ROOT, [])
