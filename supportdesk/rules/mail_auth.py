"""Whether a received message is authenticated as coming from its From: domain (issue 19,
item 2a): pure rules over its headers, no database, no DNS.

The desk does not check DKIM or DMARC itself: its receiving server does, and writes the
verdict in an `Authentication-Results` header (RFC 8601) under its own authserv-id (the
policy's `[mail] authserv_id`). Only such a header counts, and only when it stands ABOVE the
topmost `Received:` header: the receiving server's own trace line. Everything below that line
came with the message from outside, where a sender can write any `Authentication-Results`
they like (the server is expected to strip incoming ones carrying its id; this rule does not
rely on it). A message with no `Received:` header at all came through no server of ours.

A message counts as from its From: domain when one of those headers says `dmarc=pass` with
`header.from` that domain, or `dkim=pass` with `header.d` aligned to it. Alignment is
relaxed, as "equal or subdomain": the From domain and `d=` are equal, or one is a
subdomain of the other (mail.bluefin.example and bluefin.example), and `d=` has at least two
labels (a signature for a bare top-level domain aligns with nothing). `spf=pass` alone never
counts: SPF proves the envelope sender's domain, which need not be the From: domain. The
message must have exactly one From: header naming exactly one mailbox.

This proves the domain, not the person: restricted requests and confirmations of held
tickets need a one-time code besides (rules/one_time_codes.py).
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_HEADER = 8_000  # characters of one Authentication-Results header read
MAX_RESULTS = 40  # resinfo clauses read per header


@dataclass(frozen=True)
class Result:
    """One resinfo: `method=result` with its properties (`header.d`, `header.from`, ...),
    method, result and property names lower-cased."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    """One Authentication-Results header: who wrote it (authserv-id, lower-cased) and what
    it says."""

    authserv_id: str
    results: tuple[Result, ...]


@dataclass(frozen=True)
class Verdict:
    """Whether the message is authenticated as from `domain`; `why` says why not (or how)."""

    ok: bool
    why: str
    address: str | None = None  # the one From: mailbox, lower-cased
    domain: str | None = None


# -- RFC 8601 syntax -------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    """Words, quoted strings (unquoted, as values), and the separators `;`, `=`, `/`;
    comments in parentheses (nested, with quoted-pairs) dropped."""
    out: list[str] = []
    word: list[str] = []
    depth = 0
    i = 0

    def flush() -> None:
        if word:
            out.append("".join(word))
            word.clear()

    while i < len(text):
        c = text[i]
        if depth:
            if c == "\\":
                i += 1
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
        elif c == "(":
            flush()
            depth = 1
        elif c == '"':
            flush()
            i += 1
            quoted: list[str] = []
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                quoted.append(text[i])
                i += 1
            out.append('"' + "".join(quoted))  # marked as a value: never a separator
        elif c in ";=/":
            flush()
            out.append(c)
        elif c.isspace():
            flush()
        else:
            word.append(c)
        i += 1
    flush()
    return out


def _value(token: str) -> str:
    return token[1:] if token.startswith('"') else token


def parse_results(value: str) -> AuthResults | None:
    """One Authentication-Results header value, or None when it has no authserv-id."""
    tokens = _tokens(" ".join(value[:MAX_HEADER].split()))
    clauses: list[list[str]] = [[]]
    for t in tokens:
        if t == ";":
            clauses.append([])
        else:
            clauses[-1].append(t)
    head = clauses[0]
    if not head or head[0] in ("=", "/"):
        return None
    authserv = _value(head[0]).lower()
    results: list[Result] = []
    for clause in clauses[1 : MAX_RESULTS + 1]:
        found = _resinfo(clause)
        if found is not None:
            results.append(found)
    return AuthResults(authserv, tuple(results))


def _resinfo(clause: list[str]) -> Result | None:
    """`method[/version] = result [reason=...] *(ptype.property = value)`; None for `none`
    or a clause that does not parse."""
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(clause):
        key = clause[i]
        if key in ("=", "/") or key.startswith('"'):
            return None
        j = i + 1
        if not pairs and j < len(clause) and clause[j] == "/":  # method/version
            j += 2
        if j + 1 < len(clause) and clause[j] == "=" and clause[j + 1] not in ("=", "/", ";"):
            pairs.append((key.lower(), _value(clause[j + 1])))
            i = j + 2
            continue
        break  # a clause that does not parse further: what was read stands
    return _result(pairs) if pairs else None


def _result(pairs: list[tuple[str, str]]) -> Result:
    method, result = pairs[0]
    props = {}
    for key, val in pairs[1:]:
        if key != "reason" and key not in props:
            props[key] = val
    return Result(method, result.lower(), props)


# -- the decision ----------------------------------------------------------------------------
def from_mailbox(values: Sequence[str]) -> tuple[str | None, str]:
    """The one From: mailbox (lower-cased) or None, and why not."""
    if len(values) != 1:
        return None, f"{len(values)} From: headers (exactly one is needed)"
    pairs = [(n, a) for n, a in email.utils.getaddresses([values[0]]) if n or a]
    if len(pairs) != 1:
        return None, f"{len(pairs)} From: mailboxes (exactly one is needed)"
    address = pairs[0][1].strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return None, "the From: mailbox has no usable address"
    return address, ""


def aligned(from_domain: str, d: str) -> bool:
    """Relaxed alignment as "equal or subdomain" (the module's docstring)."""
    a, b = from_domain.lower().rstrip("."), d.lower().rstrip(".")
    if not a or not b or b.count(".") < 1:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _domain_of(value: str) -> str:
    """`header.from` may name a domain or (some servers) an address."""
    return value.rpartition("@")[2].strip().lower().rstrip(".")


def trusted_results(
    headers: Sequence[tuple[str, str]], authserv_id: str
) -> tuple[list[AuthResults], str]:
    """The desk's server's Authentication-Results: those with its authserv-id standing above
    the topmost Received: header, in the order given (top first); and why there are none."""
    want = authserv_id.strip().lower()
    found: list[AuthResults] = []
    foreign = 0
    for name, value in headers:
        key = name.strip().lower()
        if key == "received":
            if not found:
                why = f"no Authentication-Results of {authserv_id} above its Received: header" + (
                    f" ({foreign} from other servers)" if foreign else ""
                )
                return [], why
            return found, ""
        if key == "authentication-results":
            parsed = parse_results(value)
            if parsed is not None and parsed.authserv_id == want:
                found.append(parsed)
            else:
                foreign += 1
    return [], "no Received: header: the message came through no server of the desk's"


def authenticate(
    headers: Sequence[tuple[str, str]], from_values: Sequence[str], authserv_id: str | None
) -> Verdict:
    """Whether the message whose headers are `headers` (all of them, or at least every
    Authentication-Results and Received, in order, top first) is authenticated as from its
    From: domain. `from_values`: its From: header values."""
    if not authserv_id:
        return Verdict(False, "the policy names no [mail] authserv_id: no mail is authenticated")
    address, why = from_mailbox(from_values)
    if address is None:
        return Verdict(False, why)
    domain = address.rpartition("@")[2].rstrip(".")
    trusted, why = trusted_results(headers, authserv_id)
    if not trusted:
        return Verdict(False, why, address, domain)
    seen: list[str] = []
    for header in trusted:
        for r in header.results:
            seen.append(f"{r.method}={r.result}")
            if r.result != "pass":
                continue
            if r.method == "dmarc" and _domain_of(r.props.get("header.from", "")) == domain:
                return Verdict(True, f"dmarc=pass for {domain}", address, domain)
            d = r.props.get("header.d", "")
            if r.method == "dkim" and aligned(domain, d):
                return Verdict(
                    True, f"dkim=pass, d={d.lower()} aligned with {domain}", address, domain
                )
    said = ", ".join(dict.fromkeys(seen)) or "no results"
    return Verdict(False, f"{authserv_id} did not authenticate {domain} ({said})", address, domain)
