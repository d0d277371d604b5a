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

__all__ = ["declaration_report", "officer_report"]


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


def officer_report(
    engine: Engine,
    ref: str,
    filer_id: str | None = None,
    rule_reasons: dict[str, str] | None = None,
) -> tuple[DeclarationView, dict[str, Any]]:
    """The declaration report with what an officer also needs on one page:
    the duty assessment line by line (with ``rule_reasons``, the duty book's
    reason for each rule), referrals, officers' decisions and the
    declaration's events on the ledger."""
    from dataclasses import asdict

    from clearway.errors import NotFound
    from clearway.store.decisions import read_decisions
    from clearway.store.duty import read_assessment
    from clearway.store.ledger_reading import declaration_events
    from clearway.store.referrals import list_referrals

    decl, report = declaration_report(engine, ref, filer_id)
    try:
        assessment, _ = read_assessment(engine, decl.row_id, rule_reasons)
        report["duty"] = asdict(assessment)
    except NotFound:
        report["duty"] = None
    report["referrals"] = list_referrals(engine, declaration_row_id=decl.row_id)
    report["decisions"] = read_decisions(engine, decl.row_id)
    report["ledger"] = declaration_events(engine, decl.row_id)
    report["parties"] = read_parties(engine, decl.row_id, linked=10)
    return decl, report
