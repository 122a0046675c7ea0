"""Files that go with an outgoing message (issue 20): a reply's `--attach` files are kept in
`attachments` with the outbox row's id; the sender adds them to the message it composed,
which then goes as MIME multipart/mixed (the text first), each file base64 as its bytes.
Redacted files (no bytes) are left out."""

from __future__ import annotations

from email.message import EmailMessage

from supportdesk.core.desk import Desk

SQL = "SELECT name, detected_type, data FROM attachments WHERE outbox_id = ? ORDER BY id"


def with_files(desk: Desk, msg: EmailMessage, outbox_id: int) -> EmailMessage:
    """`msg` with outbox row `outbox_id`'s files attached (unchanged when it has none)."""
    rows = desk.store.query(SQL, (outbox_id,))
    for name, kind, data in rows:
        if data is None:
            continue
        maintype, _slash, subtype = str(kind).partition("/")
        msg.add_attachment(
            bytes(data),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=str(name),
        )
    return msg
