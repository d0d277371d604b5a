"""What intake and officers found on a declaration: screening hits, agency
routings and findings, product flags, HS suggestions, risk decisions,
inspection outcomes, and re-scored history."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from clearway.store.schema.base import Id, metadata

__all__ = [
    "agency_findings",
    "agency_routings",
    "inspection_outcomes",
    "item_classifications",
    "product_flags",
    "rescored_declarations",
    "risk_decisions",
    "screening_hits",
]

screening_hits = Table(
    "screening_hits",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("role", String(16), nullable=False, comment="seller or consignee"),
    Column("list_name", String(64), nullable=False),
    Column("entry_id", String(64), nullable=False),
    Column("listed_name", String(512), nullable=False),
    Column("matched_name", String(512), nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", String(512), nullable=False),
    Index("ix_screening_hits_declaration", "declaration_id"),
)

agency_routings = Table(
    "agency_routings",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("agency", String(128), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("item_lines", String(512), nullable=False, comment="comma-separated item lines"),
    Column("hs_codes", String(512), nullable=False),
    Index("ix_agency_routings_declaration", "declaration_id"),
    Index("ix_agency_routings_agency", "agency"),
)

product_flags = Table(
    "product_flags",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("item_line", Integer, nullable=False),
    Column("kind", String(32), nullable=False, comment="hs_conflict or price_outlier"),
    Column("product", String(300), nullable=False, comment="gtin:... or sku:seller:..."),
    Column("detail", String(512), nullable=False),
    Column("evidence", Text, nullable=False, comment="JSON list of the other filings"),
    Index("ix_product_flags_declaration", "declaration_id"),
)

item_classifications = Table(
    "item_classifications",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("item_line", Integer, nullable=False),
    Column("declared_hs", String(10), nullable=False),
    Column("suggested_hs", String(6), nullable=False),
    Column("suggested_confidence", Float, nullable=False),
    Column("declared_heading_confidence", Float, nullable=False),
    Column("declared_heading_rank", Integer, nullable=False),
    Column("declared_subheading_rank", Integer, nullable=False, comment="within its heading"),
    Column("score", Float, nullable=False, comment="misclassification score, 0..1"),
    Column("flagged", Boolean, nullable=False),
    Column("suggestions", Text, nullable=False, comment="JSON: top-5 hs with confidence"),
    Index("ix_item_classifications_declaration", "declaration_id"),
)

# Item codes an officer confirmed or corrected, or an inspection found
# correct: the classifier's precedents (audited; each one on the ledger).
hs_confirmations = Table(
    "hs_confirmations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("item_line", Integer, nullable=False),
    Column("action", String(16), nullable=False, comment="confirm, correct or inspection"),
    Column("declared_hs", String(10), comment="the item's code as filed, if any"),
    Column("hs", String(10), nullable=False, comment="the code confirmed"),
    Column("text", String(1024), nullable=False, comment="what the classifier learns from"),
    Column("officer", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
    Index("ix_hs_confirmations_declaration", "declaration_id"),
)

risk_decisions = Table(
    "risk_decisions",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column("score", Float, nullable=False, comment="composite of rules and model, 0..1"),
    Column("lane", String(8), nullable=False, comment="green, yellow, red or black"),
    Column("selected_by", String(16), nullable=False, comment="rule, score, exploration, ..."),
    Column("rules", Text, nullable=False, comment="JSON: ids of the rules that fired"),
    Column("reasons", Text, nullable=False, comment="JSON: reasons in words"),
    Column("rules_version", Integer, nullable=False),
    Column("model", String(64), nullable=False, comment="trained_at of the model, or empty"),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column(
        "features",
        Text,
        comment="JSON: the risk features the lane was decided on (the sequencer's state)",
    ),
    # Copied from the declaration so that the targeting queue filters and
    # sorts on this table alone (a page reads 50 declarations, not the lane).
    Column("current", Boolean, nullable=False, server_default=text("true")),
    Column("origin", String(2)),
    Column("office", String(128)),
    Column("marketplace", String(512)),
    Column("carrier", String(512)),
    Column("filed_at", DateTime(timezone=True)),
    Column("value", Float),
    Column("currency", String(3)),
    Index("ix_risk_decisions_lane", "lane"),
    Index("ix_risk_decisions_lane_score", "lane", "score"),
)

inspection_outcomes = Table(
    "inspection_outcomes",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column(
        "outcome",
        String(16),
        nullable=False,
        comment="seized, duty_corrected, data_corrected or cleared",
    ),
    Column("reason", String(512), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_inspection_outcomes_outcome", "outcome"),
)

agency_findings = Table(
    "agency_findings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("agency", String(128), nullable=False),
    Column("finding", String(16), nullable=False, comment="admissible, refused or sampled"),
    Column("note", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_agency_findings_declaration", "declaration_id"),
)

# What `clearway history rescore` said of each current declaration, the last
# time its filing day was re-scored (a day is replaced as a whole).
rescored_declarations = Table(
    "rescored_declarations",
    metadata,
    Column("filer_id", String(128), primary_key=True),
    Column("ref", String(128), primary_key=True),
    Column("day", Date, nullable=False, comment="filing day (UTC) it was scored with"),
    Column("score", Float, nullable=False),
    Column("lane", String(8), nullable=False),
    Column("selected_by", String(16), nullable=False),
    Column("rules", Text, nullable=False, comment="JSON list of the rules that fired"),
    Column("reasons", Text, nullable=False, comment="JSON list of reasons in words"),
    Column("rules_version", Integer, nullable=False),
    Column("model", String(64), nullable=False),
    Column("rescored_at", DateTime(timezone=True), nullable=False),
    Index("ix_rescored_declarations_day", "day"),
)
