"""One story once, clean text: learned boilerplate, syndicated copies, edits, legacy encodings.

Real crawls of small fixture sites on 127.0.0.1 through the real CLI and a real SQLite database.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from sample_site import Page, SiteServer, load_articles
from tests.conftest import cli_json, crawl, run_cli, write_seeds
from tests.sites import serve_feed

pytestmark = pytest.mark.e2e
ARTICLES = {a["key"]: a for a in load_articles()}
TEASER = ("Editor's picks: Canadian Prime Minister Mark Carney's official visit to China signals a policy shift "
          "towards a more pragmatic relationship, according to a Canadian researcher.")
SHARED_PHRASE = "the high-quality development of the manufacturing industry"


def _html(title: str, paragraphs: list[str], extra: str = "", charset: str = "utf-8", wrap: str = "article") -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<html><head><meta charset="{charset}"><title>{html.escape(title)}</title></head><body>'
            f'<nav><a href="/">Home</a></nav><{wrap}><h1>{html.escape(title)}</h1>{body}{extra}</{wrap}>'
            f"<footer>Copyright</footer></body></html>")


def _seeds(folder: Path, sources: dict[str, str], **extra: str) -> Path:
    return write_seeds(folder, *({"name": name, "feeds": [feed], **extra} for name, feed in sources.items()))


def _query(db: str, seeds: Path, *args: str) -> Any:
    return cli_json(db, "query", *args, seeds=seeds)


def _paragraphs(key: str) -> list[str]:
    data = ARTICLES[key]
    return [p for p in data["paragraphs"] if p not in data.get("headings", ())]


def test_a_teaser_repeated_across_a_source_is_learned_and_removed(server: SiteServer, tmp_path: Path) -> None:
    bodies = [_paragraphs(k) for k in ("000", "001", "002", "003", "004")] + [_paragraphs("001")[::-1]]
    links = []
    for n, body in enumerate(bodies):
        own = f"Reporter's note {n}: this paragraph is about {SHARED_PHRASE} and only appears in story {n}."
        path = f"/news/2024-09/{n + 1:02d}/story-{n}.html"
        # The teaser sits inline after the body, in a plain paragraph: no class or tag gives it away.
        server.set_page(path, Page(_html(f"Story {n} on industry", [*body[:4], own, TEASER]).encode()))
        links.append(path)
    seeds = _seeds(tmp_path / "seeds", {"portal": serve_feed(server, "/rss.xml", links)})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    crawl(db, seeds)
    stored = _query(db, seeds, "--all")
    assert len(stored) == len(bodies)
    # The first three articles teach it, and are cleaned of it once it is learned; every later one
    # is stored without it (tests/test_boilerplate_reach_back.py covers the reach-back itself).
    assert [a["url"] for a in stored if TEASER in a["text"]] == []
    for article in stored:
        n = int(article["url"].rsplit("-", 1)[1].split(".")[0])
        assert f"Reporter's note {n}: this paragraph is about {SHARED_PHRASE}" in article["text"]
    learned = cli_json(db, "boilerplate", seeds=seeds)
    assert [b["sample"] for b in learned] == [TEASER] and learned[0]["pages"] == len(bodies)
    # The next crawl of a new article from this source never stores the teaser.
    server.set_page("/news/2024-09/20/story-new.html",
                    Page(_html("Story new", [*_paragraphs("004")[4:9], TEASER]).encode()))
    serve_feed(server, "/rss.xml", [*links, "/news/2024-09/20/story-new.html"])
    proc = run_cli("--db", db, "--seeds", str(seeds), "--log-level", "info", "crawl", "now", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    # Stripped as it was analyzed (the learned blocks read when the crawl started), not stored with
    # the teaser and cleaned after (the reach-back, a rewrite of a stored article).
    assert "story-new.html: removed learned boilerplate" in proc.stderr
    assert "removed learned boilerplate from article" not in proc.stderr
    (new,) = [a for a in _query(db, seeds, "--all") if a["url"].endswith("story-new.html")]
    assert TEASER not in new["text"] and _paragraphs("004")[4] in new["text"]


def test_syndicated_copies_on_two_sources_form_one_story(server: SiteServer, tmp_path: Path) -> None:
    body = _paragraphs("002")
    server.set_page("/a/2022-03/17/original.html", Page(_html(ARTICLES["002"]["title"], body).encode()))
    # The copy: another site's template, a wire-style dateline and a credit line added.
    copy = [f"BEIJING, March 18 (Wire) -- {body[0]}", *body[1:], "This story was first published by China Daily."]
    legacy = ('<html><head><title>Repost</title></head><body><table><tr><td><div class="hd">Menu | News | Sports'
              '</div><div id="Content">' + "<br><br>".join(html.escape(p) for p in copy) +
              '</div></td><td><b>Most Popular</b></td></tr></table></body></html>')
    server.set_page("/b/2022-03/18/copy.html", Page(legacy.encode()))
    seeds = _seeds(tmp_path / "seeds", {"outlet-a": serve_feed(server, "/a.xml", ["/a/2022-03/17/original.html"]),
                                        "outlet-b": serve_feed(server, "/b.xml", ["/b/2022-03/18/copy.html"])})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    cli_json(db, "crawl", "now", seeds=seeds)  # two sources, two runs
    everything = _query(db, seeds, "--all")
    assert len(everything) == 2
    assert len({a["text"] for a in everything}) == 2  # not an exact copy: each keeps its own text
    (story,) = _query(db, seeds)
    other = next(a for a in everything if a["id"] != story["id"])
    assert other["duplicate_of"] == story["id"] and story["also_at"] == [other["url"]]


def test_an_edited_article_becomes_a_version_not_a_new_item(server: SiteServer, tmp_path: Path) -> None:
    body = _paragraphs("004")
    path = "/news/2021-07/30/shanxi.html"
    server.set_page(path, Page(_html(ARTICLES["004"]["title"], body).encode(), headers={"ETag": '"v1"'}))
    seeds = _seeds(tmp_path / "seeds", {"china-daily": serve_feed(server, "/rss.xml", [path])}, revisit="6h")
    db = f"sqlite:///{tmp_path / 'n.db'}"
    crawl(db, seeds)
    assert _query(db, seeds, "--new")
    edited = [body[0].replace("Shanxi province", "North China's Shanxi province"), *body[1:],
              "Correction: an earlier version of this story misstated the price of aerogel."]
    server.set_page(path, Page(_html(ARTICLES["004"]["title"], edited).encode(), headers={"ETag": '"v2"'}))
    server.clear_log()
    crawl(db, seeds)
    assert server.requests().count(path) == 1  # revisited once
    everything = _query(db, seeds, "--all")
    assert len(everything) == 1
    (updated,) = _query(db, seeds, "--updated")
    assert updated["versions"] == 1 and updated["updated"] and "Correction:" in updated["text"]
    assert _query(db, seeds, "--new") == []  # an update is not a new item
    # Unchanged on the next revisit: a conditional request, answered 304, and no new version.
    server.clear_log()
    crawl(db, seeds)
    assert (path, 304) in server.answers()
    (again,) = _query(db, seeds, "--updated")
    assert again["versions"] == 1


@pytest.mark.parametrize(("charset", "header"), [("gbk", "text/html"), ("gb18030", "text/html; charset=gb18030"),
                                                 ("big5", "text/html")])
def test_legacy_chinese_encodings_are_decoded(server: SiteServer, tmp_path: Path, charset: str, header: str) -> None:
    paragraphs = ["工业和信息化部等七部门联合印发《关于加快推动制造业绿色化发展的指导意见》，"
                  "提出到2030年绿色工厂产值占制造业总产值比重超过40%。",
                  "意见提出，加快传统产业绿色低碳转型升级，推动钢铁、有色、石化、化工、建材等行业节能降碳改造，提升资源利用效率。",
                  "同时，要培育绿色低碳新兴产业，推动数字化与绿色化深度融合，建设一批智能工厂和绿色工厂，形成新的经济增长点。"]
    if charset == "big5":
        paragraphs = [p.replace("业", "業").replace("绿", "綠").replace("产", "產") for p in paragraphs]
    title = "制造业绿色化发展指导意见印发" if charset != "big5" else "製造業綠色化發展指導意見印發"
    page = _html(title, paragraphs, charset=charset).encode(charset, errors="replace")
    server.set_page("/zh/2024-03/01/green.html", Page(page, headers={"Content-Type": header}))
    seeds = _seeds(tmp_path / "seeds", {"zh": serve_feed(server, "/rss.xml", ["/zh/2024-03/01/green.html"])})
    db = f"sqlite:///{tmp_path / 'n.db'}"
    crawl(db, seeds, env={"NEWSMON_MIN_ARTICLE_CHARS": "50"})
    (article,) = _query(db, seeds, "--all")
    assert article["language"] == "zh"
    assert article["title"] == title
    assert paragraphs[0].encode(charset, errors="replace").decode(charset) in article["text"]
    if charset != "big5":
        assert article["rules"] == ["zh-manufacturing-transformation"]
