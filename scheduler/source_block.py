"""A proposed source (crawler.site_probe.Proposal) as a commented `[[source]]` block, and its safe
addition to the seeds' sources.toml (`newsmon sources add --write`).

OWNS: render_block() (TOML text whose comments say what was found where), conflict() (a source
that already has this name, feed or site), append_block(): the file as it will be is loaded by the
config loader first (in a scratch folder beside the real rules.toml and examples), then written
beside the real one and renamed over it, so a reader (the daemon reloading seeds) never sees half
a file and a mistake never reaches it. Files and text only; the CLI prints.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from crawler.config import SOURCES_FILE, Config, ConfigError
from crawler.site_probe import Found, Proposal
from crawler.urls import canonicalize, same_site
from scheduler.schedule import load_config


class SeedsChanged(RuntimeError):
    """sources.toml changed while the block was being added."""


def render_block(proposal: Proposal, every: str, given: str) -> str:
    """Return the `[[source]]` block for `proposal`, commented with what was found where."""
    today = datetime.now(UTC).date().isoformat()
    lines = [*_comment(f"Added by `newsmon sources add {given}` on {today}; the comments say where each URL "
                       "was found."), "[[source]]", f"name = {_string(proposal.name)}"]
    if proposal.feeds:
        lines += _array("feeds", [(f.url, _feed_note(f, proposal.url)) for f in proposal.feeds])
    if proposal.sitemaps:
        lines += _array("sitemaps", [(s.url, _sitemap_note(s)) for s in proposal.sitemaps])
    for s in proposal.other_sitemaps:
        if s.via is None:  # a child is named with its index
            lines += _comment(f"Not proposed: {s.url} ({_sitemap_note(s)}): a full sitemap lists the site's "
                              "archive, not what is new")
    if proposal.start_urls:
        lines += _array("start_urls", [(s.url, _listing_note(s, proposal.url)) for s in proposal.start_urls])
    if proposal.allow.patterns:
        lines += _comment(f"allow: the path shape of {proposal.articles_matched} of the {proposal.articles_found} "
                          "article URLs found (feed and sitemap entries, links on the pages)")
        lines.append("allow = [" + ", ".join(_pattern(p) for p in proposal.allow.patterns) + "]")
    else:
        lines += _comment(f"No allow: the {proposal.articles_found} article URLs found share no path shape; "
                          "newsmon guesses from each URL (a date, an id or a long slug in the path)")
    lines.append(f"every = {_string(every)}")
    return "\n".join(lines) + "\n"


def _array(key: str, items: list[tuple[str, str]]) -> list[str]:
    lines = [f"{key} = ["]
    for url, note in items:
        lines += [*_comment(note, "    "), f"    {_string(url)},"]
    return [*lines, "]"]


def _feed_note(f: Found, page: str) -> str:
    declared = "declared by " + f.how.replace(f" on {page}", " on the page given")
    how = {"common feed path": "at a common feed path (the page declares no feed)",
           "the URL given": "the URL given"}.get(f.how, declared)
    return f"{how}: {_n(f.links, 'entry')}"


def _sitemap_note(s: Found) -> str:
    kind = "Google News sitemap" if s.kind == "news sitemap" else s.kind
    where = f"listed in {s.via}" if s.via else s.how
    return f"{kind}, {where}: {_n(s.links, 'sitemap' if s.kind == 'sitemap index' else 'URL')}"


def _listing_note(s: Found, page: str) -> str:
    how = "the page given" if s.kind == "page" else f"a section page {s.how.replace(page, 'the page given')}"
    return f"{how}: {_n(s.links, 'article link')}"


def _n(count: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {noun if count == 1 else plural}"


def _comment(text: str, indent: str = "") -> list[str]:
    # Wrapped to read in an 80-column editor or terminal; a URL longer than that stays whole.
    return textwrap.wrap(" ".join(text.split()), 79, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}#   ",
                         break_long_words=False, break_on_hyphens=False)


def _string(value: str) -> str:
    # A JSON string is a TOML basic string (the same escapes).
    return json.dumps(value, ensure_ascii=False)


def _pattern(regex: str) -> str:
    # A literal string keeps a regex's backslashes as written; one holding a quote needs escapes.
    return f"'{regex}'" if "'" not in regex and "\n" not in regex else _string(regex)


def conflict(config: Config, name: str, url: str, proposal: Proposal | None = None) -> str | None:
    """Say which configured source already has this name, reads one of these feeds or sitemaps,
    or covers this site; None when there is none."""
    where = config.seeds_dir / SOURCES_FILE if config.seeds_dir else SOURCES_FILE
    if any(s.name == name for s in config.sources):
        return f"{where} already has a source named {name!r} (choose another with --name)"
    wanted = {canonicalize(f.url) for f in (*proposal.feeds, *proposal.sitemaps)} if proposal else set()
    for source in config.sources:
        shared = wanted & {canonicalize(u) for u in (*source.feeds, *source.sitemaps)}
        if shared:
            return f"source {source.name!r} in {where} already reads {min(shared)}"
        for page in (url, proposal.url if proposal else url):
            if source.seed_urls and same_site(page, source.seed_urls):
                host = urlsplit(page).hostname
                return (f"source {source.name!r} in {where} already covers {host} (to watch another part of "
                        "the site, edit its block or add one by hand)")
    return None


def append_block(seeds_dir: Path, block: str) -> Path:
    """Append `block` to seeds_dir's sources.toml once the result loads; return the file's path.

    Raises ConfigError (naming sources.toml) when the result would not load, SeedsChanged when the
    file changed meanwhile, OSError when it cannot be written; the file is then as it was.
    """
    path = seeds_dir / SOURCES_FILE
    original = path.read_bytes()
    text = original.decode("utf-8")
    updated = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block.rstrip("\n") + "\n"
    _check(seeds_dir, updated)
    fd, tmp = tempfile.mkstemp(dir=seeds_dir, prefix=f".{SOURCES_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(updated)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        if path.read_bytes() != original:
            raise SeedsChanged(f"{path} changed while the source was being added; run the command again")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _check(seeds_dir: Path, text: str) -> None:
    """Load the seeds as they will be: the new sources.toml beside the real other files."""
    with tempfile.TemporaryDirectory(prefix="newsmon-seeds-") as scratch:
        folder = Path(scratch)
        for entry in seeds_dir.iterdir():
            if entry.name != SOURCES_FILE:
                (folder / entry.name).symlink_to(entry.resolve())
        (folder / SOURCES_FILE).write_text(text, encoding="utf-8")
        try:
            load_config(folder)
        except ConfigError as exc:
            # Named as the file it would have become, not the scratch copy.
            message = str(exc).replace(str(folder / SOURCES_FILE), str(seeds_dir / SOURCES_FILE))
            raise ConfigError(f"{message} (sources.toml left as it was)") from None
