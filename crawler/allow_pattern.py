"""An `allow` pattern proposed from a site's article URLs: the path shape they share (pure).

OWNS: propose_allow(). URLs are grouped by the form of their path (how many segments, the file
extension, a trailing slash); the largest groups become one regex each, built segment by segment:
a word every URL has there stays literal ("a", "news", "page"), date parts become `\\d{4}`,
`\\d{6}`, `\\d{4}-\\d{2}-\\d{2}` ..., ids `\\d+` or `[0-9a-f]{32}`, a shared prefix stays
(`WS`, `content_`, `detail-`), slugs become `[\\w-]+`. Leading segments that vary freely (a
section name) are dropped, so that the pattern also takes the sections not seen yet; a pattern
with nothing specific left (no literal, date or id: it would take any page) is not proposed.

On the outlets of seeds/sources.toml this gives their hand-written patterns or an equivalent
(China Daily `/a/\\d{6}/\\d{2}/WS[0-9a-f]+\\.html`, Xinhua `/\\d{8}/[0-9a-f]{32}/c\\.html`, CGTN
`/news/\\d{4}-\\d{2}-\\d{2}/[\\w-]+/(?:index|p)\\.html`; tests/test_sources_add.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# A pattern ends where the path does; a query string may follow (a tracking parameter on a feed's
# link, which the crawl drops, but only after the link was checked against `allow`).
END = r"(?:\?|$)"
# A shape taken by fewer of the URLs than this share is left to the others (an odd page, a gallery).
MIN_GROUP_SHARE = 0.1
MAX_PATTERNS = 3
_EXT = re.compile(r"^(.+?)(\.[A-Za-z0-9]{2,5})$")
_WORD = re.compile(r"^[A-Za-z]{1,20}(?:-[A-Za-z]{1,20})?$")
_PREFIX = re.compile(r"^(?:[A-Za-z]+[-_]|[A-Za-z]+(?=\d))")
_DATES = (r"\d{4}-\d{2}-\d{2}", r"\d{4}-\d{2}", r"\d{4}_\d{2}_\d{2}")
# A headline slug: four words or more.
_LONG_SLUG = r"\w+(?:-\w+){3,}"


@dataclass(frozen=True)
class AllowProposal:
    """The proposed patterns and how many of the article URLs they take."""

    patterns: tuple[str, ...]
    matched: int
    total: int


@dataclass(frozen=True)
class _Segment:
    regex: str
    # "literal" (a word), "id" (a date, a number, a hex id, a prefixed id) or "free" (any slug): a
    # section page's path has literals and slugs too, seldom a date or an id.
    kind: str

    @property
    def specific(self) -> bool:
        return self.kind != "free"


def propose_allow(article_urls: Sequence[str], not_articles: Sequence[str] = (),
                  also: Sequence[str] = ()) -> AllowProposal:
    """Propose `allow` regexes for `article_urls`; none of them may match a URL of `not_articles`.

    `also` are URLs that probably are articles too (links that look like one): they do not shape a
    pattern, but a leading word is dropped when that takes more of them (another section's).
    """
    paths = _paths(article_urls)
    every = paths + [p for p in _paths(also) if p not in set(paths)]
    groups: dict[tuple[int, bool, str | None], list[str]] = defaultdict(list)
    for path in paths:
        groups[_form(path)].append(path)
    patterns: list[str] = []
    for form, members in sorted(groups.items(), key=lambda g: -len(g[1])):
        if len(patterns) >= MAX_PATTERNS or (patterns and len(members) < max(2, MIN_GROUP_SHARE * len(paths))):
            break
        if all(any(re.search(p, m) for p in patterns) for m in members):
            continue  # an earlier, shorter pattern takes this shape too
        pattern = _group_pattern(form, members, every, not_articles)
        if pattern is not None and pattern not in patterns:
            patterns.append(pattern)
    compiled = [re.compile(p) for p in patterns]
    matched = sum(1 for u in dict.fromkeys(article_urls) if any(c.search(u) for c in compiled))
    return AllowProposal(tuple(patterns), matched, len(dict.fromkeys(article_urls)))


def _paths(urls: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(p for p in (_path(u) for u in urls) if p is not None and p != "/"))


def _path(url: str) -> str | None:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return None


def _form(path: str) -> tuple[int, bool, str | None]:
    segments = [s for s in path.split("/") if s]
    ext = _EXT.match(segments[-1]) if segments else None
    return len(segments), path.endswith("/"), ext.group(2).lower() if ext else None


def _group_pattern(form: tuple[int, bool, str | None], paths: list[str], every: list[str],
                   not_articles: Sequence[str]) -> str | None:
    _count, trailing, ext = form
    columns = list(zip(*([s for s in p.split("/") if s] for p in paths), strict=True))
    stems = [v[: -len(ext)] if ext else v for v in columns[-1]]
    segments = [_middle(list(c)) for c in columns[:-1]] + [_last(stems)]
    tail = ("/" if trailing else "") + (_escape(ext) if ext else "") + END
    if not any(s.kind == "id" for s in segments) and not segments[-1].specific:
        # Only words and slugs: a headline's length is what tells an article from a section.
        if all(re.fullmatch(_LONG_SLUG, v) for v in stems):
            segments[-1] = _Segment(_LONG_SLUG, "id")
        elif not any(s.specific for s in segments):
            return None  # nothing tells these pages from a section page
    # Leading segments that vary freely (sections) are dropped; a leading word shared by the group
    # ("business") is dropped too when the pattern then takes more of the URLs (other sections'
    # articles), and kept otherwise ("a", "news", "page"); never past the first date or id.
    free = next(i for i, s in enumerate(segments) if s.specific or i == len(segments) - 1)
    last = next((i for i, s in enumerate(segments) if s.kind == "id"), free)
    options = ["/" + "/".join(s.regex for s in segments[start:]) + tail for start in range(free, max(free, last) + 1)]
    options = [o for o in options if not any(re.search(o, u) for u in not_articles)]
    if not options:
        full = "/" + "/".join(s.regex for s in segments) + tail
        return None if any(re.search(full, u) for u in not_articles) else full
    return max(options, key=lambda o: sum(1 for p in every if re.search(o, p)))


def _middle(values: list[str]) -> _Segment:
    distinct = set(values)
    if len(distinct) == 1 and _WORD.match(values[0]):
        return _Segment(_escape(values[0]), "literal")
    return _shape(values)


def _last(stems: list[str]) -> _Segment:
    distinct = sorted(set(stems))
    # A page name shared by many articles (Xinhua's "c", CGTN's "index" and "p"): kept as it is.
    if all(_WORD.match(v) for v in distinct) and len(distinct) <= 2 and len(stems) >= 3 * len(distinct):
        inner = "|".join(_escape(v) for v in distinct)
        return _Segment(inner if len(distinct) == 1 else f"(?:{inner})", "literal")
    return _shape(stems)


def _shape(values: list[str], prefixed: bool = False) -> _Segment:
    """The regex every value fits, as narrow as a date, an id or a prefix allows."""
    if all(v.isdigit() for v in values):
        lengths = {len(v) for v in values}
        if len(lengths) == 1 and _date_digits(values):
            return _Segment(rf"\d{{{lengths.pop()}}}", "id")
        return _Segment(r"\d+", "id")
    for date in _DATES:
        if all(re.fullmatch(date, v) for v in values):
            return _Segment(date, "id")
    if all(re.fullmatch(r"[0-9a-f]{8,}", v) for v in values):
        lengths = {len(v) for v in values}
        return _Segment(f"[0-9a-f]{{{lengths.pop()}}}" if lengths in ({32}, {40}) else "[0-9a-f]+", "id")
    prefixes = {m.group(0) if (m := _PREFIX.match(v)) else None for v in values}
    # Only before an id ("WS66ee...", "content_1174", "detail-ihaa12"), never a slug's first word;
    # once: what follows the prefix is the id, whatever letters it starts with.
    if (not prefixed and len(prefixes) == 1 and (prefix := prefixes.pop())
            and all(re.fullmatch(r"[A-Za-z0-9]+", v[len(prefix):]) for v in values)):
        rest = _shape([v[len(prefix):] for v in values], prefixed=True)
        return _Segment(_escape(prefix) + rest.regex, "id")
    if all(re.fullmatch(r"[A-Za-z0-9]+", v) for v in values):
        return _Segment(r"\w+", "free")
    if all(re.fullmatch(r"[\w-]+", v) for v in values):
        return _Segment(r"[\w-]+", "free")
    return _Segment(r"[^/]+", "free")


def _escape(text: str) -> str:
    """re.escape, minus the escapes of '-' and '/' that only make a pattern harder to read."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def _date_digits(values: list[str]) -> bool:
    """Whether fixed-length digits read as a date part: a year, YYYYMM, YYYYMMDD, a month or a day."""
    def one(v: str) -> bool:
        if len(v) == 2:
            return 1 <= int(v) <= 31
        if len(v) in (4, 6, 8):
            year, rest = int(v[:4]), v[4:]
            return 1990 <= year <= 2100 and (not rest or 1 <= int(rest[:2]) <= 12)
        return False

    return all(one(v) for v in values)
