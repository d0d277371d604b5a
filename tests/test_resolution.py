"""Party resolution: spellings of one party resolve to one entity, different
parties do not, with the evidence kept; consignees make split shipments visible."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz
from sqlalchemy import Engine

from clearway.parties.resolution import NAME_SIMILARITY, PartyRecord, Resolver, party_records
from clearway.parties.screening import normalise_name
from clearway.store.reading import get_declaration
from clearway.store.resolution import read_parties
from clearway.wiring import ingest_files
from tests import factories as f
from tests.test_cli import clearway


def seller(name: str, **extra: object) -> dict:
    return {"name": name, "country": "CN", **extra}


def entities(engine: Engine, doc: dict) -> dict[str, tuple[int, str]]:
    row_id = get_declaration(engine, doc["declaration_id"]).row_id
    return {p["role"]: (p["entity_id"], p["evidence"]) for p in read_parties(engine, row_id)}


def test_records_of_a_declaration() -> None:
    doc = f.declaration()
    s, c = party_records(doc)
    assert (s.role, s.block) == ("seller", "CN:SHENZHEN")
    assert ("seller_id", "mkt-1:MS1234567") in s.identifiers
    assert (c.role, c.block) == ("consignee", "DE:10115")
    assert ("email", "a" * 64) in c.identifiers


def test_resolver_matches_spellings_not_other_parties() -> None:
    resolver = Resolver()
    first = PartyRecord(
        "seller", "Shenzhen Bright Electronics Co., Ltd", "CN", "CN:SHENZHEN", "", ()
    )
    resolver.learn(1, first)
    same = PartyRecord("seller", "SHENZHEN BRIGHT ELECTRONICS CO LTD", "CN", "CN:SHENZHEN", "", ())
    other = PartyRecord("seller", "Shenzhen Lucky Toys Co Ltd", "CN", "CN:SHENZHEN", "", ())
    matched = resolver.match(same)
    assert matched is not None
    assert matched[0] == 1
    assert "like 'Shenzhen Bright Electronics Co., Ltd'" in matched[1]
    assert resolver.match(other) is None


def test_two_spellings_of_one_seller_are_one_entity(engine: Engine, tmp_path: Path) -> None:
    a = f.declaration(seller=seller("Shenzhen Bright Electronics Co., Ltd"))
    b = f.declaration(seller=seller("SHENZHEN BRIGHT ELECTRONICS CO LTD"))
    c = f.declaration(seller=seller("Shenzhen Lucky Toys Co Ltd"))
    d = f.declaration(seller=seller("Totally Different Name", tax_id="CN9100000001"))
    e = f.declaration(seller=seller("Another Name Entirely", tax_id="CN9100000001"))
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(a, b))
    ingest_files(engine, [path])
    path.write_bytes(f.jsonl(c, d, e))
    ingest_files(engine, [path])
    ea, eb, ec = (entities(engine, x)["seller"] for x in (a, b, c))
    assert ea[0] == eb[0]
    assert ea[1] == "new entity"
    assert "name 100% like" in eb[1]
    assert ec[0] != ea[0]
    ed, ee = entities(engine, d)["seller"], entities(engine, e)["seller"]
    assert ed[0] == ee[0]
    assert ee[1] == "same tax id"


def test_split_shipment_parcels_share_a_consignee_entity(engine: Engine, tmp_path: Path) -> None:
    address = {"street": "Hauptstrasse 1", "city": "Berlin", "postcode": "10115", "country": "DE"}
    parcels = [
        f.declaration(consignee={"name": name, "address": address, "country": "DE"})
        for name in ("Anna Schmidt", "Anna Schmidt", "ANNA SCHMIDT")
    ]
    neighbour = f.declaration(
        consignee={
            "name": "Anna Schmidt",
            "country": "DE",
            "address": {**address, "street": "Lindenweg 99"},
        }
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(*parcels, neighbour))
    ingest_files(engine, [path])
    ids = {entities(engine, p)["consignee"][0] for p in parcels}
    assert len(ids) == 1
    assert entities(engine, neighbour)["consignee"][0] not in ids


def test_show_names_the_entities(tmp_path: Path, sqlite_url: str) -> None:
    doc = f.declaration()
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(doc))
    assert clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url).returncode == 0
    shown = clearway("show", doc["declaration_id"], cwd=tmp_path, url=sqlite_url)
    assert "seller: entity" in shown.stdout
    assert "consignee: entity" in shown.stdout


def _reference_match(
    known: list[tuple[str, str, int, str, str]],
    identifiers: dict[tuple[str, str, str], int],
    record: PartyRecord,
) -> tuple[int, str] | None:
    """The straightforward resolver: every candidate of the block normalised
    and compared with token_sort_ratio, as clearway did before it indexed."""
    for kind, value in record.identifiers:
        if (record.role, kind, value) in identifiers:
            return identifiers[(record.role, kind, value)], f"same {kind.replace('_', ' ')}"
    name = " ".join(sorted(normalise_name(record.name)))
    if not name:
        return None
    best: tuple[float, int, str] | None = None
    for role, block, entity, other, street in known:
        if (role, block) != (record.role, record.block):
            continue
        score = fuzz.token_sort_ratio(name, " ".join(sorted(normalise_name(other))))
        if score < NAME_SIMILARITY:
            continue
        if record.street and street and fuzz.token_sort_ratio(record.street, street) < 85:
            continue
        if best is None or score > best[0]:
            where = "postcode" if record.role == "consignee" else "country"
            best = (score, entity, f"name {score:.0f}% like {other!r}, same {where}")
    return (best[1], best[2]) if best else None


_WORDS = st.sampled_from(["bright", "brite", "star", "stars", "shenzhen", "co", "ltd", "tech", "a"])
_RECORDS = st.builds(
    lambda role, words, block, street, ids: PartyRecord(
        role, " ".join(words), "CN", f"CN:{block}", street, tuple(ids)
    ),
    st.sampled_from(["seller", "consignee"]),
    st.lists(_WORDS, min_size=0, max_size=4),
    st.sampled_from(["A", "B"]),
    st.sampled_from(["", "1 main st", "1 main street", "9 high rd"]),
    st.lists(
        st.tuples(st.sampled_from(["tax_id", "email"]), st.sampled_from(["1", "2", "3"])),
        max_size=2,
    ),
)


@given(records=st.lists(_RECORDS, max_size=30))
def test_indexed_resolver_matches_the_straightforward_one(records: list[PartyRecord]) -> None:
    resolver = Resolver()
    known: list[tuple[str, str, int, str, str]] = []
    identifiers: dict[tuple[str, str, str], int] = {}
    for number, record in enumerate(records):
        expected = _reference_match(known, identifiers, record)
        assert resolver.match(record) == expected
        entity = expected[0] if expected else number + 1000
        resolver.learn(entity, record)
        for kind, value in record.identifiers:
            identifiers.setdefault((record.role, kind, value), entity)
        if record.name and (record.role, record.block, entity, record.name) not in {
            (r, b, e, n) for r, b, e, n, _ in known
        }:
            known.append((record.role, record.block, entity, record.name, record.street))
