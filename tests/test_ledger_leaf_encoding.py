"""The leaf encoding's fast loop gives the bytes of the format as documented
(SD-JWT disclosures, HMAC-derived salts), written here the plain way."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from clearway.ledger.events import Disclosure, Event, encode_leaf, field_digests


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _reference_leaf(event: Event, secret: bytes, owner: int | None) -> bytes:
    """Leaf version 2 as LEDGER.md and the module describe it, one object per step."""
    digests = []
    for name, value in event.fields.items():
        mac = hmac.new(secret, f"salt\x00{event.event_id}\x00{name}".encode(), hashlib.sha256)
        salt = _b64(mac.digest()[:16])
        disclosure = _b64(orjson.dumps([salt, name, value], option=orjson.OPT_SORT_KEYS))
        digests.append(_b64(hashlib.sha256(disclosure.encode()).digest()))
    owned = "" if owner is None else str(owner)
    tag = hmac.new(secret, f"id\x00{event.event_id}\x00{owned}".encode(), hashlib.sha256)
    ref = hmac.new(secret, f"ref\x00{event.subject}".encode(), hashlib.sha256)
    return orjson.dumps(
        {
            "v": 2,
            "id": tag.hexdigest(),
            "type": event.type,
            "time": event.time,
            "actors": list(event.actors),
            "ref": ref.hexdigest(),
            "sd": sorted(digests),
        },
        option=orjson.OPT_SORT_KEYS,
    )


_EVENT = Event(
    "declaration.filed:F1/R1:v1",
    "declaration.filed",
    "2026-01-02T03:04:05+00:00",
    ("F1",),
    "F1/R1",
    {
        "totals": {"value": "12.50", "currency": "EUR"},
        "items": [{"b": 1, "a": "é"}],
        "note": None,
        "z": 1.5,
    },
)


def test_leaf_bytes_are_those_of_the_object_per_field_encoder() -> None:
    # Pinned from the encoder before the fast loop (commit bfc0ae5): stored
    # leaves must verify with the code that now writes them.
    leaf = encode_leaf(_EVENT, b"k" * 32, 7)
    assert hashlib.sha256(leaf).hexdigest() == (
        "8ac961fa46f2ca61b70ab60bac5f1d2e8fa6a1dda7f4841fef9b9d0a1456112c"
    )
    assert leaf == _reference_leaf(_EVENT, b"k" * 32, 7)
    disclosure = Disclosure.make(b"k" * 32, _EVENT.event_id, "totals", _EVENT.fields["totals"])
    assert disclosure.text == (
        "WyJ0TXVGVFc5OW1IOHlWWXVLSXg5RlZRIiwidG90YWxzIix7ImN1cnJlbmN5IjoiRVVSIiwidmFsdWUiOiIxMi41MCJ9XQ"
    )
    assert disclosure.digest in orjson.loads(leaf)["sd"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    event_id=st.text(max_size=40),
    subject=st.text(max_size=20),
    fields=st.dictionaries(st.text(max_size=10), _JSON, max_size=8),
    secret=st.binary(min_size=0, max_size=100),
    owner=st.none() | st.integers(0, 2**40),
)
def test_fast_leaf_equals_reference_on_any_event(
    event_id: str, subject: str, fields: dict[str, Any], secret: bytes, owner: int | None
) -> None:
    event = Event(event_id, "t", "2026-01-01T00:00:00+00:00", ("a", "b"), subject, fields)
    assert encode_leaf(event, secret, owner) == _reference_leaf(event, secret, owner)
    expected = sorted(Disclosure.make(secret, event_id, n, v).digest for n, v in fields.items())
    assert field_digests(secret, event_id, fields) == expected


def test_filing_events_from_decoded_documents_equal_those_decoded_here() -> None:
    from datetime import UTC, datetime

    from clearway.ledger.recording import filing_events

    rows = [
        {
            "version": version,
            "filer_id": "F1",
            "ref": f"R{version}",
            "received_at": datetime(2026, 1, 2, tzinfo=UTC),
            "document": orjson.dumps({"b": [1, 2], "a": {"x": "é"}, "v": version}).decode(),
        }
        for version in (1, 2)
    ]
    decoded = [orjson.loads(row["document"]) for row in rows]
    assert filing_events("declaration", rows, decoded) == filing_events("declaration", rows)
    assert [e.event_id for e in filing_events("declaration", rows)] == [
        "declaration.filed:F1/R1:v1",
        "declaration.amended:F1/R2:v2",
    ]
