"""Generate many realistic, distinct news pages for benchmarks (deterministic, no network).

Bodies are recombined from the sample articles' paragraphs, so text statistics are real; each
page carries the usual noise (navigation, cookie banner, teasers, comments, footer) in one of
two templates, like the sample site.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sample_site import SampleSite, SiteServer, build_sample_site


@dataclass(frozen=True)
class BenchPage:
    path: str
    title: str
    html: str
    # What a perfect extractor returns (the article's paragraphs), and the teasers it must drop.
    body: tuple[str, ...] = ()
    teasers: tuple[str, ...] = ()


def corpus_paragraphs() -> list[str]:
    """Return every article paragraph of the sample site, as text."""
    import lxml.html

    with SiteServer() as server:
        site: SampleSite = build_sample_site(server.url)
    paragraphs: list[str] = []
    for url in site.articles.values():
        path = url.split("/", 3)[3]
        doc = lxml.html.fromstring(site.pages["/" + path].body)
        paragraphs += [p.text_content().strip() for p in doc.iter("p") if len(p.text_content()) > 120]
    return list(dict.fromkeys(paragraphs))


def corpus_sentences(paragraphs: list[str]) -> list[str]:
    """Split paragraphs into sentences."""
    return list(dict.fromkeys(s.strip() for p in paragraphs for s in _SENTENCE.split(p) if len(s.strip()) > 30))


def _body(rng: random.Random, sentences: list[str]) -> list[str]:
    # Paragraphs are new mixes of real sentences: real articles share no whole paragraph (which
    # learned boilerplate would take for a template block) and few sentences (which near-duplicate
    # detection would take for one story).
    return [" ".join(rng.sample(sentences, k=rng.randint(2, 4))) for _ in range(rng.randint(5, 12))]


def generate(count: int, seed: int = 7) -> Iterator[BenchPage]:
    """Yield `count` distinct article pages."""
    rng = random.Random(seed)
    paragraphs = corpus_paragraphs()
    sentences = corpus_sentences(paragraphs)
    for i in range(count):
        body = _body(rng, sentences)
        title = " ".join(body[0].split()[:9]).rstrip(",.;:") + f" ({i})"
        path = f"/news/2024-{1 + i % 12:02d}/{1 + i % 28:02d}/story-{i:05d}.html"
        render = _modern if i % 2 else _legacy
        teasers = rng.sample(paragraphs, k=3)
        yield BenchPage(path, title, render(title, body, teasers, path), tuple(body),
                        tuple(t[:90] for t in teasers))


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"])")
_SECTIONS = ("business", "world", "china", "tech", "sports", "culture", "opinion", "video", "travel", "life")
# What real news pages carry besides the article (measured pages run 50-150 KB): a mega-menu,
# inline CSS and analytics scripts, icon sprites and a footer of link lists.
_MEGA_MENU = "".join(f'<li class="menu-item"><a href="/{s}/{t}/" data-track="nav-{s}-{t}">{t.title()}</a></li>'
                     for s in _SECTIONS for t in ("latest", "analysis", "features", "photos", "in-depth",
                                                  "people", "companies", "markets", "policy", "data"))
_STYLE = "<style>" + "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i * 2654435761 % 16**6:06x}}}"
                             for i in range(400)) + "</style>"
_SCRIPTS = "".join(f'<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{"event":"view","slot":{i},'
                   f'"section":"{s}","ab":"{"ABCD"[i % 4]}","ts":{1700000000 + i}}});</script>'
                   for i, s in enumerate(_SECTIONS * 8))
_SPRITE = '<svg style="display:none">' + "".join(
    f'<symbol id="i{i}" viewBox="0 0 24 24"><path d="M{i} 2L{22 - i % 20} 12L{i % 9} 22Z"/></symbol>'
    for i in range(60)) + "</svg>"
_FOOTER = "".join(f'<div class="col"><h4>{s.title()}</h4><ul>' + "".join(
    f'<li><a href="/{s}/{k}/">{s.title()} {k}</a></li>' for k in range(8)) + "</ul></div>" for s in _SECTIONS)


def _noise(teasers: list[str]) -> tuple[str, str]:
    nav = _MEGA_MENU
    teaser = "".join(f'<li><a href="/news/2024-01/01/t{n}.html">{html.escape(t[:90])}</a></li>'
                      for n, t in enumerate(teasers))
    return nav, teaser


def _modern(title: str, body: list[str], teasers: list[str], path: str) -> str:
    nav, teaser = _noise(teasers)
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="canonical" href="{path}"><meta property="og:type" content="article">{_STYLE}{_SCRIPTS}
<script type="application/ld+json">{{"@type":"NewsArticle","headline":"{html.escape(title)}",
"datePublished":"2024-09-21T09:00:00Z","author":{{"@type":"Person","name":"Staff Writer"}}}}</script></head>
<body>{_SPRITE}<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<header><nav><ul>{nav}</ul></nav></header><main><article><h1>{html.escape(title)}</h1>
<p class="byline">By Staff Writer | <time datetime="2024-09-21T09:00:00Z">2024-09-21</time></p>{paras}</article>
<aside class="related"><h2>Related</h2><ul>{teaser}</ul></aside></main>
<section class="comments"><h3>Comments</h3><p>Great read, thanks!</p></section>
<footer>{_FOOTER}<p>Copyright 2024 Example News. All rights reserved.</p></footer></body></html>"""


def _legacy(title: str, body: list[str], teasers: list[str], path: str) -> str:
    nav, teaser = _noise(teasers)
    paras = "<br><br>".join(html.escape(p) for p in body)
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{html.escape(title)} - Example Daily</title>{_STYLE}{_SCRIPTS}</head>
<body><div id="wrap"><div class="hd"><ul>{nav}</ul></div>
<table width="100%"><tr><td valign="top"><div class="content-main"><div class="art-title">{html.escape(title)}</div>
<div class="info">Updated: 2024-09-21 09:00</div><div id="Content">{paras}</div></div></td>
<td width="300" valign="top"><div class="mostread"><b>Most Read</b><ul>{teaser}</ul></div></td></tr></table>
<div class="ft">{_FOOTER}Copyright 1995-2024 Example Daily. All rights reserved.</div></div></body></html>"""
