"""Conditional requests for discovery URLs: ask "changed since?" and believe the answer only as
far as the server has earned it.

A 304 ends a feed, sitemap or listing branch at the cost of one small response. Some servers send
the same ETag for changed content, and would answer 304 wrongly: every VERIFY_EVERY-th check is
made unconditionally, and a server caught with an unchanged validator on a changed body is not
trusted again for that URL. A 200 whose body hashes as before ends the branch too, whatever the
validators say.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from store.records import ValidatorAnswer, ValidatorRecord

VERIFY_EVERY = 10


@dataclass(frozen=True)
class Verdict:
    changed: bool
    distrust: bool


def asked_url(request: Any) -> str:
    """The URL a Scrapy request was first made for, before any redirect: a discovery URL's
    validators are kept under it, so that the next check asks it conditionally (the redirect
    carries the headers to where it leads, which can answer 304)."""
    return str((request.meta.get("redirect_urls") or [request.url])[0])


def conditional_headers(record: ValidatorRecord | None, verify_every: int = VERIFY_EVERY) -> dict[str, str]:
    """Return the If-None-Match / If-Modified-Since headers to send, or none."""
    if record is None or not record.trusted or record.not_modified + 1 >= verify_every:
        return {}
    headers = {}
    if record.etag:
        headers["If-None-Match"] = record.etag
    if record.last_modified:
        headers["If-Modified-Since"] = record.last_modified
    return headers


def body_hash(body: bytes) -> str:
    """Return the SHA-256 of a response body."""
    return hashlib.sha256(body).hexdigest()


def judge(record: ValidatorRecord | None, etag: str | None, last_modified: str | None, digest: str) -> Verdict:
    """Decide whether a 200 body is new, and whether its server's validators just proved wrong."""
    if record is None:
        return Verdict(changed=True, distrust=False)
    changed = digest != record.content_hash
    same_validator = (etag is not None and etag == record.etag) or (
        etag is None and last_modified is not None and last_modified == record.last_modified)
    return Verdict(changed=changed, distrust=changed and same_validator)


@dataclass(frozen=True)
class Reading:
    """What a discovery URL's answer means: whether it holds anything new, and what to remember of it."""

    changed: bool
    answer: ValidatorAnswer


def read_answer(record: ValidatorRecord | None, status: int, etag: str | None, last_modified: str | None,
                body: bytes) -> Reading:
    """Read a discovery URL's answer (a 304, or a body) against what it answered last (`record`)."""
    if status == 304:
        return Reading(changed=False, answer=ValidatorAnswer(not_modified=True))
    digest = body_hash(body)
    verdict = judge(record, etag, last_modified, digest)
    return Reading(changed=verdict.changed, answer=ValidatorAnswer(etag=etag, last_modified=last_modified,
                                                                   content_hash=digest, distrust=verdict.distrust))
