"""The read-only web app behind `newsmon serve`: Starlette routes, Jinja2 pages, JSON under the same paths.

Every page is also JSON at the same path with `.json` (datasette's convention): `/articles.json`
gives exactly what `newsmon query --format json` gives for the same filter (store.records'
article_record and jsonable), `/sources.json` the `status` rows, `/runs.json` the `runs` rows.
Only GET and HEAD are routed. The store is synchronous, so the endpoints are plain functions,
which Starlette runs in its thread pool. Templates autoescape everything; access.py adds the token,
the Host check and the headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from store.records import FAILED_OUTCOMES, ArticleFilter, RunRecord, article_record, jsonable
from store.repository import Repository
from store.status import SourceStatus, source_status
from web.access import Access
from web.feeds import atom_feed, feed_info, is_http_url, xml_text
from web.filters import LIMITS, FilterError, read_filters
from web.highlight import compile_terms, highlight, paragraphs

HERE = Path(__file__).resolve().parent
ATOM = "application/atom+xml; charset=utf-8"
RUNS_SHOWN = 20  # as `newsmon runs` lists by default
FEED_LIMIT = 50  # as `newsmon feed` writes by default
RUN_COLUMNS = ("id", "started", "finished", "source", "outcome", "pages", "new", "matched", "duplicates",
               "skipped", "errors")


def templates(autoescape: bool = True) -> Environment:
    """The pages' Jinja2 environment: every value escaped unless a filter returns Markup."""
    # finalize: NUL, escape codes and the like from hostile pages show as boxes; they go (from text
    # and from escaped Markup alike: dropping them cannot make a tag).
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=autoescape,
                      trim_blocks=True, lstrip_blocks=True, finalize=_printable)
    env.tests["http_url"] = is_http_url
    env.filters["when"] = _when
    env.filters["day"] = lambda value: value.date().isoformat() if isinstance(value, datetime) else ""
    env.filters["quote"] = lambda value: quote(str(value), safe="")
    env.filters["snippet"] = _snippet
    return env


@dataclass(frozen=True)
class SeedNames:
    """What the app shows of the seeds: the source and rule names, each source's `silent_after`
    (store.status' default for the rest)."""

    sources: Sequence[str] = ()
    rules: Sequence[str] = ()
    silent_after: Mapping[str, int] = field(default_factory=dict)


class Site:
    """The app's state and endpoints: one repository, the configured source and rule names."""

    def __init__(self, repository: Repository, seeds: Callable[[], SeedNames], env: Environment) -> None:
        self.repository = repository
        # Asked on every request: the caller reads the seeds again when they change.
        self.seeds = seeds
        self.env = env

    @property
    def sources(self) -> Sequence[str]:
        return self.seeds().sources

    @property
    def rules(self) -> Sequence[str]:
        return self.seeds().rules

    @property
    def silent_after(self) -> Mapping[str, int]:
        return self.seeds().silent_after

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(name).render(request=request, path=request.url.path, rules=self.rules,
                                                  sources=self.sources, **context)
        return HTMLResponse(page, status_code)

    # -- pages -----------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        return RedirectResponse("/articles", status_code=302)

    def articles(self, request: Request) -> Response:
        try:
            filters = read_filters(request.query_params)
        except FilterError as exc:
            raise HTTPException(400, str(exc)) from None
        found = self.repository.articles.query(filters.article_filter())
        if _wants_json(request):
            return JSONResponse([jsonable(article_record(a)) for a in found])
        feed = f"/rules/{quote(filters.rule, safe='')}/feed.atom" if filters.rule else "/feed.atom"
        return self.render(request, "articles.html", articles=found, filters=filters, limits=LIMITS, feed=feed,
                           more=len(found) == filters.limit)

    def article(self, request: Request) -> Response:
        article_id = request.path_params["article_id"]
        found = self.repository.articles.query(ArticleFilter(ids=(article_id,), include_all=True))
        if not found:
            raise HTTPException(404, f"No article with id {article_id}.")
        article = found[0]
        if _wants_json(request):
            return JSONResponse(jsonable(article_record(article)))
        pattern = compile_terms(t for terms in article.terms.values() for t in terms)
        return self.render(request, "article.html", article=article,
                           title=highlight(article.title or "(untitled)", pattern),
                           paragraphs=[highlight(p, pattern) for p in paragraphs(article.text)],
                           feed="/feed.atom")

    def sources_page(self, request: Request) -> Response:
        rows = sorted(source_status(self.repository, self.sources, silent_after=self.silent_after),
                      key=lambda r: not _failing(r))
        if _wants_json(request):
            return JSONResponse([jsonable(asdict(r)) for r in rows])
        return self.render(request, "sources.html", rows=rows, failing=_failing, feed="/feed.atom")

    def runs_page(self, request: Request) -> Response:
        runs = self.repository.runs.recent(limit=RUNS_SHOWN, with_errors=True, with_skips=True)
        if _wants_json(request):
            return JSONResponse([jsonable(_run_row(r)) for r in runs])
        return self.render(request, "runs.html", runs=runs, failed=FAILED_OUTCOMES, feed="/feed.atom")

    def feed(self, request: Request) -> Response:
        rule = request.path_params.get("rule") or request.query_params.get("rule") or None
        if rule is not None and rule not in self.rules:
            raise HTTPException(404, f"No rule named {rule!r}.")
        found = self.repository.articles.query(ArticleFilter(rules=(rule,) if rule else (), limit=FEED_LIMIT))
        base = str(request.base_url)
        return Response(atom_feed(found, feed_info(rule, base)), media_type=ATOM)

    # -- errors ----------------------------------------------------------------------------------

    async def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Internal error."
        headers = getattr(exc, "headers", None)
        if _wants_json(request):
            return JSONResponse({"error": detail, "status": status}, status, headers=headers)
        response = self.render(request, "error.html", status_code=status, status=status, detail=detail,
                               feed="/feed.atom")
        if headers:
            response.headers.update(headers)
        return response


def create_app(repository: Repository, seeds: SeedNames | Callable[[], SeedNames] = SeedNames(),
               token: str | None = None, hosts: Sequence[str] | None = None, autoescape: bool = True) -> Any:
    """The app: pages of `repository`'s stories, the seeds' sources' health, recent runs, Atom
    feeds per rule. `seeds` may be a callable, asked on every request (`newsmon serve` reads the
    seeds again when they change).

    With `token`, every request must show it (web.access); with `hosts`, only requests naming one
    of them are answered (pass the loopback names when bound to one).
    """
    names = seeds
    site = Site(repository, (lambda: names) if isinstance(names, SeedNames) else names, templates(autoescape))
    both = ("", ".json")
    routes: list[BaseRoute] = [
        Route("/", site.home, methods=["GET"]),
        *(Route(f"/articles{s}", site.articles, methods=["GET"]) for s in both),
        *(Route(f"/articles/{{article_id:int}}{s}", site.article, methods=["GET"]) for s in both),
        *(Route(f"/sources{s}", site.sources_page, methods=["GET"]) for s in both),
        *(Route(f"/runs{s}", site.runs_page, methods=["GET"]) for s in both),
        Route("/feed.atom", site.feed, methods=["GET"]),
        Route("/rules/{rule}/feed.atom", site.feed, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: site.error, Exception: site.error})
    return Access(app, token=token, hosts=hosts)


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json")


def _failing(row: SourceStatus) -> bool:
    return row.outcome in FAILED_OUTCOMES or row.failures > 0 or row.silent


def _run_row(run: RunRecord) -> dict[str, Any]:
    # The keys and order of `newsmon runs --format json`.
    return {**{k: getattr(run, k) for k in RUN_COLUMNS},
            "error_list": [{"url": u, "reason": why} for u, why in run.error_list],
            "skip_list": [{"url": u, "reason": why} for u, why in run.skip_list]}


def _printable(value: Any) -> Any:
    if isinstance(value, Markup):
        return Markup(xml_text(value))
    return xml_text(value) if isinstance(value, str) else value


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else ""


def _snippet(text: str | None, limit: int = 240) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"
