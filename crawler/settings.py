"""Scrapy settings for a newsmon crawl, built from newsmon's own Settings."""

from __future__ import annotations

from typing import Any

from crawler.config import Settings


def scrapy_settings(settings: Settings, log_level: str = "INFO") -> dict[str, Any]:
    """Return the Scrapy settings dict for one crawl process (each crawler adds its CrawlContext: crawler.context)."""
    return {
        "BOT_NAME": "newsmon",
        "USER_AGENT": settings.user_agent,
        # Scrapy's defaults outside a startproject project do not obey robots.txt: we do.
        "ROBOTSTXT_OBEY": True,
        # A crawl is one source, mostly one site: more requests in flight than the site's own
        # concurrency would only wait in its slot queue, and a graceful stop waits for all of them.
        "CONCURRENT_REQUESTS": max(4, 2 * settings.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrency_per_domain,
        "DOWNLOAD_DELAY": settings.download_delay,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        # AutoThrottle starts at 5 s by default; start from the configured politeness delay.
        "AUTOTHROTTLE_START_DELAY": settings.download_delay,
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(settings.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DNS_TIMEOUT": min(settings.download_timeout, 20.0),
        # Scrapy's default maximum is 1 GiB; a news page is a few hundred KB.
        "DOWNLOAD_MAXSIZE": settings.max_response_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_TIMES": settings.retry_times,
        # Each failure is recorded on the run and logged once by the pipeline.
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        "NM_RETRY_BACKOFF": settings.retry_backoff,
        "NM_RETRY_BACKOFF_MAX": settings.retry_backoff_max,
        "REDIRECT_MAX_TIMES": 10,
        # The spider never asks for a URL twice itself; Scrapy's filter would silently swallow
        # the second step of a redirect loop, which must instead end at REDIRECT_MAX_TIMES and
        # be recorded.
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",
        "COOKIES_ENABLED": False,
        # News is served over http(s); file:, ftp:, s3: and data: handlers would let a hostile
        # link or redirect read local files or reach other services.
        "DOWNLOAD_HANDLERS": {"file": None, "ftp": None, "s3": None, "data": None},
        # Both open a listening port; a monitor has no use for either.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        # The caller owns logging (text or JSON, stderr or a file).
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOG_LEVEL": log_level,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            # Scrapy's robots.txt middleware with the store in front: fetched once a day, not
            # on every check (crawler.robots_cache). Scrapy's own place in the chain.
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots_cache.CachedRobotsTxtMiddleware": 100,
            "crawler.retry.BackoffRetryMiddleware": 550,
            # After the redirect middleware (600) in the response chain, before it in the request
            # chain: every request, redirected ones included, is checked before it is sent.
            "crawler.guard.AddressGuardMiddleware": 50,
            # After the retry's backoff wait (550): the time left is reckoned as the request goes.
            "crawler.deadline.DeadlineMiddleware": 560,
            # First of all: a replayed answer was asked by the quiet check through this very chain.
            "crawler.replay.ReplayMiddleware": 10,
            # Off: no-ops here (no HTTP auth, cookies off, no cache), yet each is loaded and built
            # (or raises NotConfigured) for every source of a crawl process.
            "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
            # Off: the spider sets no allowed_domains (crawler.links decides which links to follow).
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
        },
        # Off for the same reason: no DEPTH_LIMIT, and a development-time warning about request meta.
        "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.depth.DepthMiddleware": None,
                               "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None},
        # Analysis first, then storing: one job each (crawler.pipelines).
        "ITEM_PIPELINES": {"crawler.pipelines.AnalysisPipeline": 200,
                           "crawler.pipelines.StorePipeline": 300},
        # The run's bookkeeping, from signals (crawler.crawl_run).
        # Off: Scrapy extensions newsmon never reads, built again for every source of a crawl
        # process (one crawler each) and, for the first two, a timer each: a child crawling 200
        # sources logged 200 "Crawled N pages" lines a minute and measured its own memory 200
        # times. Off, a quiet check costs ~2 ms less (bench/capacity.py).
        "EXTENSIONS": {"crawler.crawl_run.CrawlRun": 500,
                       "scrapy.extensions.logstats.LogStats": None,
                       "scrapy.extensions.memusage.MemoryUsage": None,
                       # One root log handler per open crawler, each record passed past every one.
                       "scrapy.extensions.logcount.LogCount": None,
                       "scrapy.extensions.feedexport.FeedExporter": None,
                       "scrapy.extensions.spiderstate.SpiderState": None,
                       "scrapy.extensions.memdebug.MemoryDebugger": None,
                       "scrapy.extensions.telnet.TelnetConsole": None,
                       "scrapy.extensions.remote_control.RemoteControl": None},
        # The bounded queue in front of the analysis workers: the bodies of pages waiting for
        # analysis count against this, and past it Scrapy starts no new download, so a burst of
        # thousands of new articles holds at most ~5 MB of pages (Scrapy's default, made explicit
        # because the process pool relies on it).
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": 5_000_000,
        # Scrapy starts this many asyncio tasks for every response's output, however little it
        # yields (2.19: the default 100 made task creation a tenth of a burst's crawl process
        # CPU). An article yields one item and a sitemap's requests need no parallelism; pages
        # are still analyzed in parallel across responses.
        "CONCURRENT_ITEMS": 4,
        # Scrapy reads each callback's source and parses it (inspect + ast) to warn about a
        # generator's `return value`; it caches by bound method, so every source's spider pays
        # again: 8 ms of a quiet check's ~40 (bench/capacity.py). Our callbacks return nothing.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "NM_MIN_ARTICLE_CHARS": settings.min_article_chars,
        "NM_ANALYSIS_WORKERS": settings.analysis_workers,
    }
