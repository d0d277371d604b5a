"""Settings: declared once, read from ``CLEARWAY_*`` at the edges, passed down.

The core never reads ``os.environ``; the CLI (and later the API) builds one
:class:`Settings` and hands its values to the functions it calls.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_workers"]


def default_workers() -> int:
    """Validation processes for bulk intake: one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


class Settings(BaseSettings):
    """Every setting clearway reads, with its default and what it is for."""

    model_config = SettingsConfigDict(env_prefix="CLEARWAY_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./clearway.db",
        description="SQLAlchemy URL of the store; PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    batch_size: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="Declarations validated and written per batch during intake.",
    )
    workers: int = Field(
        default_factory=default_workers,
        ge=0,
        le=64,
        description="Validation processes for bulk intake (0 validates in the calling process).",
    )
    max_record_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest accepted record (one JSON Lines line, one JSON document item).",
    )
    us_postal_duty_method: Literal["ad_valorem", "specific"] = Field(
        default="ad_valorem",
        description="The US postal operator's election for postal items: the origin's "
        "ad valorem rate, or (while it applies) the specific duty per item.",
    )
    ledger_origin: str = Field(
        default="customs.example/clearway",
        pattern=r"^[^\s+]+$",
        description="The log's origin line and key name: a schema-less URL naming this log.",
    )
    key_dir: str | None = Field(
        default=None,
        description="Folder (mode 0700) that holds the key files not named otherwise; default: "
        "$XDG_DATA_HOME/clearway/keys, else ~/.local/share/clearway/keys: outside any working "
        "tree, so a key is never committed with the code.",
    )
    ledger_key_file: str | None = Field(
        default=None,
        description="File with the log's signing key and commitment secret (created mode 0600 "
        "if absent; refused if others can read it); default: ledger-<origin>.key in key_dir.",
    )
    witness_name: str | None = Field(
        default=None,
        pattern=r"^[^\s+]+$",
        description="This node's name as a witness of other logs (a schema-less URL); "
        "default: the ledger origin followed by /witness.",
    )
    witness_key_file: str | None = Field(
        default=None,
        description="File with this node's cosigning key as a witness (created mode 0600 if "
        "absent; refused if others can read it); default: witness-<origin>.key in key_dir.",
    )
    secrets_key_file: str | None = Field(
        default=None,
        description="File with the AES-256 key that seals webhook and inbox secrets in the "
        "store (created mode 0600 if absent; refused if others can read it); default: "
        "secrets-<origin>.key in key_dir.",
    )
    screening_sdn_file: str | None = Field(
        default=None,
        description="OFAC SDN CSV screened against as an extra list, besides the lists "
        "imported with `clearway screening import` (alt.csv and add.csv beside it are read "
        "too); not stored and not rescreened on change: import it for that.",
    )
    screening_default_list: bool = Field(
        default=True,
        description="Screen against the OFAC SDN snapshot shipped with clearway while no "
        "list is imported and no screening_sdn_file is set.",
    )
    screening_max_list_age_days: int = Field(
        default=30,
        ge=1,
        description="`serve`, `ingest` and the workspace warn when the newest active "
        "screening list was published longer ago than this.",
    )
    screening_pending_days: int = Field(
        default=30,
        ge=1,
        description="A rescreen after a list import looks at declarations received this many "
        "days back that no officer released (parcels still in transit); older ones only with "
        "`clearway screening import --since/--until`.",
    )
    screening_threshold: float = Field(
        default=88.0,
        ge=50.0,
        le=100.0,
        description="Lowest match score (0-100) that is a screening hit.",
    )
    classifier_model_file: str = Field(
        default="./clearway-classifier.npz",
        description="HS classifier written by `clearway classifier train`; while the file is "
        "absent, the built-in knowledge (nomenclature and product words) is used.",
    )
    classifier_precedents_file: str = Field(
        default="./clearway-precedents.jsonl",
        description="Confirmed HS classifications (JSON lines) that the classifier learns "
        "from without retraining; appended when an officer confirms or corrects an item's "
        "code, rebuilt from the store by `clearway classifier precedents`.",
    )
    classifier_unsure_below: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A suggestion whose best heading is less probable than this is "
        "'unsure': shown, but the misclassification signal never flags it.",
    )
    risk_model_file: str = Field(
        default="./clearway-risk.json",
        description="Learned risk model written by `clearway risk train`.",
    )
    risk_rules_file: str | None = Field(
        default=None,
        description="Targeting rules YAML; the built-in rules when unset.",
    )
    risk_inspection_share: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Red-lane capacity as a share of each customs office's daily filings "
        "(its volume learned from recent days).",
    )
    risk_daily_capacity: int | None = Field(
        default=None,
        ge=0,
        description="Red-lane inspections per customs office (arrival office) per UTC day "
        "of filing; when set, it replaces the share of recent volume.",
    )
    risk_exploration_share: float = Field(
        default=0.10,
        ge=0.0,
        le=1.0,
        description="Share of the red-lane capacity given to random selection.",
    )
    api_key_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds an API key that passed is trusted without asking the store again "
        "(so a revoked key is refused at most this much later); 0 asks every time.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="Level of the JSON log lines `clearway serve` writes to stderr (info: one "
        "line per request and one per decided filing).",
    )
    intake_queue_limit: int = Field(
        default=20_000,
        ge=1,
        description="Filings the durable intake queue holds before submissions are refused "
        "with 429 and Retry-After.",
    )
    sequencer_tick_size: int = Field(
        default=256,
        ge=1,
        description="Most filings the sequencer decides in one tick (one transaction, one "
        "signed checkpoint).",
    )
    decision_wait_ms: int = Field(
        default=1000,
        ge=0,
        description="How long POST /api/declarations waits for the lanes before answering "
        "202 with a status URL.",
    )
    sharing_policy_file: str | None = Field(
        default=None,
        description="Data-sharing policy YAML (who may do and see what); the built-in one "
        "when unset.",
    )
    inbox_replay_window_s: int = Field(
        default=300,
        ge=1,
        le=86_400,
        description="How far a signed notification's timestamp may be from this node's clock "
        "for POST /api/inbox to accept it; older (replayed) ones answer 401.",
    )
    filed_at_max_past_days: int = Field(
        default=1825,
        ge=1,
        le=36_500,
        description="How many days before its receipt a filing's times (filed_at, "
        "expected_arrival) may lie; older ones are refused at intake. Five years: the "
        "longest customs record-keeping period.",
    )
    filed_at_max_future_minutes: int = Field(
        default=1440,
        ge=0,
        le=525_600,
        description="How many minutes after its receipt a filing's filed_at may lie (the "
        "filer's clock skew); later ones are refused at intake.",
    )
    expected_arrival_max_future_days: int = Field(
        default=180,
        ge=1,
        le=3660,
        description="How many days after its receipt a filing's expected_arrival may lie; "
        "later ones are refused at intake.",
    )
    max_json_document_bytes: int = Field(
        default=256 * 1_048_576,
        ge=1024,
        description="Largest plain JSON file read whole; use JSON Lines for bigger inputs.",
    )
    max_request_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Largest request body of every HTTP endpoint without its own limit "
        "(sign-in, witness, inbox, referrals...): a larger one is refused with 413 before "
        "it is read. POST /api/declarations takes up to max_json_document_bytes.",
    )
    max_rules_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest targeting rules text the rules page takes (its form, and any "
        "YAML a user supplies).",
    )
    sign_in_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins for one user name within sign_in_window_s before that "
        "name is locked out for sign_in_lockout_s.",
    )
    sign_in_max_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="Failed sign-ins from one client address within sign_in_window_s before "
        "that address is locked out for sign_in_lockout_s.",
    )
    sign_in_window_s: int = Field(
        default=900,
        ge=1,
        description="Seconds over which failed sign-ins are counted.",
    )
    sign_in_lockout_s: int = Field(
        default=900,
        ge=1,
        description="Seconds a locked-out user name or address is refused (429, Retry-After) "
        "without its password being checked.",
    )
    trust_forwarded_proto: bool = Field(
        default=False,
        description="Believe a reverse proxy's X-Forwarded-Proto ('https' makes the session "
        "cookie Secure) and X-Forwarded-For (the client address sign-in failures are "
        "counted under). Only behind a proxy that sets both.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="`clearway serve`: seconds a connection has to send a complete request "
        "line and headers (after connecting, or after its last answer) before it is closed.",
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request body may stop arriving before the request is refused "
        "with 408 and its connection closed.",
    )
    keep_alive_timeout_s: int = Field(
        default=5,
        ge=1,
        description="`clearway serve`: seconds an idle keep-alive connection stays open.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="`clearway serve`: connections and requests in progress per worker process "
        "before new requests are answered 503.",
    )
