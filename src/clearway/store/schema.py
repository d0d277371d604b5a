"""The database schema, as SQLAlchemy Core tables.

Filings are versioned: every accepted content of a ``(filer_id, ref)`` is a
row, the newest has ``current`` true, and a partial unique index keeps one
current row per key even under concurrent writers. Analytic columns are
copied out of the document for queries; the document (canonical JSON) is the
record and keeps exact decimal values.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

__all__ = [
    "agency_findings",
    "agency_routings",
    "api_keys",
    "declaration_items",
    "declaration_parties",
    "declarations",
    "duty_assessments",
    "duty_lines",
    "inbound_events",
    "inbound_senders",
    "inspection_outcomes",
    "item_classifications",
    "ledger_checkpoints",
    "ledger_cosignatures",
    "ledger_entries",
    "ledger_tiles",
    "master_filings",
    "master_houses",
    "metadata",
    "officer_decisions",
    "operator_tier_history",
    "operators",
    "participants",
    "party_entities",
    "party_identifiers",
    "product_flags",
    "referrals",
    "rescored_declarations",
    "risk_decisions",
    "screening_hits",
    "trend_days",
    "web_sessions",
    "web_users",
    "webhook_deliveries",
    "webhook_subscriptions",
    "witnessed_logs",
]

metadata = MetaData()

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (auto-assigned).
Id = BigInteger().with_variant(Integer, "sqlite")

declarations = Table(
    "declarations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), nullable=False),
    Column("ref", String(128), nullable=False, comment="declaration_id, unique per filer"),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("filed_at", DateTime(timezone=True)),
    Column("destination_country", String(2), nullable=False),
    Column("filer_role", String(16), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("tracking_number", String(128)),
    Column("master_ref", String(128)),
    Column("departure_country", String(2), nullable=False),
    Column("arrival_office", String(128)),
    Column("expected_arrival", DateTime(timezone=True)),
    Column("seller_name", String(512)),
    Column("seller_country", String(2)),
    Column("marketplace_name", String(512)),
    Column("consignee_name", String(512)),
    Column("consignee_country", String(2), nullable=False),
    Column("total_value", Float, nullable=False),
    Column("total_currency", String(3), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("dq_score", Float, nullable=False),
    Column("dq_gaps", Text, nullable=False),
    Column("document", Text, nullable=False),
    Column("seller_ioss", String(12)),
    Column("duty_paid_at_sale", Boolean, nullable=False, server_default=text("false")),
    Column("collected_at_sale", Float, comment="VAT and duty the filer reports as collected"),
    Index("ux_declarations_version", "filer_id", "ref", "version", unique=True),
    Index(
        "ux_declarations_current",
        "filer_id",
        "ref",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
    Index("ix_declarations_ref", "ref"),
    Index("ix_declarations_master_ref", "master_ref"),
    Index("ix_declarations_tracking_number", "tracking_number"),
    Index("ix_declarations_received_at", "received_at"),
    Index("ix_declarations_filed_at", "filed_at"),
)

declaration_items = Table(
    "declaration_items",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("description", String(512), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_value", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("hs_code", String(10)),
    Column("gtin", String(14)),
    Column("sku", String(128)),
    Column("mpn", String(128)),
    Column("brand", String(128)),
    Column("origin_country", String(2)),
    Column("net_weight_kg", Float),
    Column("vague_description", Boolean, nullable=False),
    # A product's latest lines are read down these (the catalogue check).
    Index("ix_declaration_items_gtin", "gtin", "declaration_id"),
    Index("ix_declaration_items_sku", "sku", "declaration_id"),
)

master_filings = Table(
    "master_filings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), nullable=False),
    Column("ref", String(128), nullable=False, comment="master_ref: MAWB, B/L or receptacle id"),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("filed_at", DateTime(timezone=True)),
    Column("destination_country", String(2), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("carrier_name", String(512)),
    Column("departure_country", String(2), nullable=False),
    Column("arrival_office", String(128)),
    Column("expected_arrival", DateTime(timezone=True)),
    Column("house_count", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Index("ux_master_filings_version", "filer_id", "ref", "version", unique=True),
    Index(
        "ux_master_filings_current",
        "filer_id",
        "ref",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
    Index("ix_master_filings_ref", "ref"),
)

master_houses = Table(
    "master_houses",
    metadata,
    Column("master_id", Id, ForeignKey("master_filings.id"), primary_key=True),
    Column("house_ref", String(128), primary_key=True, comment="house tracking number"),
    Index("ix_master_houses_house_ref", "house_ref"),
)

duty_assessments = Table(
    "duty_assessments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("reason", String(512), nullable=False, comment="filed, or why it was reassessed"),
    Column("assessed_at", DateTime(timezone=True), nullable=False),
    Column("regime", String(64)),
    Column("currency", String(3)),
    Column("value", Float, nullable=False),
    Column("duty", Float, nullable=False),
    Column("vat", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("due_at_sale", Float, nullable=False),
    Column("collected", Float),
    Column("shortfall", Float),
    Column("problem", String(256)),
    Index("ix_duty_assessments_declaration", "declaration_id"),
    Index(
        "ux_duty_assessments_current",
        "declaration_id",
        unique=True,
        sqlite_where=text("current"),
        postgresql_where=text("current"),
    ),
)

duty_lines = Table(
    "duty_lines",
    metadata,
    Column("assessment_id", Id, ForeignKey("duty_assessments.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("item_line", Integer, comment="declaration item, or null for the consignment"),
    Column("base", Float, nullable=False),
    Column("rate", Float, nullable=False),
    Column("amount", Float, nullable=False),
)

# The ledger (RFC 9162 tree in C2SP-style tiles): entries in sequence, tiles
# of 256 hashes at tree levels 0, 8, 16..., and every signed checkpoint.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(40), nullable=False),
    Column("declaration_id", Id, ForeignKey("declarations.id")),
    Column("leaf", LargeBinary, nullable=False),
    Index("ix_ledger_entries_declaration", "declaration_id"),
)

ledger_tiles = Table(
    "ledger_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False, comment="up to 256 hashes of 32 bytes"),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

ledger_cosignatures = Table(
    "ledger_cosignatures",
    metadata,
    Column(
        "size",
        BigInteger,
        ForeignKey("ledger_checkpoints.size"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
)

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

participants = Table(
    "participants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("filer_id", String(128), comment="the filer id it files under (filers)"),
    Column("agency", String(128), comment="the agency it speaks for (partner agencies)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("participant_id", Id, ForeignKey("participants.id"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True, comment="public part of the key"),
    Column("key_hash", String(64), nullable=False, comment="SHA-256 of the secret part"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("kind", String(8), nullable=False, comment="rfi, rfs, dnl or hold"),
    Column("state", String(12), nullable=False),
    Column("addressed_to", String(128), nullable=False, comment="filer id that must answer"),
    Column("requested_by", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("response", Text),
    Column("resolution", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_referrals_addressed", "addressed_to", "state"),
    Index("ix_referrals_due", "state", "due_at"),
)

operators = Table(
    "operators",
    metadata,
    Column("filer_id", String(128), primary_key=True),
    Column("name", String(200), nullable=False),
    Column(
        "kind", String(32), nullable=False, comment="marketplace, seller, carrier, post, broker"
    ),
    Column("tier", String(32), nullable=False),
    Column("tier_since", DateTime(timezone=True), nullable=False),
)

operator_tier_history = Table(
    "operator_tier_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("filer_id", String(128), ForeignKey("operators.filer_id"), nullable=False),
    Column("previous", String(32), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("measures", Text, nullable=False, comment="JSON: the measures behind the change"),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_operator_tier_history_filer", "filer_id"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("participant_id", Id, ForeignKey("participants.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(128), nullable=False, comment="HMAC key shared with the receiver"),
    Column("events", String(500), nullable=False, comment="comma-separated event type prefixes"),
    Column("cursor", BigInteger, nullable=False, comment="ledger index already scanned"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subscription_id", Id, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_id", String(200), nullable=False, comment="also the idempotency key"),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Index("ux_webhook_deliveries_event", "subscription_id", "event_id", unique=True),
    Index("ix_webhook_deliveries_due", "delivered_at", "next_attempt_at"),
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

# This node as a witness of other nodes' logs (tlog-witness): the latest
# checkpoint it cosigned per log, advanced by compare-and-set on the size.
witnessed_logs = Table(
    "witnessed_logs",
    metadata,
    Column("origin", String(255), primary_key=True),
    Column("vkey", Text, nullable=False, comment="the log's signed-note verifier key"),
    Column("size", BigInteger, nullable=False),
    Column("note", Text, comment="the latest checkpoint cosigned"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# This node as a subscriber to other nodes' webhooks: who may send, with
# which shared secret, and what arrived (once per idempotency key).
inbound_senders = Table(
    "inbound_senders",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sender", String(128), ForeignKey("inbound_senders.name"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ux_inbound_events_key", "sender", "idempotency_key", unique=True),
)

# The officer workspace: people who sign in (officers and analysts), their
# sessions (only a hash of the cookie's token is kept), and every decision
# an officer takes on a declaration (the audit trail, also on the ledger).
web_users = Table(
    "web_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("name", String(256), nullable=False),
    Column("role", String(32), nullable=False, comment="customs_officer or customs_analyst"),
    Column("password_hash", String(256), nullable=False, comment="scrypt$n$r$p$salt$hash"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("web_users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

officer_decisions = Table(
    "officer_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id"), nullable=False),
    Column("officer", String(64), nullable=False),
    Column(
        "action", String(32), nullable=False, comment="release, inspect, hold, rfi, outcome:<what>"
    ),
    Column("previous_lane", String(8)),
    Column("lane", String(8)),
    Column("note", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_officer_decisions_declaration", "declaration_id"),
)

# Daily counts per dimension (origin, marketplace, carrier, chapter, lane,
# seller, route, consignee, duty per currency, hits per selector), added as
# batches are written: the trends read these, not the declarations.
trend_days = Table(
    "trend_days",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("key", String(512), primary_key=True),
    Column("declarations", Float, nullable=False, comment="or item lines, or inspections"),
    Column("value", Float, nullable=False),
    Column("duty", Float, nullable=False),
    Column("vat", Float, nullable=False),
    Column("total", Float, nullable=False),
    Column("due_at_sale", Float, nullable=False),
    Column("shortfall", Float, nullable=False),
    Column("score", Float, nullable=False, comment="sum of risk scores"),
    Column("red", Float, nullable=False, comment="red or black lanes, or hits"),
    Index("ix_trend_days_dimension", "dimension", "day"),
)

# Resolved parties: stable entities for sellers and consignees, the strong
# identifiers known for each, and which entity each declaration names.
party_entities = Table(
    "party_entities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("role", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("block", String(160), nullable=False, comment="matching block: country and more"),
    Column("name", String(512), nullable=False),
    Column("street", String(512), nullable=False),
    Index("ix_party_entities_block", "block"),
)

party_identifiers = Table(
    "party_identifiers",
    metadata,
    Column("role", String(16), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", String(300), primary_key=True),
    Column("entity_id", Id, ForeignKey("party_entities.id"), nullable=False),
    Index("ix_party_identifiers_value", "value"),
)

declaration_parties = Table(
    "declaration_parties",
    metadata,
    Column("declaration_id", Id, ForeignKey("declarations.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("entity_id", Id, ForeignKey("party_entities.id"), nullable=False),
    Column("evidence", String(512), nullable=False),
    Index("ix_declaration_parties_entity", "entity_id"),
    Index("ix_declaration_parties_entity_role", "entity_id", "role", "declaration_id"),
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
