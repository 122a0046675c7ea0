"""The policy's `[request_words]` table (issue 19): the keywords that suggest each request
type, replacing the defaults of the types it names (rules/request_words.py).

    [request_words]
    password_reset = ["password", "login", "reset"]
    contact_change = ["registrant", "change of contact"]   # an empty list: never suggested
"""

from __future__ import annotations

import unicodedata
from typing import Any

from supportdesk.rules.policy_mail import Checker, KeyPath
from supportdesk.rules.request_types import DEFAULT_REQUEST, REQUEST_TYPES
from supportdesk.rules.request_words import DEFAULT_WORDS, RequestWords, words_of

WORD_TYPES = tuple(r for r in REQUEST_TYPES if r != DEFAULT_REQUEST)
MAX_KEYWORDS = 100  # per type
MAX_KEYWORD = 60  # characters


def parse_request_words(p: Checker, value: Any, path: KeyPath) -> RequestWords:
    spec = p.table(value, path, WORD_TYPES)
    words = dict(DEFAULT_WORDS)
    for request, items in spec.items():
        where = (*path, request)
        if not isinstance(items, list):
            p.fail(where, "expected an array of keywords")
        if len(items) > MAX_KEYWORDS:
            p.fail(where, f"expected at most {MAX_KEYWORDS} keywords")
        keywords = []
        for item in items:
            keyword = p.string(item, where).strip()
            if len(keyword) > MAX_KEYWORD:
                p.fail(where, f"a keyword is at most {MAX_KEYWORD} characters: {keyword[:20]!r}…")
            if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in keyword):
                p.fail(where, f"a keyword holds no control or invisible characters: {keyword!r}")
            if not words_of(keyword):
                p.fail(where, f"a keyword needs a letter or digit: {keyword!r}")
            keywords.append(keyword)
        words[request] = tuple(dict.fromkeys(keywords))
    return RequestWords(tuple((r, words.get(r, ())) for r in WORD_TYPES))
