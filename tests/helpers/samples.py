"""Samples from outside: rows of a Kaggle-style ticket export, and mail as it arrives."""

from __future__ import annotations

import csv
import io
import itertools

KAGGLE_HEADER = [
    "Ticket ID",
    "Customer Name",
    "Customer Email",
    "Customer Age",
    "Product Purchased",
    "Ticket Type",
    "Ticket Subject",
    "Ticket Description",
    "Ticket Status",
    "Resolution",
    "Ticket Priority",
    "Ticket Channel",
    "First Response Time",
    "Time to Resolution",
    "Customer Satisfaction Rating",
]


def kaggle_row(ref: str, email: str, status: str = "Open", **kw: str) -> list[str]:
    row = {
        "Ticket ID": ref,
        "Customer Name": kw.pop("name", "Marisa Obrien"),
        "Customer Email": email,
        "Customer Age": "32",
        "Product Purchased": "GoPro Hero",
        "Ticket Type": "Technical issue",
        "Ticket Subject": "Product setup",
        "Ticket Description": "I'm having an issue with the {product_purchased}. Please assist.",
        "Ticket Status": status,
        "Resolution": "",
        "Ticket Priority": "High",
        "Ticket Channel": "Email",
        "First Response Time": "",
        "Time to Resolution": "",
        "Customer Satisfaction Rating": "",
    }
    row.update(kw)
    return [row[h] for h in KAGGLE_HEADER]


def kaggle_csv(*rows: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(KAGGLE_HEADER)
    writer.writerows(rows)
    return out.getvalue()


_ids = itertools.count(1)


def message(sender: str, subject: str, body: str = "Hello,\n\nthe site is down.\n") -> bytes:
    """A message with a Message-ID of its own (a repeated one is filed once)."""
    return (
        f"From: Someone <{sender}>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{next(_ids)}@example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}"
    ).encode()
