"""The database schema, as SQLAlchemy Core tables, one module per domain;
every table is importable from here."""

from __future__ import annotations

from clearway.store.schema.base import Id, metadata
from clearway.store.schema.checks import (
    agency_findings,
    agency_routings,
    hs_confirmations,
    inspection_outcomes,
    item_classifications,
    product_flags,
    rescored_declarations,
    risk_decisions,
    screening_hits,
)
from clearway.store.schema.clearance import intake_queue, sequencer_ticks
from clearway.store.schema.duty import (
    duty_assessments,
    duty_lines,
)
from clearway.store.schema.federation import (
    api_keys,
    inbound_events,
    inbound_senders,
    operator_tier_history,
    operators,
    participants,
    referrals,
    webhook_deliveries,
    webhook_subscriptions,
)
from clearway.store.schema.filings import (
    declaration_items,
    declarations,
    master_filings,
    master_houses,
)
from clearway.store.schema.ledger import (
    ledger_checkpoints,
    ledger_cosignatures,
    ledger_entries,
    ledger_tiles,
    witnessed_logs,
)
from clearway.store.schema.parties import (
    declaration_parties,
    party_entities,
    party_identifiers,
)
from clearway.store.schema.screening import (
    screening_alerts,
    screening_entries,
    screening_false_positives,
    screening_lists,
)
from clearway.store.schema.workspace import (
    officer_decisions,
    sign_in_attempts,
    trend_days,
    web_sessions,
    web_users,
)

__all__ = [
    "Id",
    "agency_findings",
    "agency_routings",
    "api_keys",
    "declaration_items",
    "declaration_parties",
    "declarations",
    "duty_assessments",
    "duty_lines",
    "hs_confirmations",
    "inbound_events",
    "inbound_senders",
    "inspection_outcomes",
    "intake_queue",
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
    "screening_alerts",
    "screening_entries",
    "screening_false_positives",
    "screening_hits",
    "screening_lists",
    "sequencer_ticks",
    "sign_in_attempts",
    "trend_days",
    "web_sessions",
    "web_users",
    "webhook_deliveries",
    "webhook_subscriptions",
    "witnessed_logs",
]
