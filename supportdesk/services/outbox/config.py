"""The sender's configuration (issue 18): how mail leaves this host, and its credentials.

What every writer of mail agrees on (the desk's domain, From, signature, which automatic
messages go out) is policy. Only the transport lives here, in a TOML file of the OS user
who runs `supportdesk mail send`: `--config PATH`, else `default_config_path()`
(`~/.config/supportdesk/mail.toml` on Linux, the same folder as the audit keys):

    [transport]
    kind = "smtp"              # smtp (default) | maildir
    host = "smtp.example.com"
    port = 587                 # default: 587 for starttls, 465 for tls, 25 for none
    security = "starttls"      # starttls (default) | tls (implicit TLS) | none
    username = "desk@example.com"
    password_file = "~/.config/supportdesk/smtp-password"   # mode 0600, owned by you
    timeout = 30               # seconds, each network step
    cafile = "/etc/ssl/private-ca.pem"                       # a private CA (optional)
    # kind = "maildir"; maildir = "/var/spool/supportdesk/Maildir"

The password is read from its own file (never argv, the database, a log or an environment
variable that child processes inherit), and only when that file is private to the user.
A bad file is one line naming the key, exit 2 (`ConfigError`).
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportdesk.errors import UsageError

KINDS = ("smtp", "maildir")
SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
TRANSPORT_KEYS = (
    "kind",
    "host",
    "port",
    "security",
    "username",
    "password_file",
    "timeout",
    "cafile",
    "maildir",
)
MAX_CONFIG_BYTES = 64 * 1024
MAX_PASSWORD_BYTES = 4096


class ConfigError(UsageError):
    """The sender's configuration cannot be used (one line naming the file and key; exit 2)."""


@dataclass(frozen=True)
class TransportConfig:
    """How mail leaves: an SMTP relay, or a maildir a local MTA picks up. `password` is read
    from `password_file` when the file is loaded; it is never shown (repr hides it)."""

    kind: str = "smtp"
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    cafile: str | None = None
    maildir: str | None = None
    source: str = "(defaults)"

    @property
    def lease_s(self) -> int:
        """How long a sender holds a message: longer than one SMTP conversation can take
        (connect, greeting and TLS, MAIL, RCPT, DATA each within `timeout`)."""
        return int(3 * self.timeout + 60)

    def describe(self) -> str:
        """The transport in words, for the summary line (no credentials)."""
        if self.kind == "maildir":
            return f"maildir {self.maildir}"
        auth = f", as {self.username}" if self.username else ""
        return f"smtp {self.host}:{self.port} ({self.security}{auth})"


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("supportdesk", appauthor=False)) / "mail.toml"


def load_config(path: str | Path | None = None) -> TransportConfig:
    """The configuration at `path`, else at `default_config_path()`; ConfigError when it is
    missing, unreadable or wrong."""
    where = Path(path).expanduser() if path is not None else default_config_path()
    source = str(where)
    try:
        with open(where, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        hint = "" if path is not None else " (or give --config PATH)"
        raise ConfigError(f"no mail configuration at {source}{hint}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: over {MAX_CONFIG_BYTES:,} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not TOML: {exc}") from None
    return parse_config(data, source, base=where.parent)


def parse_config(data: dict[str, Any], source: str, base: Path | None = None) -> TransportConfig:
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {problem}")

    unknown = sorted(set(data) - {"transport"})
    if unknown:
        raise fail(unknown[0], "unknown table or key (expected [transport])")
    spec = data.get("transport")
    if not isinstance(spec, dict):
        raise fail("transport", "the [transport] table is required")
    unknown = sorted(set(spec) - set(TRANSPORT_KEYS))
    if unknown:
        raise fail(f"transport.{unknown[0]}", f"unknown key (known: {', '.join(TRANSPORT_KEYS)})")

    def text(key: str) -> str | None:
        if key not in spec:
            return None
        value = spec[key]
        if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
            raise fail(f"transport.{key}", "expected a non-empty string on one line")
        return value

    def path_of(key: str) -> str | None:
        value = text(key)
        if value is None:
            return None
        p = Path(value).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        return str(p)

    kind = text("kind") or "smtp"
    if kind not in KINDS:
        raise fail("transport.kind", f"expected one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "maildir":
        folder = path_of("maildir")
        if folder is None:
            raise fail("transport.maildir", 'required for kind = "maildir" (a folder)')
        return TransportConfig(kind="maildir", maildir=folder, source=source)
    security = text("security") or "starttls"
    if security not in SECURITIES:
        raise fail("transport.security", f"expected one of {', '.join(SECURITIES)}")
    host = text("host")
    if host is None:
        raise fail("transport.host", 'required for kind = "smtp" (the relay\'s name)')
    port = spec.get("port", DEFAULT_PORTS[security])
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise fail("transport.port", "expected a port number from 1 to 65535")
    timeout = spec.get("timeout", 30)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 1 <= timeout <= 600:
        raise fail("transport.timeout", "expected seconds from 1 to 600")
    username = text("username")
    password_file = path_of("password_file")
    if username is not None and security == "none":
        raise fail(
            "transport.security",
            '"none" sends the password in clear: use starttls or tls with a username',
        )
    if (username is None) != (password_file is None):
        key = "transport.password_file" if username is not None else "transport.username"
        raise fail(key, "username and password_file go together")
    cafile = path_of("cafile")
    if cafile is not None and not os.path.isfile(cafile):
        raise fail("transport.cafile", f"no such file: {cafile}")
    password = (
        read_password(password_file, f"{source}: transport.password_file")
        if password_file
        else None
    )
    return TransportConfig(
        kind="smtp",
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        timeout=float(timeout),
        cafile=cafile,
        source=source,
    )


def read_password(path: str, what: str) -> str:
    """The first line of a file that only its owner, this user, may read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot open {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{what}: {path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise ConfigError(f"{what}: {path} belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o077:
            raise ConfigError(
                f"{what}: {path} is mode {stat.S_IMODE(st.st_mode):04o}; "
                f"it must be 0600 or stricter (chmod 600 {path})"
            )
        data = os.read(fd, MAX_PASSWORD_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_PASSWORD_BYTES:
        raise ConfigError(f"{what}: {path} is over {MAX_PASSWORD_BYTES} bytes")
    try:
        password = data.decode("utf-8").split("\n", 1)[0].rstrip("\r")
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8") from None
    if not password:
        raise ConfigError(f"{what}: {path} is empty")
    return password
