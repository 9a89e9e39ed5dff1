"""Apprise behind two calls: check an alert URL (and give its printable, secret-free form), send one
message to it. The URLs carry passwords and tokens, so nothing here prints, logs or returns one whole.

Apprise's own log lines can hold a service's URL with its token in it (at debug level), so its logger
never reaches ours: a send captures Apprise's warnings, scrubs every secret-looking part of the URL
out of them, and returns that as the reason it failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# Parts of a URL shorter than this are not worth masking (and would mask ordinary words).
_MIN_SECRET = 4


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


@cache
def _apprise() -> Any:
    # Imported on first use: most commands never send, and Apprise loads its 100+ plugins on import.
    import apprise

    quiet = logging.getLogger("apprise")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    return apprise


def label(url: str) -> str | None:
    """The URL as Apprise prints it with privacy on (passwords and tokens masked), without its
    query options; None when Apprise knows no service for it."""
    plugin = _apprise().Apprise.instantiate(url)
    if plugin is None:
        return None
    return str(plugin.url(privacy=True)).split("?", 1)[0].rstrip("/")


def scheme(url: str) -> str:
    """The URL's scheme alone, the only part safe to show when the URL is not understood."""
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return f"{match.group(1)}://" if match else "(no scheme)"


def secrets_of(url: str) -> list[str]:
    """Every part of `url` that could be a secret: user, password, path segments, query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [url, parts.username or "", parts.password or "", *parts.path.split("/"),
             *(v for _, v in parse_qsl(parts.query)), parts.fragment]
    found += [unquote(f) for f in found]
    return sorted({f for f in found if len(f) >= _MIN_SECRET}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` with every secret-looking part of `url` replaced by ***."""
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return text


def send(url: str, title: str, body: str) -> SendResult:
    """Send one plain-text message to `url`; on failure, say why (with the URL's secrets scrubbed)."""
    apprise = _apprise()
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return SendResult(False, f"Apprise knows no service for {scheme(url)}")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
    if ok:
        return SendResult(True)
    lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return SendResult(False, scrub("; ".join(lines[-2:]) or "the service refused the message", url)[:500])
