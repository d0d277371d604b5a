"""The shared ledger: an RFC 9162 transparency log of declaration events,
signed checkpoints, witnesses and selective disclosure."""

from clearway.ledger.events import Disclosure, DisclosureBundle, Event, encode_leaf, verify_bundle
from clearway.ledger.keys import LedgerKeys, load_or_create_keys
from clearway.ledger.merkle import (
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from clearway.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier
from clearway.ledger.witness import SplitView, Witness, WitnessRefusal, find_split_view, published

__all__ = [
    "Checkpoint",
    "CompactRange",
    "Disclosure",
    "DisclosureBundle",
    "Event",
    "LedgerKeys",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "SplitView",
    "Witness",
    "WitnessRefusal",
    "consistency_proof",
    "encode_leaf",
    "find_split_view",
    "inclusion_proof",
    "leaf_hash",
    "load_or_create_keys",
    "published",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
]
