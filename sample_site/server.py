"""The fixture web server: a dict of path -> Page served on 127.0.0.1 (port 0) from a background thread.

It logs every request and answer so that a test or a benchmark can see what a crawl fetched, and a
Page can be slow (`delay`) or fail once (`then`): the sample site, the tests' small sites and the
benchmarks' generated sites all run on it.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds the server waits before answering: a slow or hanging site.
    delay: float = 0.0
    # Served instead from the next request on: a page that fails once, then works.
    then: Page | None = None


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a crawl stopped at its time limit) is no server error:
    socketserver would print its traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """Serve a dict of path -> Page on 127.0.0.1 (port 0) from a background thread, logging every request."""

    def __init__(self, pages: dict[str, Page] | None = None) -> None:
        self._pages: dict[str, Page] = dict(pages or {})
        self._log: list[str] = []
        self._answers: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a background thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm on, a client's
            # delayed ACK held every response on a reused connection back ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server._serve(self, head=False)

            def do_HEAD(self) -> None:
                server._serve(self, head=True)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sample-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_pages(self, pages: dict[str, Page]) -> None:
        """Replace every page."""
        with self._lock:
            self._pages = dict(pages)

    def set_page(self, path: str, page: Page) -> None:
        """Add or replace one page."""
        with self._lock:
            self._pages[path] = page

    def requests(self) -> list[str]:
        """Return the request log: paths with query strings, in order."""
        with self._lock:
            return list(self._log)

    def answers(self) -> list[tuple[str, int]]:
        """Return (path, status) for every response, in order."""
        with self._lock:
            return list(self._answers)

    def clear_log(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()
            self._answers.clear()

    def on_answer(self, path: str, status: int) -> None:
        """Record one response; called under the log's lock, so a subclass that records more stays in step."""
        self._answers.append((path, status))

    def _serve(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        with self._lock:
            self._log.append(handler.path)
            key = handler.path if handler.path in self._pages else urlsplit(handler.path).path
            page = self._pages.get(key)
            if page is not None and page.then is not None:
                self._pages[key] = page.then
        if page is None:
            page = Page(b"<html><body><h1>Not found</h1></body></html>", status=404)
        if page.delay:
            time.sleep(page.delay)
        etag = page.headers.get("ETag")
        if etag and handler.headers.get("If-None-Match") == etag:
            # Like a real server: a matching validator gets 304, whether or not the body changed.
            page = Page(b"", status=304, headers={"ETag": etag})
        with self._lock:
            self.on_answer(handler.path, page.status)
        handler.send_response(page.status)
        headers = {"Content-Type": "text/html; charset=utf-8", **page.headers} if page.status != 304 else page.headers
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(page.body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(page.body)
