"""Everything known about one declaration, gathered for display: what
``clearway show`` prints and what the API and workspace serve."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from clearway.store.catalogue import read_product_flags
from clearway.store.classification import read_item_classifications
from clearway.store.parties import read_findings, read_party_checks
from clearway.store.reading import DeclarationView, get_declaration
from clearway.store.resolution import read_parties
from clearway.store.risk import read_risk_decision

__all__ = ["declaration_report"]


def declaration_report(
    engine: Engine, ref: str, filer_id: str | None = None
) -> tuple[DeclarationView, dict[str, Any]]:
    """The current version of a declaration and, as plain JSON-ready data,
    its quality, filing links, risk decision (lane, score, reasons), HS
    suggestions, screening hits, routings, product flags and resolved
    parties."""
    decl = get_declaration(engine, ref, filer_id)
    report: dict[str, Any] = {
        "declaration": decl.document,
        "version": decl.version,
        "versions": [
            {"version": v["version"], "received_at": str(v["received_at"])} for v in decl.versions
        ],
        "data_quality": {"score": decl.dq_score, "gaps": decl.dq_gaps},
        "filing": {
            "complete": decl.link.complete,
            "master_ref": decl.link.master_ref,
            "missing": list(decl.link.missing),
        },
        "classification": [
            {k: v for k, v in row.items() if k != "declaration_id"}
            for row in read_item_classifications(engine, decl.row_id)
        ],
    }
    report.update(read_party_checks(engine, decl.row_id))
    report["products"] = read_product_flags(engine, decl.row_id)
    report["parties"] = read_parties(engine, decl.row_id)
    report["risk"] = read_risk_decision(engine, decl.row_id)
    report["findings"] = read_findings(engine, decl.row_id)
    return decl, report
