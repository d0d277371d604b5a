"""The event loop never waits on the store, the sequencer or scrypt: a
real server process (`clearway serve` on 127.0.0.1 over a SQLite store)
answers /api/health in milliseconds while it takes in a list of 2,000
declarations, while 16 sign-ins hash passwords at once, and while all of
that and a backtest from the rules page run together. A full intake
queue refuses a list whole (429, Retry-After, the one error shape) and drains
once the sequencer runs, and a
filer never reads a lane, a score or the risk decision."""

from __future__ import annotations

import ast
import fcntl
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from sqlalchemy import func, select

from clearway.simulate import SimulationConfig, simulate
from clearway.store import open_engine
from clearway.store.participants import add_participant
from clearway.store.schema import declarations, intake_queue
from clearway.web.accounts import add_user

FILER = "mkt-loop"
OFFICER, PASSWORD = "olga", "the right password"
# /api/health is answered on the event loop itself, so its latency shows
# the loop. Held by work on it (16 sign-ins hashing on the loop: median
# 0.65 s), most probes wait: the median and the 90th percentile say so. A
# single probe also waits out a full garbage collection or a starved
# scheduler (0.53 s seen on a 2-core machine at load 8, the loop free), so
# the worst one only has to come back within a second. One call holding
# the loop for less is what the source check below finds.
MEDIAN_S, P90_S, WORST_S = 0.050, 0.200, 1.0
HIDDEN = {"lane", "lanes", "score", "risk"}
_SERVE = "from clearway.cli import main; main()"


@dataclass(frozen=True)
class Server:
    port: int
    database_url: str
    filer_key: str
    officer_key: str

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a new connection: status, headers (lower-case
        names; a repeated one's values a line each), body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            named: dict[str, str] = {}
            for name, value in answer.getheaders():
                # Several Set-Cookie headers: one a line.
                seen = named.get(name.lower())
                named[name.lower()] = value if seen is None else f"{seen}\n{value}"
            return answer.status, named, answer.read()
        finally:
            conn.close()

    def call(self, key: str, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        status, _, raw = self.request(method, path, body, headers)
        return status, orjson.loads(raw)

    def sign_in_form(self) -> tuple[str, str]:
        """A sign-in form's token and the cookie it is checked against."""
        status, headers, raw = self.request("GET", "/signin")
        assert status == 200
        cookie = headers["set-cookie"].split(";")[0]
        token = re.search(r'name="csrf" value="([^"]+)"', raw.decode())
        assert token is not None
        assert cookie.startswith("clearway_signin=")
        return token.group(1), cookie

    def sign_in(self, username: str, password: str) -> tuple[int, dict[str, str]]:
        """POST /signin with a fresh form: the status and headers."""
        token, cookie = self.sign_in_form()
        form = {"username": username, "password": password, "csrf": token}
        status, headers, _ = self.request(
            "POST",
            "/signin",
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        return status, headers

    def health(self) -> float:
        """Seconds for one /api/health, asked as a liveness probe asks."""
        start = time.perf_counter()
        status, _, raw = self.request("GET", "/api/health")
        elapsed = time.perf_counter() - start
        assert (status, orjson.loads(raw)["ok"]) == (200, True)
        return elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(folder: Path, *, workers: int = 1, **settings: str) -> Iterator[Server]:
    """`clearway serve` (``workers`` processes) over a new SQLite store in
    ``folder``, with a marketplace, an officer's API key and a workspace
    officer; ``settings`` by name, without the CLEARWAY_ prefix."""
    url = f"sqlite:///{folder / 'clearway.db'}"
    engine = open_engine(url)
    filer = add_participant(engine, "Loop Market", "marketplace", filer_id=FILER)
    officer = add_participant(engine, "Customs", "customs_officer")
    add_user(engine, OFFICER, "Olga", "customs_officer", datetime.now(UTC), password=PASSWORD)
    engine.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    env["CLEARWAY_DATABASE_URL"] = url
    env.update({f"CLEARWAY_{name.upper()}": value for name, value in settings.items()})
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "serve", "--port", str(port), "--workers", str(workers)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, url, filer.key, officer.key)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                server.health()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


@cache
def _houses(count: int) -> list[dict[str, Any]]:
    """``count`` simulated house filings, all re-filed under FILER."""
    houses = []
    for filing, truth in simulate(SimulationConfig(days=1, per_day=count, seed=5)):
        if truth is None:
            continue  # a master filing: carriers file those
        filing["filer"]["id"] = FILER
        houses.append(filing)
    assert len(houses) >= count
    return houses[:count]


def _submitted(server: Server, documents: list[dict[str, Any]]) -> dict[str, Any]:
    status, reply = server.call(
        server.filer_key, "POST", "/api/declarations", orjson.dumps(documents)
    )
    assert (status, reply["accepted"], reply["decided"]) == (200, len(documents), True), reply
    return dict(reply)


def _responsive(probes: list[float]) -> None:
    ordered = sorted(probes)
    assert statistics.median(ordered) < MEDIAN_S, ordered
    assert statistics.quantiles(ordered, n=10)[-1] < P90_S, ordered
    assert ordered[-1] < WORST_S, ordered


def _probing(server: Server, busy: list[threading.Thread]) -> list[float]:
    """Start ``busy`` and probe /api/health until every one has finished."""
    for thread in busy:
        thread.start()
    probes = []
    while any(thread.is_alive() for thread in busy):
        probes.append(server.health())
        time.sleep(0.02)
    for thread in busy:
        thread.join()
    return probes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Submissions wait for their lanes: a list is in flight until decided.
    # The sign-in tests here fail on purpose many times from one address:
    # the lockout (tests/test_hardening_server.py) is kept out of the way.
    with _serving(
        tmp_path_factory.mktemp("loop"),
        decision_wait_ms="300000",
        sign_in_max_failures="1000",
        sign_in_max_failures_per_address="1000",
    ) as running:
        # The first tick loads the classifier and screening list: done
        # before anything is measured.
        _submitted(running, _houses(2004)[-1:])
        yield running


def test_health_answers_while_2000_declarations_are_taken_in(server: Server) -> None:
    body = orjson.dumps(_houses(2004)[:2000])
    replies: list[tuple[int, Any]] = []
    submit = threading.Thread(
        target=lambda: replies.append(
            server.call(server.filer_key, "POST", "/api/declarations", body)
        )
    )
    probes = _probing(server, [submit])
    ((status, reply),) = replies
    assert (status, reply["accepted"], reply["rejected"], reply["decided"]) == (200, 2000, 0, True)
    assert {d["status"] for d in reply["declarations"]} == {"assessed"}
    # Parsing, validation, the queue and 2,000 decisions take seconds.
    assert len(probes) >= 10, probes
    _responsive(probes)


def _bad_sign_ins(server: Server, answers: list[tuple[int, str]]) -> list[threading.Thread]:
    """16 clients signing in 4 times each with a wrong password."""

    def sign_in(attempt: int) -> None:
        # Half a known account with a wrong password, half unknown: both hash.
        username = OFFICER if attempt % 2 else f"nobody-{attempt}"
        for _ in range(4):
            status, headers = server.sign_in(username, "not the password")
            answers.append((status, headers["location"]))

    return [threading.Thread(target=sign_in, args=(n,)) for n in range(16)]


def test_health_answers_while_16_sign_ins_hash_passwords(server: Server) -> None:
    answers: list[tuple[int, str]] = []
    probes = _probing(server, _bad_sign_ins(server, answers))
    assert answers == [(303, "/signin?next=%2Fqueue&failed=true")] * 64
    assert len(probes) >= 5, probes
    _responsive(probes)
    status, headers = server.sign_in(OFFICER, PASSWORD)
    assert (status, headers["location"]) == (303, "/queue")
    assert _cookie(headers, "clearway_session").startswith("clearway_session=")


def _cookie(headers: dict[str, str], name: str) -> str:
    """``name=value`` of the cookie ``name`` set in ``headers``."""
    (found,) = [c for c in headers["set-cookie"].splitlines() if c.startswith(f"{name}=")]
    return found.split(";")[0]


def _officer_session(server: Server) -> tuple[str, str]:
    """A workspace session cookie of the officer and its CSRF token."""
    status, headers = server.sign_in(OFFICER, PASSWORD)
    assert status == 303
    cookie = _cookie(headers, "clearway_session")
    status, _, page = server.request("GET", "/rules", headers={"Cookie": cookie})
    assert status == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode())
    assert csrf is not None
    return cookie, csrf.group(1)


def _backtest(server: Server, cookie: str, csrf: str, answers: list[str]) -> None:
    """Backtest the built-in rules from the rules page; the page's answer."""
    from importlib import resources

    rules = resources.files("clearway.risk").joinpath("data/rules.yaml").read_text()
    form = {"csrf": csrf, "rules": rules, "action": "backtest"}
    status, _, page = server.request(
        "POST",
        "/rules",
        urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    assert status == 200
    answers.append(page.decode())


def test_health_answers_while_sign_ins_a_big_list_and_a_backtest_run_at_once(
    server: Server,
) -> None:
    """The outside review's three stalls together: 16 bad sign-ins, a list
    of 2,000 declarations and a backtest over the stored history."""
    cookie, csrf = _officer_session(server)
    # The same filings under new numbers: new declarations to take in.
    again = [{**d, "declaration_id": f"{d['declaration_id']}-X"} for d in _houses(2004)[:2000]]
    body = orjson.dumps(again)
    signed: list[tuple[int, str]] = []
    replies: list[tuple[int, Any]] = []
    pages: list[str] = []
    busy = [
        *_bad_sign_ins(server, signed),
        threading.Thread(
            target=lambda: replies.append(
                server.call(server.filer_key, "POST", "/api/declarations", body)
            )
        ),
        threading.Thread(target=_backtest, args=(server, cookie, csrf, pages)),
    ]
    probes = _probing(server, busy)
    assert signed == [(303, "/signin?next=%2Fqueue&failed=true")] * 64
    ((status, reply),) = replies
    assert (status, reply["accepted"], reply["rejected"]) == (200, 2000, 0)
    (page,) = pages
    total = re.search(r"Backtest over ([\d,]+) stored declarations", page)
    assert total is not None, page[-2000:]
    assert int(total.group(1).replace(",", "")) >= 1
    assert len(probes) >= 10, probes
    ordered = sorted(probes)
    # Three kinds of work at once on two cores: the loop still answers.
    assert statistics.median(ordered) < P90_S, ordered
    assert ordered[-1] < 2 * WORST_S, ordered


def test_health_answers_while_the_rules_page_backtests(server: Server) -> None:
    """A backtest re-scores the whole stored history (seconds: 2.4 s over
    4,000 declarations on the loop, which then answered nothing else)."""
    again = [{**d, "declaration_id": f"{d['declaration_id']}-B"} for d in _houses(2004)[:2000]]
    _submitted(server, again)
    cookie, csrf = _officer_session(server)
    pages: list[str] = []
    backtest = threading.Thread(target=_backtest, args=(server, cookie, csrf, pages))
    probes = _probing(server, [backtest])
    total = re.search(r"Backtest over ([\d,]+) stored declarations", pages[0])
    assert total is not None, pages[0][-2000:]
    assert int(total.group(1).replace(",", "")) >= 2000
    assert len(probes) >= 10, probes
    _responsive(probes)


def _hidden_keys(value: Any, path: str = "") -> set[str]:
    """The paths in a JSON value whose key is one of HIDDEN."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else key
            if key in HIDDEN:
                found.add(where)
            found |= _hidden_keys(inner, where)
    elif isinstance(value, list):
        for inner in value:
            found |= _hidden_keys(inner, f"{path}[]")
    return found


def test_filers_never_read_a_lane_or_a_score(server: Server) -> None:
    documents = _houses(2004)[2000:2003]
    reply = _submitted(server, documents)
    assert _hidden_keys(reply) == set()
    assert [(d["declaration_id"], d["status"]) for d in reply["declarations"]] == [
        (d["declaration_id"], "assessed") for d in documents
    ]
    for document in documents:
        ref = document["declaration_id"]
        status, mine = server.call(server.filer_key, "GET", f"/api/declarations/{ref}")
        assert (status, mine["status"]) == (200, "assessed")
        # The filer's own data-quality score is the only score it reads.
        assert _hidden_keys(mine) == {"data_quality.score"}
        status, where = server.call(server.filer_key, "GET", f"/api/declarations/{ref}/status")
        assert (status, where) == (200, {"declaration_id": ref, "status": "assessed"})
        status, seen = server.call(server.officer_key, "GET", f"/api/declarations/{ref}")
        assert status == 200
        assert seen["risk"]["lane"] in {"green", "yellow", "red", "black"}
        status, officer = server.call(
            server.officer_key, "GET", f"/api/declarations/{ref}/status?filer={FILER}"
        )
        assert (status, officer["status"], officer["lane"]) == (
            200,
            "assessed",
            seen["risk"]["lane"],
        )


def test_a_full_queue_answers_429_and_drains(tmp_path: Path) -> None:
    """While another process leads the sequencer (holding its lock) and
    decides nothing, the queue fills to its limit; then submissions are
    refused whole with 429 and Retry-After, nothing more is queued; a list
    larger than the queue can ever hold is a 400. Once the lock is free,
    the server's sequencer takes over and decides what was queued."""
    documents = _houses(10)
    lock = (tmp_path / "clearway.db.sequencer").open("a")
    fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
    try:
        with _serving(tmp_path, intake_queue_limit="5", decision_wait_ms="0") as server:
            headers = {
                "Authorization": f"Bearer {server.filer_key}",
                "Content-Type": "application/json",
            }
            status, _, raw = server.request(
                "POST", "/api/declarations", orjson.dumps(documents[:5]), headers
            )
            assert (status, orjson.loads(raw)["accepted"]) == (202, 5)
            status, answer_headers, raw = server.request(
                "POST", "/api/declarations", orjson.dumps(documents[5:8]), headers
            )
            assert (status, answer_headers["retry-after"]) == (429, "2")
            assert orjson.loads(raw) == {
                "ok": False,
                "errors": [
                    {
                        "code": "overloaded",
                        "field": "",
                        "message": "the intake queue holds 5 filings or more: retry shortly",
                    }
                ],
                "status": 429,
            }
            status, _, raw = server.request(
                "POST", "/api/declarations", orjson.dumps(_houses(12)[10:12] + documents), headers
            )
            assert status == 400
            assert orjson.loads(raw)["errors"][0]["message"] == (
                "a list of 7 new filings is more than the intake queue holds (5): "
                "send smaller lists"
            )
            assert _counts(server.database_url) == (5, 0)
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            deadline = time.monotonic() + 60
            while _counts(server.database_url) != (0, 5) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _counts(server.database_url) == (0, 5)
    finally:
        lock.close()


def _counts(url: str) -> tuple[int, int]:
    """Filings queued, declarations stored."""
    engine = open_engine(url, migrate=False)
    with engine.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(intake_queue)).scalar_one()
        stored = conn.execute(select(func.count()).select_from(declarations)).scalar_one()
    engine.dispose()
    return int(queued), int(stored)


# -- the source check: what an async handler may call directly -------------

EDGES = Path(__file__).resolve().parents[1] / "src" / "clearway"
# Functions from these do I/O or CPU work: an async handler hands them to a
# thread (run_in_threadpool) instead of calling them.
BLOCKING_MODULES = (
    "clearway.accounts",
    "clearway.classification",
    "clearway.clearance",
    "clearway.declarations",
    "clearway.duty",
    "clearway.history",
    "clearway.ledger",
    "clearway.parties",
    "clearway.risk",
    "clearway.store",
    "clearway.web.accounts",
)
# Attributes of the app's context that reach the store or the stages.
BLOCKING_RECEIVERS = {"store", "service", "stages", "witness"}
BLOCKING_METHODS = {"open", "read_text", "write_text", "read_bytes", "write_bytes"}
BLOCKING_METHODS |= {"TemplateResponse", "render"}
# Starting the sequencer's thread returns at once.
ALLOWED = {("service", "start")}


def _blocking_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(BLOCKING_MODULES):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _calls(function: ast.AsyncFunctionDef) -> Iterator[ast.Call]:
    """The calls made by ``function`` itself and not awaited (a coroutine
    waits on the loop), nor made by functions defined in it."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            stack.extend(ast.iter_child_nodes(node.value))
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _receivers(node: ast.expr) -> list[str]:
    chain = []
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Call):
            node = node.func
            continue
        chain.append(node.attr)
        node = node.value
    return chain


def blocking_calls(source: str, filename: str) -> list[str]:
    """Every direct call in an ``async def`` of ``source`` to something
    that blocks, as ``file:line: call``, in source order."""
    tree = ast.parse(source, filename)
    names = _blocking_names(tree)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for call in _calls(function):
            func = call.func
            if isinstance(func, ast.Name):
                bad = func.id in names or func.id == "open"
            elif isinstance(func, ast.Attribute):
                owners = _receivers(func.value)
                reaches = any(owner in BLOCKING_RECEIVERS for owner in owners)
                bad = func.attr in BLOCKING_METHODS or (
                    reaches and (owners[0], func.attr) not in ALLOWED
                )
            else:
                bad = False
            if bad:
                found.append((call.lineno, f"{filename}:{call.lineno}: {ast.unparse(call)}"))
    return [text for _, text in sorted(found)]


def test_async_handlers_hand_blocking_work_to_threads() -> None:
    found = []
    for path in sorted([*EDGES.joinpath("api").glob("*.py"), *EDGES.joinpath("web").glob("*.py")]):
        found += blocking_calls(path.read_text(), path.name)
    assert found == []


def test_the_source_check_finds_blocking_calls() -> None:
    source = """
from clearway.store.reading import get_declaration
from clearway.web.accounts import sign_in

async def handler(request, ctx):
    form = await request.form()
    get_declaration(ctx.store, "A-1")
    await run_in_threadpool(get_declaration, ctx.store, "A-1")
    ctx.service.submit([])
    ctx.service.start()
    await ctx.service.until_decided([1], 1.0)
    with ctx.store.connect() as conn:
        pass
    sign_in(ctx.store, "u", "p", None)
    templates.TemplateResponse(request, "page.html", {})

    def later():
        return get_declaration(ctx.store, "A-2")
    return later
"""
    assert blocking_calls(source, "x.py") == [
        "x.py:7: get_declaration(ctx.store, 'A-1')",
        "x.py:9: ctx.service.submit([])",
        "x.py:12: ctx.store.connect()",
        "x.py:14: sign_in(ctx.store, 'u', 'p', None)",
        "x.py:15: templates.TemplateResponse(request, 'page.html', {})",
    ]
