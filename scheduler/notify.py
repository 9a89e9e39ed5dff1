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


class _Scrubber(logging.Filter):
    """Rewrites log records of the HTTP libraries Apprise sends through, which log request lines
    (with a webhook's path, token and all) at debug level, so that no secret reaches a log."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in sorted(self.secrets, key=len, reverse=True):
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
        return True


_SCRUBBER = _Scrubber()


@cache
def _apprise() -> Any:
    # Before the import: Apprise logs while it loads. Its log lines can carry a URL whole.
    quiet = logging.getLogger("apprise")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logging.getLogger(name).addFilter(_SCRUBBER)
    # Imported on first use: most commands never send, and Apprise loads its 100+ plugins on import.
    import apprise

    return apprise


def label(url: str) -> str | None:
    """The URL as Apprise prints it with privacy on (passwords and tokens masked), without its
    query options; None when Apprise knows no service for it."""
    plugin = _apprise().Apprise.instantiate(url)
    if plugin is None:
        return None
    shown = str(plugin.url(privacy=True)).split("?", 1)[0].rstrip("/")
    # Apprise masks what each service declares secret; a generic webhook's path may hold a token
    # it cannot know of (json://host/hooks/T0K3N...): mask long path segments with digits in them.
    head, _, path = shown.partition("://")
    host, _, rest = path.partition("/")
    masked = [_mask(seg) if len(seg) >= 8 and any(c.isdigit() for c in seg) else seg for seg in rest.split("/")]
    return f"{head}://{host}" + ("/" + "/".join(masked) if rest else "")


def _mask(segment: str) -> str:
    return f"{segment[0]}...{segment[-1]}"


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
    _SCRUBBER.secrets.update(secrets_of(url))
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return SendResult(False, f"Apprise knows no service for {scheme(url)}")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
    if ok:
        return SendResult(True)
    lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return SendResult(False, scrub("; ".join(lines[-2:]) or "the service refused the message", url)[:500])
