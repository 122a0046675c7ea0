"""The door in front of `supportdesk serve`: a token exchanged for a cookie, Host and Origin
checks, and a cap on board processes, around textual-serve's aiohttp server.

textual-serve has no authentication hook, and any web page, a DNS-rebound name or another
local user reaches a loopback port, so every request needs the session cookie, the Host
header must name the address the server listens on, the websocket must come from that same
origin, and at most `max_boards` board processes run at once. This subclasses
`textual_serve.server.Server`, whose version is pinned exactly in pyproject.toml; the
internals used here are checked by tests/console/test_serve.py.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import logging
import os
import re
import secrets
import signal
import stat
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import WSCloseCode, web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.server import Server, to_int

from supportdesk.errors import DeskError, UsageError

TOKEN_FILE_LIMIT = 4096  # bytes read from --token-file at most
MIN_TOKEN_LENGTH = 16
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+")  # unreserved in a URL: typed as ?token=...
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_BOARDS = 4

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("supportdesk.serve")


def new_token() -> str:
    """A fresh random token for one run of the server."""
    return secrets.token_urlsafe(32)


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token kept in `path`: a regular file of yours that no one else may read (0600),
    of at most TOKEN_FILE_LIMIT bytes, holding one line of URL-safe characters."""
    name = str(path)
    try:
        # O_NONBLOCK: a FIFO named here must be refused, not waited on
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UsageError(f"--token-file {name}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UsageError(f"--token-file {name}: not a regular file")
    with os.fdopen(fd, "rb") as f:
        if st.st_uid != os.geteuid():
            raise UsageError(f"--token-file {name}: owned by another user (uid {st.st_uid})")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise UsageError(
                f"--token-file {name}: others may read it (mode {mode:04o}): chmod 600 it"
            )
        data = f.read(TOKEN_FILE_LIMIT + 1)
    if len(data) > TOKEN_FILE_LIMIT:
        raise UsageError(f"--token-file {name}: larger than {TOKEN_FILE_LIMIT} bytes")
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise UsageError(f"--token-file {name}: the token must be ASCII") from None
    if not token:
        raise UsageError(f"--token-file {name}: the file holds no token")
    if not TOKEN_CHARS.fullmatch(token):
        raise UsageError(
            f"--token-file {name}: the token must be one line of letters, digits and . _ ~ -"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise UsageError(
            f"--token-file {name}: the token is too short ({len(token)} characters, "
            f"at least {MIN_TOKEN_LENGTH})"
        )
    return token


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values a browser sends to reach `host`:`port` (lower case). Bound to a
    loopback address, its usual loopback names; otherwise that address or name only."""
    bare = host.strip().lower().removeprefix("[").removesuffix("]")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(bare)
    except ValueError:
        ip = None
    if ip is not None and ip.is_unspecified:
        raise UsageError(
            f"--host {host} listens on every address, so no Host header can be checked: "
            "give the address or name the browsers will use"
        )
    own = f"[{bare}]" if ip is not None and ip.version == 6 else bare
    names = {own}
    if bare == "localhost" or (ip is not None and ip.is_loopback):
        names.update(LOOPBACK_NAMES)
    hosts = {f"{n}:{port}" for n in names}
    if port == 80:  # browsers leave the default port out of Host and Origin
        hosts.update(names)
    return frozenset(hosts)


def base_url(host: str, port: int) -> str:
    bare = host.strip().removeprefix("[").removesuffix("]")
    shown = f"[{bare}]" if ":" in bare else bare
    return f"http://{shown}" if port == 80 else f"http://{shown}:{port}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _page(status: int, title: str, text: str) -> web.Response:
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family:monospace;background:#0c181f;color:#eee;padding:2em'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def full_message(max_boards: int) -> str:
    return f"the board is full ({max_boards} open): close another tab"


class PathOnlyAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without the query string (it carries the token on the first
    visit), the Referer or the User-Agent."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class GuardedServer(Server):
    """textual-serve's server behind a token, a session cookie, Host and Origin checks and a
    cap on the number of board processes."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        token: str,
        max_boards: int = DEFAULT_MAX_BOARDS,
        title: str | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.allowed_hosts = allowed_hosts(host, port)
        self.max_boards = max_boards
        self.boards = 0  # websockets with a board process, now
        self.cookie_name = f"supportdesk_board_{port}"  # two servers on one host differ
        self._token = token
        self._session = secrets.token_urlsafe(32)

    def __repr__(self) -> str:  # never the secrets, in a traceback or a log
        return f"<GuardedServer {self.public_url} boards {self.boards}/{self.max_boards}>"

    # -- textual-serve's hooks ---------------------------------------------------------------
    def initialize_logging(self) -> None:
        """Plain lines on stderr: no rich tracebacks with local variables (they would show
        the token and the session value held in this module's frames)."""
        logging.basicConfig(
            level="DEBUG" if self.debug else "INFO",
            format="%(message)s",
            stream=sys.stderr,
            force=True,
        )

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: `run` says where the board is once the port is open."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.on_response_prepare.append(self._harden)
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, with the websocket URL on the Host the browser used (already checked), so
        `localhost` and `127.0.0.1` each keep their own cookie and origin."""
        if self.boards >= self.max_boards:
            return _page(503, "supportdesk SLA board", full_message(self.max_boards))
        origin = f"http://{request.headers['Host'].lower()}"
        router = request.app.router
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": "ws" + origin[4:] + str(router["websocket"].url_for()),
            "config": {"static": {"url": origin + "/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One board process per websocket, while fewer than `max_boards` run; past that the
        browser is told the board is full and no process starts."""
        if self.boards >= self.max_boards:
            websocket = web.WebSocketResponse()
            await websocket.prepare(request)
            message = full_message(self.max_boards)
            await websocket.send_bytes(f"\r\n  {message}\r\n".encode())
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=message.encode())
            return websocket
        self.boards += 1  # no await since the check: no other connection slips in between
        try:
            return await super().handle_websocket(request)
        finally:
            self.boards -= 1

    # -- the door ----------------------------------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").lower()
        if host not in self.allowed_hosts:
            return _page(
                421,
                "Wrong host",
                "This board answers only to the address it listens on "
                f"({', '.join(sorted(self.allowed_hosts))}).",
            )
        origin = request.headers.get("Origin")
        websocket = (
            request.match_info.route.name == "websocket"
            or request.headers.get("Upgrade", "").lower() == "websocket"
        )
        if (origin is not None or websocket) and (origin or "").lower() != f"http://{host}":
            return _page(403, "Foreign origin", "This board is not for other web pages.")
        if "token" in request.query:
            return self._exchange(request)
        cookie = request.cookies.get(self.cookie_name)
        if cookie is None:
            return _page(
                401,
                "Token needed",
                "Open the link with the token that `supportdesk serve` printed when it started.",
            )
        if not _same(cookie, self._session):
            return _page(
                403,
                "Not signed in",
                "This cookie is not this server's: open the link "
                "with the token that `supportdesk serve` printed.",
            )
        return await handler(request)

    def _exchange(self, request: web.Request) -> web.StreamResponse:
        """The right token buys the session cookie and a redirect to the same URL without it,
        so the token stays out of the address bar and the history."""
        given = request.query.getall("token")
        if len(given) != 1 or not _same(given[0], self._token):
            return _page(403, "Wrong token", "That token is not this server's.")
        rest = [(k, v) for k, v in request.query.items() if k != "token"]
        # one leading slash: "//evil.example/?token=..." must not redirect to another host
        location = "/" + request.path.lstrip("/\\") + (f"?{urlencode(rest)}" if rest else "")
        response = web.Response(
            status=303, headers={"Location": location, "Cache-Control": "no-store"}
        )
        response.set_cookie(
            self.cookie_name, self._session, httponly=True, samesite="Strict", path="/"
        )
        return response

    async def _harden(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")

    # -- running -----------------------------------------------------------------------------
    def run(self, announce: Callable[[str], None]) -> None:
        """Serve until SIGINT or SIGTERM; `announce` is called once the port is open."""
        self.initialize_logging()
        asyncio.run(self._run(announce))

    async def _run(self, announce: Callable[[str], None]) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(
            await self._make_app(),
            handle_signals=False,
            access_log_class=PathOnlyAccessLogger,
            shutdown_timeout=5,
        )
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, self.host, self.port).start()
            except OSError as exc:
                raise DeskError(
                    f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                ) from None
            announce(base_url(self.host, self.port))
            await stop.wait()
        finally:
            await runner.cleanup()


def token_url(url: str, token: str) -> str:
    return f"{url}/?{urlencode({'token': token})}"


def serve_board(
    command: str,
    *,
    host: str,
    port: int,
    token_file: Path | None,
    max_boards: int,
    title: str,
    echo: Callable[[str], None],
    what: str,
) -> None:
    """Run the guarded server; print one line with the URL (with the token when it was
    generated here, so it is shown exactly once)."""
    token = read_token_file(token_file) if token_file is not None else new_token()
    server = GuardedServer(
        command, host=host, port=port, token=token, max_boards=max_boards, title=title
    )

    def announce(url: str) -> None:
        if token_file is None:
            echo(f"serving {what} on {token_url(url, token)}")
        else:
            echo(f"serving {what} on {url}/ (open it once as ?token= the token in {token_file})")

    server.run(announce)
