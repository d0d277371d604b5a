"""Restricted-party lists as dated data: import, list, remove; several
lists at once; rescreening pending (and, on request, past) declarations
when a list changes; false-positive marks; the stale-list warning. The
lists are small files in OFAC's legacy CSV format written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from clearway.parties.lists import read_list, stale_warning
from clearway.settings import Settings
from clearway.store.decisions import decide
from clearway.store.parties import read_party_checks
from clearway.store.reading import get_declaration
from clearway.store.schema import ledger_entries, risk_decisions
from clearway.store.screening import read_alerts, stored_lists
from clearway.wiring import (
    import_screening_list,
    ingest_files,
    mark_screening_false_positive,
    stages_from_settings,
)
from tests import factories as f
from tests.test_cli import clearway

ZENIT = ("101", "ZENIT DUAL TRADE LLC", "-0-", "RUSSIA-EO14024")
KHAPSIROKOV = ("102", "KHAPSIROKOV, Murat Kazbekovich", "individual", "RUSSIA-EO14024")
VOLGOTRANS = ("103", "VOLGOTRANS KAMA HOLDING", "-0-", "RUSSIA-EO14024")
ORIENT = ("201", "ORIENT STAR PROCUREMENT CO", "-0-", "NS-ISA")


def write_ofac(
    folder: Path,
    rows: list[tuple[str, str, str, str]],
    *,
    prefix: str = "",
    aliases: tuple[tuple[str, str], ...] = (),
    countries: tuple[tuple[str, str], ...] = (),
) -> Path:
    """OFAC legacy CSV as published: Latin-1, no header, -0- for empty, a
    DOS end-of-file byte last."""
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / (f"{prefix}prim.csv" if prefix else "sdn.csv")
    lines = [
        f'{n},"{name}","{kind}","{program}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- '
        for n, name, kind, program in rows
    ]
    main.write_bytes(("\r\n".join(lines) + "\r\n\x1a").encode("latin-1"))
    alt = [f'{n},{k},"aka","{name}",-0- ' for k, (n, name) in enumerate(aliases, 1)]
    (folder / f"{prefix}alt.csv").write_bytes(("\r\n".join(alt) + "\r\n\x1a").encode("latin-1"))
    add = [f'{n},{k},-0- ,-0- ,"{c}",-0- ' for k, (n, c) in enumerate(countries, 1)]
    (folder / f"{prefix}add.csv").write_bytes(("\r\n".join(add) + "\r\n\x1a").encode("latin-1"))
    return main


def sdn_v1(folder: Path) -> Path:
    return write_ofac(
        folder,
        [ZENIT, KHAPSIROKOV],
        aliases=(("101", "ZENIT DUAL"),),
        countries=(("101", "Russia"), ("102", "Russia")),
    )


def settings_for(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(
        database_url=str(engine.url.render_as_string(hide_password=False)),
        key_dir=str(tmp_path / "keys"),
        risk_model_file=str(tmp_path / "no-model.json"),
        screening_max_list_age_days=100_000,
    )


def doc(seller: str, country: str = "RU", **overrides: object) -> dict:
    return f.declaration(seller={"name": seller, "country": country}, **overrides)


def ingest(engine: Engine, settings: Settings, tmp_path: Path, *docs: dict) -> None:
    path = tmp_path / f"in-{docs[0]['declaration_id']}.jsonl"
    path.write_bytes(f.jsonl(*docs))
    ingest_files(engine, [path], stages=stages_from_settings(settings, engine))


def decision(engine: Engine, ref: str) -> tuple[str, str, list[str]]:
    row = get_declaration(engine, ref).row_id
    with engine.connect() as conn:
        found = conn.execute(
            select(
                risk_decisions.c.lane, risk_decisions.c.selected_by, risk_decisions.c.reasons
            ).where(risk_decisions.c.declaration_id == row)
        ).one()
    return found.lane, found.selected_by, orjson.loads(found.reasons)


def hits(engine: Engine, ref: str) -> list[tuple[str, str, str]]:
    row = get_declaration(engine, ref).row_id
    return sorted(
        (h["role"], h["list_name"], h["entry_id"])
        for h in read_party_checks(engine, row)["screening"]
    )


def ledger_types(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [t for (t,) in conn.execute(select(ledger_entries.c.event_type))]


# -- files and formats ---------------------------------------------------------


def test_ofac_files_are_read_with_aliases_countries_and_orphans(tmp_path: Path) -> None:
    path = write_ofac(
        tmp_path,
        [ZENIT, KHAPSIROKOV],
        aliases=(("101", "ZENIT DUAL"), ("999", "NEWER ENTRY")),
        countries=(("101", "Russia"), ("999", "Iran")),
    )
    listed = read_list(path, "ofac-sdn", published=date(2026, 11, 30))
    assert (listed.name, listed.format, listed.published) == (
        "OFAC SDN",
        "ofac-sdn",
        date(2026, 11, 30),
    )
    zenit, person = listed.entries
    assert zenit.names == ("ZENIT DUAL TRADE LLC", "ZENIT DUAL")
    assert (zenit.kind, zenit.countries, person.kind) == ("entity", frozenset({"RU"}), "individual")
    assert listed.notes == ("aliases or addresses of 1 entries not in sdn.csv left out",)


def test_unknown_format_names_the_choices(tmp_path: Path) -> None:
    from clearway.errors import InputError

    with pytest.raises(
        InputError,
        match=r"format must be one of clearway-snapshot, ofac-consolidated, ofac-sdn\. "
        r"Got 'eu-fsf'",
    ):
        read_list(sdn_v1(tmp_path), "eu-fsf")


def test_cli_import_lists_and_removes(tmp_path: Path, sqlite_url: str) -> None:
    sdn = sdn_v1(tmp_path / "sdn")
    cons = write_ofac(tmp_path / "cons", [ORIENT], prefix="cons_", countries=(("201", "Iran"),))
    done = clearway(
        "screening", "import", str(sdn), "--published", "2026-11-28", cwd=tmp_path, url=sqlite_url
    )
    assert done.returncode == 0, done.stderr
    assert "imported OFAC SDN (published 2026-11-28): 2 entries, 2 new or changed" in done.stdout
    done = clearway(
        "screening",
        "import",
        str(cons),
        "--format",
        "ofac-consolidated",
        "--published",
        "2026-11-27",
        cwd=tmp_path,
        url=sqlite_url,
    )
    assert done.returncode == 0, done.stderr
    shown = clearway("screening", "lists", cwd=tmp_path, url=sqlite_url)
    rows = [line for line in shown.stdout.splitlines() if "OFAC" in line]
    assert len(rows) == 2
    assert "OFAC Consolidated" in rows[0]
    assert "2026-11-27" in rows[0]
    assert " 1 " in rows[0]
    assert "OFAC SDN" in rows[1]
    assert "2026-11-28" in rows[1]
    assert " 2 " in rows[1]
    # Both lists are screened against, and each hit names its list and entry.
    one = clearway(
        "screen", "Orient Star Procurement", "--country", "IR", cwd=tmp_path, url=sqlite_url
    )
    assert one.returncode == 2
    assert "OFAC Consolidated 201" in one.stdout
    two = clearway("screen", "Zenit Dual Trade", cwd=tmp_path, url=sqlite_url)
    assert two.returncode == 2
    assert "OFAC SDN 101" in two.stdout
    gone = clearway("screening", "remove", "OFAC SDN", cwd=tmp_path, url=sqlite_url)
    assert gone.returncode == 0
    assert "removed OFAC SDN (2 entries)" in gone.stdout
    again = clearway("screen", "Zenit Dual Trade", cwd=tmp_path, url=sqlite_url)
    assert again.returncode == 0, "only the consolidated list is left"
    missing = clearway("screening", "remove", "OFAC SDN", cwd=tmp_path, url=sqlite_url)
    assert missing.returncode == 1
    assert "is not imported" in missing.stderr


def test_bundled_snapshot_is_active_until_a_list_is_imported(
    tmp_path: Path, sqlite_url: str
) -> None:
    shown = clearway("screening", "lists", cwd=tmp_path, url=sqlite_url)
    assert "2024-05-03" in shown.stdout
    assert "14,965" in shown.stdout
    assert "bundled" in shown.stdout
    cuba = clearway("screen", "Banco Nacional de Cuba", cwd=tmp_path, url=sqlite_url)
    assert cuba.returncode == 2
    assert "OFAC SDN 306" in cuba.stdout


def test_two_lists_both_hit_at_intake(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(engine, tmp_path)
    import_screening_list(engine, settings, read_list(sdn_v1(tmp_path / "a"), "ofac-sdn"))
    cons = write_ofac(tmp_path / "b", [ORIENT], prefix="cons_", countries=(("201", "Iran"),))
    import_screening_list(engine, settings, read_list(cons, "ofac-consolidated"))
    assert [s["name"] for s in stored_lists(engine)] == ["OFAC Consolidated", "OFAC SDN"]
    both = doc(
        "Zenit Dual Trade", consignee__name="Orient Star Procurement Co", consignee__country="IR"
    )
    clean = doc("Golden Star Trading Co", country="CN")
    ingest(engine, settings, tmp_path, both, clean)
    assert hits(engine, both["declaration_id"]) == [
        ("consignee", "OFAC Consolidated", "201"),
        ("seller", "OFAC SDN", "101"),
    ]
    assert decision(engine, both["declaration_id"])[0] == "red"
    assert hits(engine, clean["declaration_id"]) == []


# -- rescreening ---------------------------------------------------------------


def _rescreen_setup(engine: Engine, tmp_path: Path) -> tuple[Settings, dict, dict]:
    settings = settings_for(engine, tmp_path)
    import_screening_list(engine, settings, read_list(sdn_v1(tmp_path / "v1"), "ofac-sdn"))
    pending, released = doc("Volgotrans Kama Holding"), doc("Volgotrans Kama Holding")
    ingest(engine, settings, tmp_path, pending, released)
    assert decision(engine, pending["declaration_id"])[0] == "green"
    view = get_declaration(engine, released["declaration_id"])
    decide(engine, view, "release", "officer-1", "checked", datetime.now(UTC))
    return settings, pending, released


def _v2(tmp_path: Path) -> Path:
    return write_ofac(
        tmp_path / "v2",
        [ZENIT, KHAPSIROKOV, VOLGOTRANS],
        countries=(("101", "Russia"), ("102", "Russia"), ("103", "Russia")),
    )


def test_rescreen_raises_a_pending_declaration_and_leaves_a_released_one(
    engine: Engine, tmp_path: Path
) -> None:
    settings, pending, released = _rescreen_setup(engine, tmp_path)
    change, result = import_screening_list(engine, settings, read_list(_v2(tmp_path), "ofac-sdn"))
    # Zenit lost its alias: changed, like the new entry.
    assert sorted(e.entry_id for e in change.changed) == ["101", "103"]
    assert (result.screened, result.hits, result.raised) == (1, 1, 1)
    lane, selected_by, reasons = decision(engine, pending["declaration_id"])
    assert (lane, selected_by) == ("red", "rule")
    assert reasons[-1].startswith("lane raised from green to red: 2 entries of OFAC SDN")
    assert hits(engine, pending["declaration_id"]) == [("seller", "OFAC SDN", "103")]
    assert decision(engine, released["declaration_id"])[:2] == ("green", "officer")
    assert hits(engine, released["declaration_id"]) == []
    (alert,) = read_alerts(engine)
    assert (
        alert["ref"],
        alert["entry_id"],
        alert["lane_before"],
        alert["lane_after"],
        alert["released"],
    ) == (pending["declaration_id"], "103", "green", "red", False)
    types = ledger_types(engine)
    assert types.count("screening.hit") == 1
    assert types.count("risk.raised") == 1
    # The same version again changes nothing and finds nothing new.
    change, result = import_screening_list(engine, settings, read_list(_v2(tmp_path), "ofac-sdn"))
    assert (len(change.changed), result.hits) == (0, 0)


def test_rescreen_with_a_history_range_alerts_released_declarations(
    engine: Engine, tmp_path: Path
) -> None:
    settings, pending, released = _rescreen_setup(engine, tmp_path)
    _, result = import_screening_list(
        engine,
        settings,
        read_list(_v2(tmp_path), "ofac-sdn"),
        history=(date(2026, 11, 1), date(2026, 11, 3)),
    )
    assert (result.screened, result.hits, result.raised) == (2, 2, 1)
    # Released goods keep the officer's lane; the hit is recorded and alerted.
    assert decision(engine, released["declaration_id"])[:2] == ("green", "officer")
    assert hits(engine, released["declaration_id"]) == [("seller", "OFAC SDN", "103")]
    alerts = {a["ref"]: a for a in read_alerts(engine)}
    assert alerts[released["declaration_id"]]["released"] is True
    assert alerts[released["declaration_id"]]["lane_after"] == "green"
    assert decision(engine, pending["declaration_id"])[0] == "red"


# -- false positives -----------------------------------------------------------


def test_false_positive_mark_suppresses_exactly_that_party_entry_pair(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(engine, tmp_path)
    twin = ("105", "ZENIT DUAL TRADE COMPANY", "-0-", "SDGT")
    rows = [ZENIT, twin]
    where = (("101", "Russia"), ("101", "Kazakhstan"), ("105", "Russia"), ("105", "Kazakhstan"))
    import_screening_list(
        engine, settings, read_list(write_ofac(tmp_path / "v1", rows, countries=where), "ofac-sdn")
    )
    first = doc("Zenit Dual Trade LLC")
    ingest(engine, settings, tmp_path, first)
    assert hits(engine, first["declaration_id"]) == [
        ("seller", "OFAC SDN", "101"),
        ("seller", "OFAC SDN", "105"),
    ]
    mark = mark_screening_false_positive(
        engine,
        settings,
        declaration_row=get_declaration(engine, first["declaration_id"]).row_id,
        role="seller",
        list_name="OFAC SDN",
        entry_id="101",
        officer="officer-1",
        note="a different company, registry number checked",
    )
    assert mark["party_key"] == "DUAL ZENIT|RU"
    assert mark["marked_by"] == "officer-1"
    assert "screening.false_positive" in ledger_types(engine)
    # The same party (spelt differently) no longer hits 101, still hits 105;
    # another party (another country) still hits both.
    same, other = doc("ZENIT DUAL TRADE, LLC"), doc("Zenit Dual Trade LLC", country="KZ")
    ingest(engine, settings, tmp_path, same, other)
    assert hits(engine, same["declaration_id"]) == [("seller", "OFAC SDN", "105")]
    assert hits(engine, other["declaration_id"]) == [
        ("seller", "OFAC SDN", "101"),
        ("seller", "OFAC SDN", "105"),
    ]
    # Once entry 101 changes, the mark lapses.
    changed = [(*ZENIT[:3], "RUSSIA-EO14024] [CYBER2"), twin]
    import_screening_list(
        engine,
        settings,
        read_list(write_ofac(tmp_path / "v2", changed, countries=where), "ofac-sdn"),
    )
    later = doc("Zenit Dual Trade LLC")
    ingest(engine, settings, tmp_path, later)
    assert hits(engine, later["declaration_id"]) == [
        ("seller", "OFAC SDN", "101"),
        ("seller", "OFAC SDN", "105"),
    ]


# -- the stale-list warning ------------------------------------------------------


def test_stale_warning_names_the_list_and_the_limit() -> None:
    from clearway.parties.lists import ScreeningList

    old = ScreeningList("OFAC SDN", "x", "ofac-sdn", date(2026, 10, 1), ())
    today = date(2026, 12, 1)
    warning = stale_warning([old], 30, today)
    assert warning is not None
    assert warning.startswith(
        "the newest restricted-party list (OFAC SDN, published 2026-10-01) is 61 days old, "
        "over the limit of 30"
    )
    assert stale_warning([old], 61, today) is None
    fresh = ScreeningList("UK", "x", "ofac-sdn", date(2026, 11, 30), ())
    assert stale_warning([old, fresh], 30, today) is None


def test_ingest_warns_when_the_newest_list_is_older_than_the_limit(
    tmp_path: Path, sqlite_url: str
) -> None:
    published = (datetime.now(UTC).date() - timedelta(days=40)).isoformat()
    sdn = sdn_v1(tmp_path / "sdn")
    assert (
        clearway(
            "screening", "import", str(sdn), "--published", published, cwd=tmp_path, url=sqlite_url
        ).returncode
        == 0
    )
    path = tmp_path / "in.jsonl"
    path.write_bytes(f.jsonl(f.declaration()))
    warned = clearway("ingest", str(path), cwd=tmp_path, url=sqlite_url)
    assert "is 40 days old, over the limit of 30" in " ".join(warned.stderr.split())
    quiet = clearway(
        "ingest",
        str(path),
        cwd=tmp_path,
        url=sqlite_url,
        settings={"CLEARWAY_SCREENING_MAX_LIST_AGE_DAYS": "60"},
    )
    assert "days old" not in quiet.stderr


# -- snapshots -----------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            _text,
            st.lists(_text, max_size=3),
            st.sampled_from(["entity", "individual"]),
            st.frozensets(st.sampled_from(["RU", "IR", "CN"]), max_size=2),
        ),
        min_size=1,
        max_size=5,
    ),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
)
def test_a_snapshot_reads_back_what_was_written(rows: list, published: date) -> None:
    import tempfile

    from clearway.parties import ListedParty
    from clearway.parties.lists import ScreeningList, read_snapshot, write_snapshot

    entries = tuple(
        ListedParty(
            "OFAC SDN", str(n), name, kind, "P", tuple(dict.fromkeys([name, *aliases])), countries
        )
        for n, (name, aliases, kind, countries) in enumerate(rows)
    )
    listed = ScreeningList("OFAC SDN", "src", "ofac-sdn", published, entries)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.json.gz"
        write_snapshot(listed, path)
        back = read_snapshot(path)
    assert (back.name, back.source, back.published, back.entries) == (
        "OFAC SDN",
        "src",
        published,
        entries,
    )


@pytest.mark.parametrize("data", [b"", b"not gzip", b"\x1f\x8b\x08\x00garbage"])
def test_a_broken_snapshot_is_an_input_error(tmp_path: Path, data: bytes) -> None:
    import gzip

    from clearway.errors import InputError

    path = tmp_path / "s.json.gz"
    path.write_bytes(data)
    with pytest.raises(InputError, match="not a clearway screening snapshot"):
        read_list(path, "clearway-snapshot")
    path.write_bytes(gzip.compress(b'{"format": "other/1", "entries": []}'))
    with pytest.raises(InputError, match="format must be 'clearway-screening-snapshot/1'"):
        read_list(path, "clearway-snapshot")


def test_the_sdn_file_setting_is_one_more_list(tmp_path: Path, sqlite_url: str) -> None:
    extra = write_ofac(tmp_path / "file", [ORIENT], countries=(("201", "Iran"),))
    sdn = sdn_v1(tmp_path / "sdn")
    assert clearway("screening", "import", str(sdn), cwd=tmp_path, url=sqlite_url).returncode == 0
    env = {"CLEARWAY_SCREENING_SDN_FILE": str(extra)}
    shown = clearway("screening", "lists", cwd=tmp_path, url=sqlite_url, settings=env)
    assert [line.split()[1:3] for line in shown.stdout.splitlines() if "OFAC SDN" in line] == [
        ["OFAC", "SDN"],
        ["OFAC", "SDN"],
    ]
    assert "OFAC SDN file" in shown.stdout
    found = clearway(
        "screen",
        "Orient Star Procurement",
        "--country",
        "IR",
        cwd=tmp_path,
        url=sqlite_url,
        settings=env,
    )
    assert found.returncode == 2
    assert "OFAC SDN file 201" in found.stdout
    assert (
        clearway(
            "screen", "Zenit Dual Trade", cwd=tmp_path, url=sqlite_url, settings=env
        ).returncode
        == 2
    )


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_as_an_ofac_file_give_a_list_or_a_clear_error(data: bytes, beside: bool) -> None:
    import tempfile

    from clearway.errors import ClearwayError

    with tempfile.TemporaryDirectory() as folder:
        main = Path(folder) / "sdn.csv"
        main.write_bytes(data)
        if beside:
            (Path(folder) / "alt.csv").write_bytes(data)
            (Path(folder) / "add.csv").write_bytes(data)
        try:
            outcome = (
                f"{len(read_list(main, 'ofac-sdn', published=date(2026, 1, 1)).entries)} entries"
            )
        except ClearwayError as error:
            outcome = error.message
    assert outcome.endswith(" entries") or outcome.startswith(str(main)), outcome


def test_simulate_draws_restricted_names_from_the_active_lists(
    tmp_path: Path, sqlite_url: str
) -> None:
    import csv

    sdn = sdn_v1(tmp_path / "sdn")
    assert clearway("screening", "import", str(sdn), cwd=tmp_path, url=sqlite_url).returncode == 0
    done = clearway(
        "simulate",
        "--out",
        "s.jsonl",
        "--truth",
        "t.csv",
        "--days",
        "2",
        "--per-day",
        "2000",
        cwd=tmp_path,
        url=sqlite_url,
    )
    assert done.returncode == 0, done.stderr
    with (tmp_path / "t.csv").open() as stream:
        named = [
            part.removeprefix("seller ")
            for row in csv.DictReader(stream)
            if "restricted_party" in row["violations"]
            for part in row["detail"].split("; ")
            if part.startswith("seller ")
        ]
    assert len(named) >= 5
    words = {n.upper().replace(",", "").replace(".", "") for n in named}
    assert all({"ZENIT", "DUAL"} <= set(w.split()) or "KHAPSIROKOV" in w for w in words), words
    assert len(words) >= 3, "written in several ways"
