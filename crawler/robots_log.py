"""A robots.txt that could not be fetched, logged as one INFO line instead of Scrapy's ERROR.

Scrapy's RobotsTxtMiddleware logs a failed robots.txt download at ERROR with its traceback (about
75 lines: its errback passes exc_info), even under --log-level error, and once per host. It then
crawls the host as if robots.txt allowed everything, so the failure changes nothing: when the host
is down, each URL asked of it fails too, and that failure is recorded on the run and logged once
(crawler.crawl_run). The record is reshaped by a filter on that logger, Python logging's public
hook, rather than by replacing the middleware's private methods.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


class RobotsFetchFailed(logging.Filter):
    """Turn "Error downloading <request>: <exception>" into one INFO line naming the robots.txt URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.levelno < logging.ERROR or not isinstance(args, dict) or "f_exception" not in args:
            return True
        url = getattr(args.get("request"), "url", "")
        parts = urlsplit(url)
        record.msg = "%s could not be fetched (%s): crawling as if it allowed everything"
        record.args = (f"{parts.scheme}://{parts.netloc}/robots.txt" if parts.netloc else "robots.txt",
                       args["f_exception"])
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info = record.exc_text = None
        # Handlers filter on level after this: at the default WARNING it is not shown at all.
        return True


_FILTER = RobotsFetchFailed()


def quiet_robots_errors() -> None:
    """Install the filter (once; a crawl process calls this before Scrapy starts)."""
    logging.getLogger(ROBOTS_LOGGER).addFilter(_FILTER)
