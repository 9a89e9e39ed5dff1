"""newsmon's own crawl signals: what the spider and the pipelines tell the other components.

OWNS: the signal objects (Scrapy's convention: a signal is any unique object, sent with
`crawler.signals.send_catch_log(signal, **kwargs)`; a receiver takes the keyword arguments it names).
The spider is not a bag of state for others to read back: what it learns that others need is sent
here the moment it learns it, and each receiver keeps only what it needs.
"""

from __future__ import annotations

# The spider scheduled `count` more article pages (new URLs to fetch; revisits are not counted).
# The analysis pipeline adds them up to decide when the worker pool is worth starting.
articles_scheduled = object()

# The spider reached max_articles_per_crawl: the rest waits for the next crawl, so the crawl's
# validator answers must not be saved (its feeds must be read in full again). No arguments.
article_limit_reached = object()

# A discovery URL (or a revisited article) answered `answer` (store.records.ValidatorAnswer) to
# request `url`; saved by the CrawlRun extension only if the crawl ends cleanly.
validator_answered = object()

# The CrawlRun extension opened run `run_id`; the storing pipeline records its articles under it.
run_opened = object()

# The storing pipeline learned (or loaded) boilerplate paragraph hashes `hashes` (a set of str),
# which the analysis pipeline strips from the pages it analyzes from now on.
boilerplate_learned = object()

# A write failed with `exc` (store.errors.StoreError): the database has stopped taking writes.
# The CrawlRun extension keeps the exception and stops the crawl.
store_failed = object()

# A page was fetched (or, past the article limit, found) and will not be stored: `url`, and `reason`
# in one line ("not an article: ...", "too short: ...", "known article: ...", "robots.txt forbids
# it", ...). Not an error: the CrawlRun extension records it on the run and logs it at INFO.
page_skipped = object()
