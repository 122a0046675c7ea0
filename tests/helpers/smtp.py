"""A real SMTP server on a loopback port for the sender's tests (issue 18): aiosmtpd with
STARTTLS (or implicit TLS) on a certificate from a test CA (trustme), AUTH that needs TLS,
and handlers that answer 4xx or 5xx, refuse the login (535), drop the connection during
DATA, or stop at a step until the test lets them go (to kill a sender there).

`SmtpServer.messages` is what the server accepted (the 250 to DATA was sent), in order.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from supportdesk.core.desk import Desk
from supportdesk.rules.policy_parse import parse_policy
from supportdesk.services import sla
from supportdesk.services.outbox.queueing import queue_message
from tests.helpers.policy import POLICY

USER, PASSWORD = "desk@support.example", "correct horse battery staple"
DOMAIN = "support.example"
MAIL = f"""
[mail]
domain = "{DOMAIN}"
from_name = "Bluefin Support"
signature = "The support desk"
per_domain_per_minute = 1000
max_defer = "2h"
"""


def with_mail(desk: Desk, extra: str = "") -> None:
    sla.load_policy(desk, parse_policy(POLICY + MAIL + extra, "mail.toml"))


def queue(
    desk: Desk,
    to: str = "priya@bluefin.example",
    subject: str = "Re: [#5001] Site down",
    body: str = "We restarted PHP.",
    **kw: object,
) -> int:
    with desk.write() as (session, _record):
        row = queue_message(
            session,
            desk,
            kind="reply",
            to_addr=to,
            subject=subject,
            body=body,
            **kw,  # type: ignore[arg-type]
        )
        assert row is not None
        return row.id


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """The body as text, line ends as in Python."""
        return str(self.message.get_content()).replace("\r\n", "\n")

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Behaviour:
    """What the server answers. `rcpt` / `data`: a reply line instead of 250 (e.g. "450 4.2.0
    mailbox busy", "550 5.1.1 no such user"), per recipient when a dict; `drop_data`: close
    the connection on DATA without answering; `hold_rcpt` / `hold_data`: block at that step
    until `release` is set (`at_rcpt` / `at_data` are set when a client gets there)."""

    rcpt: str | dict[str, str] | None = None
    data: str | None = None
    drop_data: bool = False
    hold_rcpt: bool = False
    hold_data: bool = False
    # at DATA with the message accepted: tell the test, wait for `release`, then answer 250
    accept_then_hold: bool = False
    at_rcpt: threading.Event = field(default_factory=threading.Event)
    at_data: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        b = self.server.behaviour
        if b.hold_rcpt:
            b.at_rcpt.set()
            await asyncio.get_running_loop().run_in_executor(None, b.release.wait)
        answer = b.rcpt.get(address) if isinstance(b.rcpt, dict) else b.rcpt
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        b = self.server.behaviour
        got = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        if b.drop_data:
            server.transport.close()
            return "421 4.3.0 closing"
        if b.hold_data:  # a client killed mid-DATA: nothing is accepted
            b.at_data.set()
            await asyncio.get_running_loop().run_in_executor(None, b.release.wait)
            return "451 4.3.0 aborted"
        if b.data:
            return b.data
        self.server.accept(got)
        if b.accept_then_hold:
            b.at_data.set()
            await asyncio.get_running_loop().run_in_executor(None, b.release.wait)
        return "250 2.0.0 Ok: queued as Q" + str(len(self.server.messages))


class _Controller(Controller):
    """Listens on a port the system picks (port 0), read back before the first connection."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Tls:
    """A test CA and a certificate for 127.0.0.1 and localhost signed by it."""

    ca: trustme.CA
    cafile: Path

    @classmethod
    def make(cls, folder: Path) -> Tls:
        ca = trustme.CA()
        cafile = folder / "test-ca.pem"
        ca.cert_pem.write_to_path(str(cafile))
        return cls(ca, cafile)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        return ctx


class SmtpServer:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.messages: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.controller: _Controller | None = None

    def accept(self, got: Received) -> None:
        with self._lock:
            self.messages.append(got)

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)

    @property
    def port(self) -> int:
        assert self.controller is not None
        return int(self.controller.port)

    def message_ids(self) -> list[str]:
        return [m.message_id for m in self.messages]


@contextmanager
def smtp_server(
    tls: Tls | None = None,
    *,
    implicit_tls: bool = False,
    auth: bool = False,
    behaviour: Behaviour | None = None,
) -> Iterator[SmtpServer]:
    """A running server on 127.0.0.1: plain, STARTTLS (`tls`), or implicit TLS; with
    `auth`, AUTH PLAIN/LOGIN for USER / PASSWORD, offered only over TLS and required."""
    srv = SmtpServer(behaviour)
    kwargs: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        kwargs["ssl_context"] = tls.server_context()
    elif tls is not None:
        kwargs["tls_context"] = tls.server_context()
        kwargs["require_starttls"] = True
    if auth:
        # (aiosmtpd knows TLS only from STARTTLS: on implicit TLS it must not ask for it)
        kwargs.update(
            authenticator=srv.authenticate, auth_required=True, auth_require_tls=not implicit_tls
        )
    controller = _Controller(
        Handler(srv), hostname="127.0.0.1", port=0, server_hostname="localhost", **kwargs
    )
    srv.controller = controller
    controller.start()
    try:
        yield srv
    finally:
        srv.behaviour.release.set()
        controller.stop()


def write_config(folder: Path, server: SmtpServer | None, tls: Tls | None, **keys: Any) -> Path:
    """A mail.toml for `server` (security as the server speaks it unless given), with the
    password in a 0600 file when `username` is given; `keys` override or add keys."""
    lines = ["[transport]"]
    spec: dict[str, Any] = {}
    if server is not None:
        spec.update(host="127.0.0.1", port=server.port, timeout=10)
        spec["security"] = "starttls" if tls is not None else "none"
    if tls is not None:
        spec["cafile"] = str(tls.cafile)
    password = keys.pop("password", None)
    if password is not None:
        pw = folder / "smtp-password"
        pw.write_text(password + "\n")
        pw.chmod(0o600)
        spec["password_file"] = str(pw)
    spec.update(keys)
    for key, value in spec.items():
        if value is None:
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    path = folder / "mail.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
