"""Fingerprints of article text, so the same story under another URL is stored once."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+")


def normalize_text(text: str) -> str:
    """Reduce text to its words: case, punctuation and whitespace differences disappear."""
    return " ".join(_WORD.findall(text.casefold()))


def content_hash(text: str) -> str:
    """Return the SHA-256 (hex) of the normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
