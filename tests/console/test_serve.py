"""`supportdesk serve`: the SLA board, read-only, in a real headless Chromium through
textual-serve; it renders and follows changes made by another process. The server is a
real process on a free loopback port, reached with real HTTP and websocket clients: a token
exchanged for a cookie, Host and Origin checks, a cap on board processes, and the token
kept out of `ps` and the access log.

Chromium is Debian's `chromium`. Without it the browser test skips with the reason, unless
SUPPORTDESK_REQUIRE_BROWSER=1 (CI sets it), which makes it fail instead."""

from __future__ import annotations

import asyncio
import http.client
import inspect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from supportdesk.console.wall import WallApp
from supportdesk.errors import UsageError
from supportdesk.serve import GuardedServer, allowed_hosts, read_token_file
from tests.helpers.cli import one_line_error, run
from tests.helpers.console import NOW, DeskFixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE = os.environ.get("SUPPORTDESK_REQUIRE_BROWSER") == "1"


def need_chromium() -> str:
    if CHROMIUM is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(f"{reason} (SUPPORTDESK_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(fx: DeskFixture, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SUPPORTDESK_DB=str(fx.path),
        SUPPORTDESK_AUDIT_KEY=str(fx.key),
        SUPPORTDESK_AGENT="lena",
        SUPPORTDESK_NOW=NOW.isoformat(),
        **extra,
    )
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _announced(out: Path, proc: subprocess.Popen[bytes]) -> str:
    """The URL the server prints once it listens."""
    found: list[str] = []

    def up() -> bool:
        assert proc.poll() is None, f"serve exited {proc.returncode}: {out.read_text()}"
        found[:] = re.findall(r"on (http://\S+)", out.read_text())
        return bool(found)

    _wait(up, 60, "the server to listen")
    return found[0]


@pytest.fixture
def served(fx: DeskFixture, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    trace = tmp_path / "wall.trace"
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supportdesk", "serve", "--port", str(port)],
            env=_env(fx, SUPPORTDESK_WALL_TRACE=str(trace)),
            stdout=sink,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield _announced(out, proc), trace
    finally:
        _stop(proc)


def test_the_board_renders_in_chromium_and_follows_changes(
    fx: DeskFixture, served: tuple[str, Path], tmp_path: Path
) -> None:
    chromium = need_chromium()
    url, trace = served
    assert "?token=" in url
    # the browser opens the tokened URL: the server swaps the token for a cookie and
    # redirects to the page, whose websocket then starts the board
    browser = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,900",
            "--remote-debugging-port=0",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # the browser's connection starts a board process, which draws the board
        _wait(lambda: trace.exists() and "breached" in trace.read_text(), 60, "the board")
        first = trace.read_text().splitlines()[-1]
        assert "read-only" in first
        breached = int(first.split("✖", 1)[1].split()[0])
        # another process records a critical outage call nobody answered yesterday
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "supportdesk",
                "--at",
                (NOW - timedelta(days=1)).isoformat(),
                *("ticket", "new", "--account", "acme", "--subject", "web-14 down"),
                *("--priority", "critical", "--category", "infrastructure", "--channel", "phone"),
            ],
            env=_env(fx),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
        want = f"✖ {breached + 1} breached"
        _wait(lambda: want in trace.read_text(), 30, "the board to update")
    finally:
        _stop(browser)


def test_serve_is_for_leads(fx: DeskFixture) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "supportdesk", "--as", "ana", "serve", "--port", "1"],
        env=_env(fx),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1
    assert "is for leads" in one_line_error(p)


def test_the_wall_app_allows_nothing_that_writes(fx: DeskFixture) -> None:
    app = WallApp(fx.desk, redact=True)
    for action in ("call", "goto_ticket", "board", "sla_board", "command_palette", "reload"):
        assert not app.check_action(action, ())
    assert app.check_action("quit", ())
    assert not WallApp.ENABLE_COMMAND_PALETTE


# -- the door: token, cookie, Host, Origin, board limit, secrets ------------------------------
# These run against the `desk` fixture's database, SQLite and PostgreSQL: the server checks
# the lead on it, and every board process reads it.


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    url: str  # as announced: with ?token=... unless --token-file
    out: Path  # stdout and stderr (the access log) together

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, path: str, **headers: str) -> http.client.HTTPResponse:
        """A GET sent as is (no redirect followed), Host 127.0.0.1:port unless given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        return response

    def body(self, path: str, **headers: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def cookie(self) -> str:
        """Trade the token for the session cookie, as a browser would on its first visit."""
        r = self.request(f"/?token={self.token}")
        assert r.status == 303, r.status
        jar = SimpleCookie(r.getheader("Set-Cookie"))
        ((name, morsel),) = jar.items()
        return f"{name}={morsel.value}"

    def boards(self) -> list[int]:
        """Pids of this server's board processes (`supportdesk wall`, in its process group)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                pgid = os.getpgid(int(entry.name))
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ProcessLookupError):
                continue
            if pgid == self.proc.pid and b"supportdesk" in argv and b"wall" in argv:
                pids.append(int(entry.name))
        return pids


@pytest.fixture
def serve(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `supportdesk serve` with extra arguments on a free port; stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> Server:
        port = _free_port()
        out = tmp_path / f"serve-{port}.out"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "supportdesk", "serve", "--port", str(port), *args],
                env=cli_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        return Server(proc, port, _announced(out, proc), out)

    yield start
    for proc in started:
        _stop(proc)


async def _first_bytes(ws: aiohttp.ClientWebSocketResponse) -> bytes:
    """The first binary frame: the board process drew something."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), timeout=60)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        assert msg.type == aiohttp.WSMsgType.TEXT, (msg.type, msg.data)


async def _wait_async(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _ws_refused(server: Server, path: str = "/ws", **headers: str) -> int:
    """Try the websocket; the HTTP status it was refused with."""

    async def go() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(f"{server.origin}{path}", headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            await ws.close()
            raise AssertionError("the websocket was accepted")

    return asyncio.run(go())


def test_no_token_is_refused_and_starts_no_board(serve: Callable[..., Server]) -> None:
    s = serve()
    assert s.url == f"{s.origin}/?token={s.token}" and len(s.token) >= 32
    status, page = s.body("/")
    assert status == 401 and "Token needed" in page and "textual.js" not in page
    assert s.request("/static/js/textual.js").status == 401
    assert s.request("/download/anything").status == 401
    assert _ws_refused(s, Origin=s.origin) == 401
    assert s.boards() == []


def test_a_wrong_token_or_cookie_is_refused(serve: Callable[..., Server]) -> None:
    s = serve()
    r = s.request("/?token=" + "x" * len(s.token))
    assert r.status == 403 and r.getheader("Set-Cookie") is None
    assert s.request("/?token=").status == 403
    # the right token twice in one query is not an exchange either
    assert s.request(f"/?token={s.token}&token=wrong").status == 403
    name = s.cookie().split("=", 1)[0]
    assert s.request("/", Cookie=f"{name}=forged").status == 403
    assert s.request("/", Cookie=f"{name}={s.token}").status == 403  # the token is no cookie
    assert _ws_refused(s, Origin=s.origin, Cookie=f"{name}=forged") == 403
    assert s.boards() == []


def test_the_token_buys_a_strict_httponly_cookie_and_a_redirect_without_it(
    serve: Callable[..., Server],
) -> None:
    s = serve()
    r = s.request(f"/?fontsize=20&token={s.token}")
    assert r.status == 303
    assert r.getheader("Location") == "/?fontsize=20"
    assert r.getheader("Cache-Control") == "no-store"
    assert r.getheader("Referrer-Policy") == "no-referrer"
    raw = r.getheader("Set-Cookie") or ""
    attributes = {a.strip().lower() for a in raw.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes, raw
    jar = SimpleCookie(raw)
    ((name, morsel),) = jar.items()
    assert name == f"supportdesk_board_{s.port}"
    assert morsel.value != s.token and len(morsel.value) >= 32
    assert s.request(f"/?token={s.token}").getheader("Location") == "/"
    # with the cookie: the page, whose websocket is on the same origin, and its assets
    status, page = s.body("/?fontsize=20", Cookie=s.cookie())
    assert status == 200 and "textual.js" in page
    assert f'data-session-websocket-url="ws://127.0.0.1:{s.port}/ws"' in page
    assert 'data-font-size="20"' in page
    assert s.request("/static/js/textual.js", Cookie=s.cookie()).status == 200
    # a loopback name the browser may use instead gets its own same-origin URLs
    status, page = s.body("/", Cookie=s.cookie(), Host=f"localhost:{s.port}")
    assert status == 200 and f"ws://localhost:{s.port}/ws" in page


def test_the_redirect_after_the_token_stays_on_this_host(serve: Callable[..., Server]) -> None:
    """A path that starts with two slashes (or a backslash) was sent back as the Location,
    which a browser reads as another host: `//evil.example/?token=...` went to evil.example."""
    s = serve()
    for path, expected in [
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example/", "/evil.example/"),
        ("///evil.example/x", "/evil.example/x"),
        ("/board", "/board"),
    ]:
        r = s.request(f"{path}?token={s.token}")
        assert r.status == 303, (path, r.status)
        assert r.getheader("Location") == expected, path


def test_with_the_cookie_and_its_own_origin_the_websocket_streams_a_board(
    serve: Callable[..., Server],
) -> None:
    s = serve()
    cookie = s.cookie()

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"{s.origin}/ws", headers={"Cookie": cookie, "Origin": s.origin}
            )
            assert await _first_bytes(ws)  # the board process is drawing
            assert len(s.boards()) == 1
            await ws.close()
            await _wait_async(lambda: s.boards() == [], 60, "the board process to end")

    asyncio.run(go())


def test_a_foreign_origin_gets_no_websocket(serve: Callable[..., Server]) -> None:
    s = serve()
    cookie = s.cookie()
    for origin in (
        "http://evil.example",
        f"http://127.0.0.1:{s.port + 1 if s.port < 65535 else s.port - 1}",  # same site
        f"https://127.0.0.1:{s.port}",  # another scheme
        f"http://localhost:{s.port}",  # another origin than the Host asked for
        "null",
    ):
        assert _ws_refused(s, Cookie=cookie, Origin=origin) == 403, origin
    assert _ws_refused(s, Cookie=cookie) == 403  # no Origin at all
    # an upgrade on any other path is judged the same way
    assert _ws_refused(s, "/ws/", Cookie=cookie, Origin="http://evil.example") == 403
    # a cross-origin fetch of the page is refused too
    assert s.request("/", Cookie=cookie, Origin="http://evil.example").status == 403
    assert s.boards() == []


def test_a_foreign_host_is_refused_dns_rebinding(serve: Callable[..., Server]) -> None:
    s = serve()
    cookie = s.cookie()
    for host in (
        f"evil.example:{s.port}",
        "evil.example",
        f"127.0.0.1:{s.port + 1 if s.port < 65535 else s.port - 1}",
        "127.0.0.1",
        "",
    ):
        status, page = s.body("/", Cookie=cookie, Host=host)
        assert status == 421 and "Wrong host" in page, host
    # even the token exchange: a rebound page must not get a cookie for its own name
    r = s.request(f"/?token={s.token}", Host=f"evil.example:{s.port}")
    assert r.status == 421 and r.getheader("Set-Cookie") is None
    for host in (f"localhost:{s.port}", f"[::1]:{s.port}", f"LOCALHOST:{s.port}"):
        assert s.request("/", Cookie=cookie, Host=host).status == 200, host
    assert (
        _ws_refused(
            s, Cookie=cookie, Host=f"evil.example:{s.port}", Origin=f"http://evil.example:{s.port}"
        )
        == 421
    )
    assert s.boards() == []


def test_past_max_boards_the_board_is_full_and_no_process_starts(
    serve: Callable[..., Server],
) -> None:
    s = serve("--max-boards", "2")
    cookie = s.cookie()
    headers = {"Cookie": cookie, "Origin": s.origin}

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            one = await session.ws_connect(f"{s.origin}/ws", headers=headers)
            two = await session.ws_connect(f"{s.origin}/ws", headers=headers)
            assert await _first_bytes(one) and await _first_bytes(two)
            assert len(s.boards()) == 2
            # the third: told why, closed, and no process
            three = await session.ws_connect(f"{s.origin}/ws", headers=headers)
            said = await _first_bytes(three)
            assert b"the board is full (2 open): close another tab" in said
            closed = await asyncio.wait_for(three.receive(), timeout=30)
            assert closed.type == aiohttp.WSMsgType.CLOSE
            assert three.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER
            status, page = s.body("/", Cookie=cookie)
            assert status == 503 and "the board is full (2 open): close another tab" in page
            assert len(s.boards()) == 2
            # a board closes: its slot frees
            await one.close()
            await _wait_async(lambda: len(s.boards()) == 1, 60, "a board to end")
            await _wait_async(lambda: s.body("/", Cookie=cookie)[0] == 200, 30, "a free slot")
            again = await session.ws_connect(f"{s.origin}/ws", headers=headers)
            assert b"full" not in await _first_bytes(again)
            assert len(s.boards()) == 2
            await two.close()
            await again.close()

    asyncio.run(go())


def test_the_token_is_in_no_argv_environment_or_log_line(serve: Callable[..., Server]) -> None:
    s = serve()
    token = s.token
    cookie = s.cookie()
    session_value = cookie.split("=", 1)[1]

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"{s.origin}/ws", headers={"Cookie": cookie, "Origin": s.origin}
            )
            assert await _first_bytes(ws)
            (board,) = s.boards()
            ps = subprocess.run(
                ["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True
            ).stdout
            assert f"{board} " in ps and "supportdesk wall" in ps  # ps does see the board
            assert token not in ps and session_value not in ps
            for pid in (s.proc.pid, board):
                environ = Path(f"/proc/{pid}/environ").read_bytes()
                assert token.encode() not in environ
            await ws.close()

    asyncio.run(go())
    s.request(f"/?token={token}&fontsize=18")  # a second visit with the token
    # the websocket's line is written when its board has ended
    _wait(
        lambda: (
            s.out.read_text().count('"GET /" 303') >= 2 and '"GET /ws" 101' in s.out.read_text()
        ),
        60,
        "the access log lines",
    )
    out = s.out.read_text()
    assert out.count(token) == 1  # the one announcement line, nothing else
    assert token in out.splitlines()[0]
    assert session_value not in out
    assert "fontsize" not in out  # no query string is logged at all
    assert '"GET /ws" 101' in out


def _token_file(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "board.token"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(mode)
    return path


def test_a_token_file_readable_by_others_is_refused(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = _token_file(tmp_path, "s3cret-board-token-0123456789\n", 0o644)
    p = run(cli_env, "serve", "--port", str(_free_port()), "--token-file", str(path))
    assert p.returncode == 2
    assert "mode 0644" in one_line_error(p) and "chmod 600" in one_line_error(p)
    assert p.stdout == ""  # nothing served, nothing announced
    path.chmod(0o640)
    p = run(cli_env, "serve", "--port", str(_free_port()), "--token-file", str(path))
    assert p.returncode == 2 and "mode 0640" in one_line_error(p)


def test_the_token_from_a_0600_file_works_and_is_not_printed(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    token = "s3cret-board-token-0123456789"
    path = _token_file(tmp_path, token + "\n")
    s = serve("--token-file", str(path))
    assert s.url == f"{s.origin}/"  # the announcement points at the file, not the token
    assert token not in s.out.read_text() and str(path) in s.out.read_text()
    assert s.request("/?token=" + token[:-1] + "X").status == 403
    r = s.request(f"/?token={token}")
    assert r.status == 303 and r.getheader("Set-Cookie")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "holds no token"),
        (b" \n\n", "holds no token"),
        (b"short-token\n", "too short (11 characters"),
        (b"two words in it xxxxxxxx", "one line"),
        (b"line-one-xxxxxxxxxx\nline-two-xxxxxxxxxx\n", "one line"),
        (b"\xff\xfe-not-ascii-xxxxxxxxxxxx", "ASCII"),
        (b"a" * 5000, "larger than 4096 bytes"),
    ],
)
def test_bad_token_files_are_refused_in_one_line(tmp_path: Path, content: bytes, says: str) -> None:
    path = _token_file(tmp_path, content)
    with pytest.raises(UsageError, match=re.escape(says)) as caught:
        read_token_file(path)
    assert "\n" not in str(caught.value)


def test_a_token_file_that_is_no_regular_file_is_refused_without_waiting(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(UsageError, match="not a regular file"):
        read_token_file(fifo)  # no writer: a blocking open would hang here
    with pytest.raises(UsageError, match="not a regular file"):
        read_token_file(tmp_path)
    with pytest.raises(UsageError, match="No such file"):
        read_token_file(tmp_path / "missing")


def test_serve_refuses_a_wildcard_host_and_a_taken_port(cli_env: dict[str, str]) -> None:
    p = run(cli_env, "serve", "--port", str(_free_port()), "--host", "0.0.0.0")
    assert p.returncode == 2 and "no Host header can be checked" in one_line_error(p)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = run(cli_env, "serve", "--port", str(port))
    assert p.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in one_line_error(p)
    assert "token=" not in p.stdout + p.stderr  # a token that was never usable is not shown
    p = run(cli_env, "serve", "--max-boards", "0")
    assert p.returncode == 2 and "--max-boards" in one_line_error(p)


def test_the_hosts_a_server_answers_to() -> None:
    loopback = {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert allowed_hosts("127.0.0.1", 8000) == loopback
    assert allowed_hosts("localhost", 8000) == loopback
    assert allowed_hosts("::1", 8000) == loopback
    assert allowed_hosts("127.0.0.2", 8000) == loopback | {"127.0.0.2:8000"}
    assert allowed_hosts("192.0.2.7", 8000) == {"192.0.2.7:8000"}
    assert allowed_hosts("Desk.Example", 8000) == {"desk.example:8000"}
    assert allowed_hosts("2001:db8::7", 8000) == {"[2001:db8::7]:8000"}
    assert allowed_hosts("192.0.2.7", 80) == {"192.0.2.7:80", "192.0.2.7"}
    for wildcard in ("0.0.0.0", "::", "[::]"):
        with pytest.raises(UsageError, match="every address"):
            allowed_hosts(wildcard, 8000)


def test_the_textual_serve_internals_the_guard_relies_on() -> None:
    """Fails loudly when textual-serve changes under the guard: upgrade it only together
    with supportdesk/serve.py and this test."""
    import tomllib
    from importlib.metadata import version

    import textual_serve.server as ts

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pinned = [d for d in project["project"]["dependencies"] if d.startswith("textual-serve")]
    assert pinned == ["textual-serve==1.1.3"], pinned
    assert version("textual-serve") == "1.1.3", "textual-serve changed: re-check serve.py"
    # the hooks overridden or called, with the signatures used
    for name in ("_make_app", "handle_index", "handle_websocket", "on_startup"):
        assert callable(getattr(ts.Server, name)), name
    assert ts.Server.initialize_logging is not None and ts.to_int("7", 0) == 7
    params = list(inspect.signature(ts.Server.__init__).parameters)
    assert params[:5] == ["self", "command", "host", "port", "title"], params
    # the app textual-serve builds routes to our handlers, behind our middleware
    server = GuardedServer("true", host="127.0.0.1", port=8000, token="t" * 32)

    async def build() -> web.Application:
        return await server._make_app()

    app = asyncio.run(build())
    routes = {r.name: r for r in app.router.routes() if r.name}
    assert routes["index"].handler == server.handle_index
    assert routes["websocket"].handler == server.handle_websocket
    assert str(app.router["websocket"].url_for()) == "/ws"
    assert {"download", "static"} <= set(app.router.named_resources())
    assert server._guard in app.middlewares
    # a websocket's board process is one AppService per connection, started and stopped
    # inside handle_websocket (the slot count wraps that call)
    source = inspect.getsource(ts.Server.handle_websocket)
    assert "AppService(" in source and "await app_service.stop()" in source
    # the page template takes the context handle_index builds
    template = (Path(ts.__file__).parent / "templates" / "app_index.html").read_text()
    for key in ("{{ app_websocket_url }}", "{{ config.static.url }}", "{{ font_size }}"):
        assert key in template, key
    assert "application.name" in template
