"""Which request type a ticket's words suggest (issue 19): pure, no database.

A suggestion is shown beside the request type, with the words it matched; it is never
applied. Only a person sets a ticket's type, and words never hold a ticket: seed 001 counts
"problems logging into an account [...] ftp login incorrect" as free general support, so a
"login" in a subject is a hint to look, not a restricted request.

The keywords are policy data: these defaults, replaced per type by the policy's
`[request_words]` table (rules/policy_words.py). Matching is on whole words, after Unicode
NFKC and case folding (a full-width "ＰＡＳＳＷＯＲＤ" is "password"; "logging" is not
"login"); a keyword of several words matches them in a row. Invisible format characters
(zero-width, bidi controls, soft hyphens) are dropped first, so they neither split a word nor
join two. "DNS" is not a contact change: a DNS record is technical work on a service, while
a domain's registrant and its transfer are the contact changes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from supportdesk.rules.request_types import REQUEST_TYPES

# how much of a ticket's text is read: the subject and the start of the first message (a
# long mail's quoted history or signature says nothing more about what is asked)
TEXT_LIMIT = 20_000
MAX_SHOWN = 8  # matched words kept with a suggestion

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    "password_reset": (
        "password",
        "passwords",
        "passwd",
        "login",
        "log in",
        "reset",
        "credential",
        "credentials",
        "locked out",
    ),
    "billing": (
        "billing",
        "bill",
        "invoice",
        "invoices",
        "payment",
        "payments",
        "refund",
        "charged",
        "overcharged",
        "credit card",
        "debit order",
    ),
    "cancellation": (
        "cancel",
        "cancellation",
        "cancelling",
        "canceling",
        "terminate",
        "termination",
        "close my account",
        "close our account",
        "delete my account",
    ),
    "contact_change": (
        "registrant",
        "domain transfer",
        "transfer my domain",
        "transfer the domain",
        "transfer of ownership",
        "change of ownership",
        "change of contact",
        "contact change",
        "change contact",
        "contact details",
        "new owner",
    ),
}

_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# a word: letters and digits with any combining marks (the underscore separates)
_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")


def words_of(text: str) -> list[str]:
    """`text` as whole words, normalised (NFKC, case folded, invisible characters dropped)."""
    folded = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold()
    return _WORD.findall(folded)


@dataclass(frozen=True)
class Suggestion:
    """The request type a ticket's words suggest, and the keywords they matched (as the
    policy lists them, in the order they first occur)."""

    request_type: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class RequestWords:
    """Keywords per request type (technical, the default, has none)."""

    by_type: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
        (r, DEFAULT_WORDS[r]) for r in REQUEST_TYPES if r in DEFAULT_WORDS
    )

    @cached_property
    def _keys(self) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
        """(type, keyword, its words) for every keyword that has words."""
        out = []
        for request, keywords in self.by_type:
            for keyword in keywords:
                parts = tuple(words_of(keyword))
                if parts:
                    out.append((request, keyword, parts))
        return tuple(out)

    def words_for(self, request: str) -> tuple[str, ...]:
        return dict(self.by_type).get(request, ())

    def suggest(self, *texts: str) -> Suggestion | None:
        """The type whose keywords match most (distinct keywords) in `texts`; on a tie the
        one matched first; None when nothing matches."""
        text = "\n".join(texts)[:TEXT_LIMIT]
        tokens = words_of(text)
        where: dict[str, list[int]] = {}
        for i, token in enumerate(tokens):
            where.setdefault(token, []).append(i)
        found: dict[str, list[tuple[int, str]]] = {}
        for request, keyword, parts in self._keys:
            n = len(parts)
            first = next(
                (i for i in where.get(parts[0], ()) if tuple(tokens[i : i + n]) == parts), None
            )
            if first is not None:
                found.setdefault(request, []).append((first, keyword))
        if not found:
            return None
        order = {r: i for i, r in enumerate(REQUEST_TYPES)}
        best = min(found, key=lambda r: (-len(found[r]), min(found[r])[0], order.get(r, 99)))
        matched = tuple(dict.fromkeys(k for _i, k in sorted(found[best])))
        return Suggestion(best, matched[:MAX_SHOWN])


DEFAULT = RequestWords()


def describe(request_type: str, suggested: str | None, matched: Sequence[str]) -> str:
    """A ticket's request type with its suggestion, in words: "technical — suggested:
    password reset (matched “password”, “reset”)"."""
    text = request_type.replace("_", " ")
    if suggested is None:
        return text
    quoted = ", ".join(f"“{w}”" for w in matched)
    what = "as suggested" if suggested == request_type else "suggested: "
    what += "" if suggested == request_type else suggested.replace("_", " ")
    return f"{text} — {what} (matched {quoted})" if quoted else f"{text} — {what}"
