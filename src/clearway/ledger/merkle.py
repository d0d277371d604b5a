"""The Merkle tree of RFC 9162, section 2.1, and its proofs.

Hashes are SHA-256 with the 0x00 prefix for leaves and 0x01 for interior
nodes (§2.1.1); a tree of n leaves splits at the largest power of two
smaller than n, and no node is duplicated. Proofs are built from any source
of *perfect subtree* hashes, ``node(level, index)`` being the root of leaves
``[index * 2**level, (index + 1) * 2**level)``, so storage can keep those
(in tiles) and never hold the whole tree in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "reference_root",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
NodeSource = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify (RFC 9162 §2.1.3.2 / §2.1.4.2 fail)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def reference_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of §2.1.1, computed naively from all leaf hashes (tests, small trees)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH of leaves [start, end), a subtree as RFC 9162 forms them (start is
    a multiple of the largest power of two <= end - start)."""
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = _split(n)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """PATH(index, D[size]) of §2.1.3.1."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} must be below the tree size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, node))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old: int, new: int, node: NodeSource) -> list[bytes]:
    """PROOF(old, D[new]) of §2.1.4.1, i.e. SUBPROOF(old, D[new], true)."""
    if not 0 < old <= new:
        raise ProofError(f"a consistency proof needs 0 < old <= new. Got {old} and {new}")
    # Each step of the recursion appends one subtree hash after the result of
    # the deeper call: collect them outermost first and reverse at the end.
    outer: list[bytes] = []
    start, end, m, whole = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            outer.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            outer.append(subtree_hash(start, start + k, node))
            m -= k
            start += k
            whole = False
    head = [] if whole else [subtree_hash(start, end, node)]
    return head + outer[::-1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """§2.1.3.2: raise ProofError unless ``leaf`` (a leaf hash) is at
    ``index`` of the tree of ``size`` with ``root``."""
    if index >= size:
        raise ProofError(f"index {index} is not below tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """§2.1.4.2: raise ProofError unless the tree of ``new`` leaves with
    ``new_root`` extends the tree of ``old`` leaves with ``old_root``."""
    if old > new:
        raise ProofError(f"old size {old} is larger than new size {new}")
    if old == new:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("same size, different roots")
        return
    if old == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:  # old is an exact power of two
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


@dataclass(slots=True)
class CompactRange:
    """The right edge of a tree: the roots of its perfect subtrees, largest
    first. Appending is O(log n) and needs no other node."""

    size: int = 0
    peaks: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return every perfect node completed as
        (level, index, hash), the leaf itself first."""
        made = [(0, self.size, leaf)]
        self.peaks.append(leaf)
        level, count = 0, self.size + 1
        while count & 1 == 0:
            right = self.peaks.pop()
            left = self.peaks.pop()
            merged = node_hash(left, right)
            self.peaks.append(merged)
            level += 1
            count >>= 1
            made.append((level, (self.size + 1 >> level) - 1, merged))
        self.size += 1
        return made

    def extend(self, leaves: Sequence[bytes], every: int = 8) -> list[tuple[int, int, bytes]]:
        """Add many leaf hashes; return the perfect nodes completed at levels
        that are positive multiples of ``every`` (the levels tiles store),
        as (level, index, hash). The same tree as ``append``, faster."""
        made: list[tuple[int, int, bytes]] = []
        peaks = self.peaks
        size = self.size
        sha256 = hashlib.sha256
        for leaf in leaves:
            peaks.append(leaf)
            size += 1
            count, level = size, 0
            while not count & 1:
                right = peaks.pop()
                merged = sha256(b"\x01" + peaks.pop() + right).digest()
                peaks.append(merged)
                level += 1
                count >>= 1
                if level % every == 0:
                    made.append((level, count - 1, merged))
        self.size = size
        return made

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        r = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            r = node_hash(peak, r)
        return r

    @classmethod
    def at(cls, size: int, node: NodeSource) -> CompactRange:
        """The right edge of the tree of ``size`` leaves, read from ``node``."""
        peaks = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                peaks.append(node(level, start >> level))
                start += 1 << level
        return cls(size, peaks)
