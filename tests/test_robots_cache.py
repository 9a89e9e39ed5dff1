"""robots.txt is fetched once a day, not on every check, and obeyed from the store in between
(crawler/robots_cache.py): real crawls against a real server, counting what it was asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sample_site import Page, SiteServer
from store.repository import Repository
from tests.conftest import crawl, write_seeds
from tests.sites import serve_feed, story

ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def _serve(server: SiteServer, stories: range) -> list[str]:
    """Serve each story twice over, under /news/ and under the disallowed /private/, in one feed."""
    paths = []
    for n in stories:
        for folder in ("news", "private"):
            path = f"/{folder}/2024-09/story-number-{n}-{folder}.html"
            server.set_page(path, story(n if folder == "news" else 100 + n))
            paths.append(path)
    serve_feed(server, "/rss.xml", paths)
    return paths


def test_robots_txt_is_fetched_once_a_day_and_obeyed_from_the_store(server: SiteServer, tmp_path: Path) -> None:
    server.set_page("/robots.txt", Page(ROBOTS, headers={"Content-Type": "text/plain"}))
    _serve(server, range(2))
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    assert crawl(db, seeds)["new"] == 2
    assert server.requests().count("/robots.txt") == 1
    assert not any(p.startswith("/private/") for p in server.requests())

    # Within the day: not asked again, and still obeyed (the new /private/ story is not fetched).
    server.clear_log()
    _serve(server, range(3))
    second = crawl(db, seeds)
    assert second["new"] == 1 and second["outcome"] == "ok"
    assert "/robots.txt" not in server.requests()
    assert "/news/2024-09/story-number-2-news.html" in server.requests()
    assert not any(p.startswith("/private/") for p in server.requests())

    # A day later it is fetched again: a site's new rules apply from the next day at the latest.
    repository = Repository.open(db)
    assert repository.robots.fetched_since([server.url], datetime.now(UTC) - timedelta(hours=1)) == {server.url: ROBOTS}
    repository.robots.save(server.url, ROBOTS, fetched=datetime.now(UTC) - timedelta(hours=25))
    repository.close()
    server.set_page("/robots.txt", Page(b"User-agent: *\nDisallow: /\n", headers={"Content-Type": "text/plain"}))
    server.clear_log()
    _serve(server, range(4))
    third = crawl(db, seeds)
    assert server.requests() == ["/robots.txt"]  # and nothing else: the site now forbids it all
    assert third["new"] == 0


@pytest.mark.parametrize("status", [503, 429])
def test_a_robots_txt_answered_with_a_server_error_or_429_is_asked_for_again(status: int, server: SiteServer,
                                                                           tmp_path: Path) -> None:
    server.set_page("/robots.txt", Page(b"busy", status=status))
    _serve(server, range(1))
    seeds = write_seeds(tmp_path / "seeds", {"name": "s", "feeds": [f"{server.url}/rss.xml"]})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    crawl(db, seeds)
    server.clear_log()
    crawl(db, seeds)
    assert "/robots.txt" in server.requests()


def test_kept_robots_files_are_read_by_age_and_replaced(db_url: str) -> None:
    repository = Repository.open(db_url)
    try:
        now = datetime.now(UTC)
        repository.robots.save("https://a.example", b"old", fetched=now - timedelta(hours=30))
        repository.robots.save("https://b.example", b"User-agent: *\n")
        since = now - timedelta(hours=24)
        assert repository.robots.fetched_since(["https://a.example", "https://b.example", "https://c.example"],
                                               since) == {"https://b.example": b"User-agent: *\n"}
        repository.robots.save("https://a.example", b"new")  # the same host again: replaced, no conflict
        assert repository.robots.fetched_since(["https://a.example"], since) == {"https://a.example": b"new"}
    finally:
        repository.close()
