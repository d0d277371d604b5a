"""The server's defences from the outside review (issue 17), against a real
server process (`clearway serve`) where the point is the server: bodies
refused by size before they are read, slow-header connections closed,
browser headers on every answer, the sign-in form's own token, the Secure
cookie behind an HTTPS proxy, sign-in lockout per name and per address
(counted in the store, so every process sees it), and YAML whose aliases,
depth or size would stall whatever reads it."""

from __future__ import annotations

import re
import socket
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from clearway._internal.yaml_text import MAX_ALIASES, MAX_DEPTH, parse_yaml
from clearway.errors import InputError, NotAuthenticated, TooManyAttempts
from clearway.store import open_engine
from clearway.store.sign_ins import SignInLimits, begin_attempt, succeeded
from clearway.web.accounts import add_user, sign_in
from tests.test_event_loop import OFFICER, PASSWORD, Server, _serving

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# 272 bytes standing for 9**7 (4.8 million) strings.
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{before}'] * 9)}]"
            for before, name in zip("abcdef", "bcdefg", strict=True)
        ),
    ]
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _serving(
        tmp_path_factory.mktemp("hardening"),
        header_timeout_s="1",
        body_timeout_s="2",
        max_json_document_bytes="1048576",
        trust_forwarded_proto="true",
    ) as running:
        yield running


def _too_large(limit: int) -> dict[str, object]:
    message = f"the request body is larger than this endpoint takes ({limit} bytes)"
    return {
        "ok": False,
        "errors": [{"code": "too_large", "field": "", "message": message}],
        "status": 413,
    }


def _exchange(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes, float, bool]:
    """Send ``head`` and ``body`` on a raw connection (the body may stop
    short of what the head announces) and read the answer: its status, its
    body, the seconds it took, and whether the server then closed the
    connection (within 3 s)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            part = sock.recv(65536)
            assert part, answer
            answer += part
        took = time.monotonic() - start
        header, _, rest = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", header).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            part = sock.recv(65536)
            assert part
            rest += part
        sock.settimeout(3)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    return int(header.split()[1]), rest, took, closed


# -- bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/witness/add-checkpoint", 65536),
        ("/api/inbox/x", 65536),
        ("/api/declarations/X-1/referrals", 65536),
        ("/signin", 65536),
        ("/api/declarations", 1048576),
    ],
)
def test_a_body_declared_over_its_limit_is_refused_unread(
    server: Server, path: str, limit: int
) -> None:
    """200 MB announced and none of it sent: the answer comes at once (the
    server would otherwise wait for the body it was promised)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        "Clearway-Signature: x\r\nIdempotency-Key: x\r\n"
        "Content-Length: 200000000\r\n\r\n"
    ).encode()
    status, body, took, closed = _exchange(server.port, head)
    assert (status, orjson.loads(body), closed) == (413, _too_large(limit), True)
    assert took < 5


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/inbox/x", "application/json"),
        ("/api/declarations/X-1/referrals", "application/json"),
        ("/signin", "application/x-www-form-urlencoded"),
    ],
)
def test_a_chunked_body_is_refused_once_it_passes_the_limit(
    server: Server, path: str, kind: str
) -> None:
    """No length announced: 70 KiB of chunks and no end; the server stops
    reading at 64 KiB and answers instead of waiting for the rest."""
    # A well-formed, current signature header: the inbox refuses anything
    # else before it reads a byte (401), so the body must be what stops it.
    signature = f"t={int(time.time())},v2={'0' * 64}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
        f"Authorization: Bearer {server.officer_key}\r\n"
        f"Clearway-Signature: {signature}\r\nIdempotency-Key: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"400\r\n" + b"a" * 1024 + b"\r\n"
    status, body, took, closed = _exchange(server.port, head, chunk * 70)
    assert (status, orjson.loads(body), closed) == (413, _too_large(65536), True)
    assert took < 5


def test_a_body_that_stops_arriving_is_refused_and_its_connection_closed(
    server: Server,
) -> None:
    """body_timeout_s=2: 10 bytes of a promised 1,000, then nothing."""
    # A current, well-formed signature header, so the inbox reads the body.
    signature = f"t={int(time.time())},v2={'0' * 64}"
    head = (
        f"POST /api/inbox/x HTTP/1.1\r\nHost: x\r\nClearway-Signature: {signature}\r\n"
        "Idempotency-Key: x\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    status, body, took, closed = _exchange(server.port, head, b"0123456789")
    assert (status, closed) == (408, True)
    assert orjson.loads(body) == {
        "ok": False,
        "errors": [
            {"code": "timeout", "field": "", "message": "the request body stopped arriving for 2 s"}
        ],
        "status": 408,
    }
    assert 1.8 < took < 5


def test_a_body_within_its_limit_still_reaches_the_endpoint(server: Server) -> None:
    status, _, raw = server.request(
        "POST", "/api/inbox/nobody", b"{}", {"Clearway-Signature": "x", "Idempotency-Key": "k"}
    )
    assert status == 401
    assert orjson.loads(raw)["errors"][0]["code"] == "unauthenticated"


# -- slow headers ------------------------------------------------------------


def _seconds_until_closed(sock: socket.socket, limit: float) -> float:
    """Trickle a header line every 0.2 s until the server closes ``sock``."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            sock.sendall(b"X-Slow: y\r\n")
            if sock.recv(4096) == b"":
                break
        except TimeoutError:
            continue
        except OSError:
            break
    return time.monotonic() - start


def test_a_slow_header_connection_is_closed(server: Server) -> None:
    """header_timeout_s=1: headers trickled in forever are cut off after a
    second, on a new connection and on a kept-alive one alike."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        assert 0.8 < _seconds_until_closed(sock, 8) < 3
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        assert 0.8 < _seconds_until_closed(sock, 8) < 3


def test_a_slow_body_after_timely_headers_is_not_cut_by_the_header_deadline(
    server: Server,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/inbox/nobody HTTP/1.1\r\nHost: x\r\nClearway-Signature: x\r\n"
            b"Idempotency-Key: k\r\nContent-Length: 2\r\n\r\n{"
        )
        time.sleep(1.5)
        sock.sendall(b"}")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 401 ")


# -- browser headers, the sign-in form, the cookie --------------------------


def test_every_answer_carries_the_browser_headers(server: Server) -> None:
    for path in ("/signin", "/api/health", "/static/app.js", "/queue"):
        _, headers, _ = server.request("GET", path)
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    _, headers, _ = server.request("GET", "/docs")
    assert "https://cdn.jsdelivr.net" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_workspace_pages_have_no_inline_script_or_style() -> None:
    """What the CSP above would block: nothing of the workspace's own."""
    templates = Path(__file__).resolve().parents[1] / "src/clearway/web/templates"
    for page in templates.glob("*.html"):
        text = page.read_text()
        if page.name == "report.html":
            continue  # the standalone report file: written by the CLI, never served
        assert re.findall(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", text) == [], page


def _post_sign_in(
    server: Server, form: dict[str, str], cookie: str = ""
) -> tuple[int, dict[str, str], bytes]:
    headers = {**FORM, "Cookie": cookie} if cookie else FORM
    return server.request("POST", "/signin", urlencode(form).encode(), headers)


def test_the_sign_in_form_needs_its_own_token(server: Server) -> None:
    """Login CSRF: good credentials posted without the form's token (from
    another site), or with another form's, sign nobody in."""
    good = {"username": OFFICER, "password": PASSWORD}
    token, cookie = server.sign_in_form()
    other_token, other_cookie = server.sign_in_form()
    for form, sent in (
        (good, ""),
        ({**good, "csrf": token}, ""),
        ({**good, "csrf": token}, other_cookie),
        ({**good, "csrf": ""}, cookie),
    ):
        status, headers, page = _post_sign_in(server, form, sent)
        assert status == 403
        assert "clearway_session" not in headers.get("set-cookie", "")
        assert "The sign-in form was stale or not from this workspace" in page.decode()
    status, headers, _ = _post_sign_in(server, {**good, "csrf": other_token}, other_cookie)
    assert (status, headers["location"]) == (303, "/queue")


def _session_cookie(headers: dict[str, str]) -> str:
    (line,) = [c for c in headers["set-cookie"].splitlines() if c.startswith("clearway_session=")]
    return line


def test_the_session_cookie_is_secure_behind_an_https_proxy(server: Server) -> None:
    """trust_forwarded_proto: the proxy's X-Forwarded-Proto says HTTPS."""
    for proto, secure in (("https", True), ("http", False)):
        token, cookie = server.sign_in_form()
        form = {"username": OFFICER, "password": PASSWORD, "csrf": token}
        status, headers, _ = server.request(
            "POST",
            "/signin",
            urlencode(form).encode(),
            {**FORM, "Cookie": cookie, "X-Forwarded-Proto": proto},
        )
        assert status == 303
        flags = {f.strip().lower() for f in _session_cookie(headers).split(";")[1:]}
        assert ("secure" in flags) is secure
        assert {"httponly", "samesite=strict"} <= flags


# -- sign-in lockout -----------------------------------------------------------


def _attempt(server: Server, username: str, password: str) -> tuple[int, dict[str, str], str]:
    token, cookie = server.sign_in_form()
    form = {"username": username, "password": password, "csrf": token}
    status, headers, page = _post_sign_in(server, form, cookie)
    return status, headers, page.decode()


def test_sign_ins_lock_out_a_name_then_an_address(tmp_path: Path) -> None:
    """Three failures lock a name, known or not, alike (the right password
    then too is refused, unchecked); eight from one address lock every
    name from it. Neither is believed from an X-Forwarded-Proto here."""
    with _serving(
        tmp_path,
        sign_in_max_failures="3",
        sign_in_max_failures_per_address="8",
        sign_in_lockout_s="120",
    ) as server:
        for name in (OFFICER, "nobody"):
            for _ in range(3):
                status, headers, _ = _attempt(server, name, "wrong password")
                assert (status, headers["location"]) == (303, "/signin?next=%2Fqueue&failed=true")
            status, headers, page = _attempt(server, name, PASSWORD)
            assert status == 429
            assert 118 <= int(headers["retry-after"]) <= 120
            wait = headers["retry-after"]
            assert f"Too many failed sign-ins: try again in {wait} seconds." in page
            assert "set-cookie" not in headers or "clearway_session" not in headers["set-cookie"]
        # Six failures from this address so far; two more names fail once each.
        for name in ("carol", "dave"):
            status, _, _ = _attempt(server, name, "wrong password")
            assert status == 303
        status, headers, _ = _attempt(server, "erin", "any password")
        assert status == 429
        assert 118 <= int(headers["retry-after"]) <= 120


def test_an_unknown_name_costs_what_a_wrong_password_costs(sqlite_url: str) -> None:
    """Same answer, same scrypt: the time does not tell which names exist
    (medians of interleaved tries; a missing hash would be ~0 ms)."""
    engine = open_engine(sqlite_url)
    add_user(engine, "olga", "Olga", "customs_officer", T0, password="the right one")
    times: dict[str, list[float]] = {"olga": [], "nobody": []}
    for _ in range(7):
        for name, spent in times.items():
            start = time.perf_counter()
            with pytest.raises(NotAuthenticated) as refused:
                sign_in(engine, name, "a wrong password", T0)
            spent.append(time.perf_counter() - start)
            assert refused.value.message == "unknown user or wrong password"
    ratio = statistics.median(times["nobody"]) / statistics.median(times["olga"])
    assert 0.5 < ratio < 2, times


LIMITS = SignInLimits(
    per_name=3, per_address=5, window=timedelta(seconds=60), lockout=timedelta(seconds=120)
)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_lockout_is_kept_in_the_store_for_every_process(engine: Engine) -> None:
    """A second engine on the same store (another worker process) refuses
    the name the first locked out; the lockout ends lockout seconds after
    the last failure."""
    url = engine.url.render_as_string(hide_password=False)
    other = open_engine(url, migrate=False)
    try:
        for second in range(3):
            assert len(begin_attempt(engine, "olga", "10.0.0.1", LIMITS, _at(second))) == 2
        with pytest.raises(TooManyAttempts) as refused:
            begin_attempt(other, "olga", "10.0.0.2", LIMITS, _at(3))
        assert (refused.value.retry_after, refused.value.status) == (119, 429)
        assert refused.value.message == "too many failed sign-ins: try again in 119 s"
        assert refused.value.as_json()["errors"] == [
            {
                "code": "too_many_attempts",
                "field": "",
                "message": "too many failed sign-ins: try again in 119 s",
            }
        ]
        begin_attempt(other, "olga", "10.0.0.2", LIMITS, _at(122))
    finally:
        other.dispose()


def test_lockout_counts_failures_within_the_window_and_forgives_a_success(
    engine: Engine,
) -> None:
    # Failures further apart than the window never lock.
    for second in (0, 61, 122, 183):
        begin_attempt(engine, "spread", f"10.1.0.{second}", LIMITS, _at(second))
    # A success forgives the name's failures, not the address's.
    for second in (0, 1):
        begin_attempt(engine, "rita", "10.2.0.1", LIMITS, _at(second))
    succeeded(engine, "rita", begin_attempt(engine, "rita", "10.2.0.1", LIMITS, _at(2)))
    for second in (3, 4):
        begin_attempt(engine, "rita", "10.2.0.1", LIMITS, _at(second))
    # The address: 2 + 2 failures and one other name make five.
    begin_attempt(engine, "sam", "10.2.0.1", LIMITS, _at(5))
    with pytest.raises(TooManyAttempts) as refused:
        begin_attempt(engine, "tom", "10.2.0.1", LIMITS, _at(6))
    assert refused.value.retry_after == 119


# -- YAML ----------------------------------------------------------------------


def test_billion_laughs_is_refused_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(InputError) as refused:
        parse_yaml(BILLION_LAUGHS, "rules")
    assert refused.value.message == (
        "rules: cannot be read as YAML: more than 100000 values once its aliases are expanded"
    )
    assert time.monotonic() - start < 1


def test_the_rules_page_refuses_a_yaml_bomb_at_once(server: Server) -> None:
    status, headers = server.sign_in(OFFICER, PASSWORD)
    assert status == 303
    cookie = _session_cookie(headers).split(";")[0]
    _, _, page = server.request("GET", "/rules", headers={"Cookie": cookie})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.decode()).group(1)  # type: ignore[union-attr]
    start = time.monotonic()
    form = {"csrf": csrf, "rules": BILLION_LAUGHS, "action": "backtest"}
    status, _, page = server.request(
        "POST", "/rules", urlencode(form).encode(), {**FORM, "Cookie": cookie}
    )
    assert status == 200
    assert "more than 100000 values once its aliases are expanded" in page.decode()
    assert time.monotonic() - start < 3


def test_aliases_beyond_the_limit_and_self_reference_are_refused() -> None:
    allowed = "a: &a 1\nb: [" + ", ".join(["*a"] * MAX_ALIASES) + "]\n"
    assert parse_yaml(allowed, "policy") == {"a": 1, "b": [1] * MAX_ALIASES}
    with pytest.raises(InputError) as refused:
        parse_yaml(allowed.replace("]", ", *a]"), "policy")
    assert refused.value.message == "policy: cannot be read as YAML: more than 100 aliases (*name)"
    with pytest.raises(InputError) as refused:
        parse_yaml("a: &a [1, *a]", "policy")
    assert refused.value.message == (
        "policy: cannot be read as YAML: an alias refers to a value that contains it"
    )


def test_unprintable_characters_are_a_clear_error() -> None:
    with pytest.raises(InputError) as refused:
        parse_yaml("a: 1\x00", "rules")
    assert refused.value.message.startswith(
        "rules: cannot be read as YAML: unacceptable character #x0000"
    )


def test_yaml_over_its_size_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(InputError) as refused:
        parse_yaml("a: " + "x" * 2000, "regimes", max_bytes=1024)
    assert refused.value.message == "regimes: cannot be read as YAML: 2003 bytes, at most 1024"


@settings(max_examples=40, deadline=None)
@given(depth=st.integers(min_value=1, max_value=3 * MAX_DEPTH))
def test_nesting_is_accepted_to_the_depth_limit_and_refused_past_it(depth: int) -> None:
    """``depth`` lists around one value: depth + 1 nested values."""
    text = "[" * depth + "1" + "]" * depth
    if depth + 1 <= MAX_DEPTH:
        value = parse_yaml(text, "rules")
        for _ in range(depth):
            assert isinstance(value, list)
            assert len(value) == 1
            value = value[0]
        assert value == 1
    else:
        with pytest.raises(InputError) as refused:
            parse_yaml(text, "rules")
        assert (
            refused.value.message == "rules: cannot be read as YAML: nested deeper than 64 levels"
        )


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_the_policy_blocks_nothing_of_the_workspace_in_a_browser(server: Server) -> None:
    """Chromium reports every Content-Security-Policy violation on the
    console: signing in and opening each page reports none."""
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{server.port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(f"{base}/queue")
            page.get_by_label("User name").fill(OFFICER)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/queue")
            for path in ("/dashboard", "/operators", "/rules", "/queue"):
                page.goto(f"{base}{path}")
                page.wait_for_load_state("load")
            assert [m for m in console if "Content Security Policy" in m] == []
            # The policy is in force: an inline script would not run.
            page.goto(f"{base}/signin")
            page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.ran = 1'; document.body.append(s); }"
            )
            assert page.evaluate("() => window.ran === undefined")
            assert any("Content Security Policy" in m for m in console)
        finally:
            browser.close()
