"""The public API is what __all__ says, pinned here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "clearway": [
        "ClearwayError",
        "ConfigurationError",
        "ErrorDetail",
        "InputError",
        "NotFound",
        "Settings",
        "StoreError",
        "ValidationFailed",
        "__version__",
    ],
    "clearway.declarations": [
        "Address",
        "Consignee",
        "Declaration",
        "Filer",
        "FilerRole",
        "Filing",
        "Gap",
        "Incoterm",
        "Item",
        "Marketplace",
        "MasterFiling",
        "PreparedBatch",
        "Quality",
        "Rejection",
        "Seller",
        "Totals",
        "Transport",
        "TransportMode",
        "assess_quality",
        "is_vague",
        "prepare_batch",
        "validate_record",
    ],
    "clearway.store": [
        "WriteResult",
        "normalise_url",
        "open_engine",
        "upgrade",
        "write_batch",
        "writing",
    ],
    "clearway.duty": [
        "Assessment",
        "AssessmentLine",
        "DutyBook",
        "DutyInput",
        "DutyResult",
        "Regime",
        "Rule",
        "assess",
        "duty_input",
        "load_book",
    ],
    "clearway.ledger": [
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
    ],
    "clearway.parties": [
        "ListedParty",
        "Routing",
        "ScreeningFormat",
        "ScreeningHit",
        "ScreeningIndex",
        "ScreeningList",
        "bundled_list",
        "entry_digest",
        "index_of",
        "list_formats",
        "load_sdn",
        "normalise_name",
        "party_key",
        "read_list",
        "route",
        "scan",
    ],
    "clearway.simulate": [
        "VIOLATIONS",
        "SimulationConfig",
        "TruthRow",
        "simulate",
        "truth_outcome",
        "write_simulation",
    ],
    "clearway.accounts": ["MIN_LENGTH", "check_password", "hash_password", "new_password"],
    "clearway.classification": ["HSClassifier", "Suggestions"],
    "clearway.risk": ["FeatureSpec", "RiskModel", "ranking_report"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exports(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name)
