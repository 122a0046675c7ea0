"""How a composed message leaves the desk (issue 18): SMTP with the standard library, or a
maildir a local MTA picks up. No database here: the sender leases a row, composes it, hands
it to a transport outside any transaction, and records the outcome afterwards.

Outcomes are classified the way the rest of the sender needs them:
- `Outcome("sent", reply)`: the server accepted the message (2xx to DATA); `reply` is its
  answer ("250 2.0.0 Ok: queued as ...").
- `Outcome("deferred", reply)`: a 4xx to MAIL, RCPT or DATA: try this message again later.
- `Outcome("failed", reply)`: a 5xx to RCPT or DATA: this message cannot be delivered.
- `TransportFault`: the transport itself is broken (connection refused, TLS or certificate
  failure, AUTH refused (535), relay or sender refused (5.7.1 / 5xx to MAIL), a dropped
  connection, a timeout): every message taken is deferred, and the lead's board alarms.

TLS always verifies the server (`ssl.create_default_context()`, with `cafile` for a private
CA); `security = "none"` is refused with a username by the configuration already, and AUTH
is never attempted on a connection without TLS.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Protocol

from supportdesk.services.outbox.config import TransportConfig

MAX_REPLY = 500  # characters of a server's answer kept


@dataclass(frozen=True)
class Outcome:
    state: str  # sent | deferred | failed
    reply: str


class TransportFault(Exception):
    """The transport cannot deliver anything now (not this message's fault)."""


class Transport(Protocol):
    def deliver(self, envelope_from: str, recipient: str, data: bytes) -> Outcome:
        """Hand one message over; TransportFault when the transport itself fails."""

    def close(self) -> None: ...


def reply_text(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    text = " ".join(text.split())
    return f"{code} {text}"[:MAX_REPLY]


def _relay_refused(code: int, text: str) -> bool:
    """A 5xx that refuses the relay or the desk itself (5.7.x with "relay", or "authentication
    required"): the transport's configuration is wrong, not the recipient."""
    low = text.lower()
    return code >= 500 and (
        ("5.7." in low and ("relay" in low or "auth" in low)) or "relaying denied" in low
    )


class SmtpTransport:
    """One SMTP connection, opened on the first message and reused for the rest of a run."""

    def __init__(self, config: TransportConfig, local_hostname: str | None = None) -> None:
        self.config = config
        self.local_hostname = local_hostname or socket.gethostname()
        self._conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.cafile)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        where = f"{c.host}:{c.port}"
        conn: smtplib.SMTP | None = None
        try:
            if c.security == "tls":
                conn = smtplib.SMTP_SSL(
                    c.host,
                    c.port,
                    local_hostname=self.local_hostname,
                    timeout=c.timeout,
                    context=self._context(),
                )
            else:
                conn = smtplib.SMTP(
                    c.host, c.port, local_hostname=self.local_hostname, timeout=c.timeout
                )
            conn.ehlo_or_helo_if_needed()
            if c.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TransportFault(f"{where} does not offer STARTTLS")
                conn.starttls(context=self._context())
                conn.ehlo()
            if c.username is not None:
                assert c.security != "none"  # the configuration refuses it
                conn.login(c.username, c.password or "")
        except TransportFault:
            _quietly_close(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(conn)
            raise TransportFault(
                f"{where} refused the login: {reply_text(exc.smtp_code, exc.smtp_error)}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            _quietly_close(conn)
            raise TransportFault(f"{where}: {reply_text(exc.smtp_code, exc.smtp_error)}") from None
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(conn)
            raise TransportFault(
                f"{where}: TLS certificate not trusted: {exc.verify_message}"
            ) from None
        except (ssl.SSLError, smtplib.SMTPException, OSError) as exc:
            _quietly_close(conn)
            raise TransportFault(f"{where}: {_describe(exc)}") from None
        return conn

    def deliver(self, envelope_from: str, recipient: str, data: bytes) -> Outcome:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            code, msg = conn.mail(envelope_from)
            if code != 250:
                text = reply_text(code, msg)
                if code >= 500:  # the desk's own address refused: nothing can go
                    raise TransportFault(f"the server refused the sender: {text}")
                self._reset()
                return Outcome("deferred", text)
            code, msg = conn.rcpt(recipient)
            if code not in (250, 251):
                text = reply_text(code, msg)
                self._reset()
                if _relay_refused(code, text):
                    raise TransportFault(f"the server refused to relay: {text}")
                return Outcome("failed" if code >= 500 else "deferred", text)
            answer: bytes | str
            try:
                code, answer = conn.data(data)  # raises on the answer to DATA, returns the last
            except smtplib.SMTPDataError as exc:
                code, answer = exc.smtp_code, exc.smtp_error
            text = reply_text(code, answer)
            if 200 <= code < 300:
                return Outcome("sent", text)
            self._reset()
            return Outcome("failed" if code >= 500 else "deferred", text)
        except TransportFault:
            self.close()
            raise
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            # a dropped connection (before or during DATA), a timeout: the server may or may
            # not have the message; nothing was acknowledged, so it is tried again later
            self.close()
            raise TransportFault(
                f"{self.config.host}:{self.config.port}: {_describe(exc)}"
            ) from None

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(conn)


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"connection dropped ({exc or 'no reason given'})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"[:MAX_REPLY]


class MaildirTransport:
    """Each message becomes a file in a maildir (for a local MTA's pick-up, or to try the
    desk out): the envelope is kept as `Return-Path` and `X-Original-To` lines on top."""

    def __init__(self, config: TransportConfig) -> None:
        assert config.maildir is not None
        self.path = config.maildir
        self._box: mailbox.Maildir | None = None

    def deliver(self, envelope_from: str, recipient: str, data: bytes) -> Outcome:
        try:
            if self._box is None:
                # an empty folder (or none) becomes a maildir: Maildir(create=True) makes
                # tmp/new/cur only when the folder itself is missing
                for sub in ("", "tmp", "new", "cur"):
                    os.makedirs(os.path.join(self.path, sub), mode=0o700, exist_ok=True)
                self._box = mailbox.Maildir(self.path, create=False)
            top = f"Return-Path: <{envelope_from}>\r\nX-Original-To: {recipient}\r\n"
            key = self._box.add(top.encode("ascii", "replace") + data)
        except OSError as exc:
            raise TransportFault(f"maildir {self.path}: {_describe(exc)}") from None
        return Outcome("sent", f"maildir {key}")

    def close(self) -> None:
        self._box = None


def open_transport(config: TransportConfig) -> Transport:
    if config.kind == "maildir":
        return MaildirTransport(config)
    return SmtpTransport(config)
