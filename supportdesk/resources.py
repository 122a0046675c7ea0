"""Where the shipped data (policy presets, demo fixtures) lives, installed or in a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    """The top-level `data/` folder: packaged as `supportdesk_data` in a wheel."""
    checkout = Path(__file__).resolve().parent.parent / "data"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("supportdesk_data")))


def data_path(*parts: str) -> Path:
    return data_dir().joinpath(*parts)
