"""`newsmon feed` and `newsmon serve`: the Atom feeds and the read-only web app (web/) from the command line."""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from scheduler.cli import EXIT_RUNTIME, EXIT_USAGE, _load_config, _repository, errors_as_exit, fail, main

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@main.command()
@click.option("--rule", metavar="NAME", help="Only stories matching this rule (default: every matched story).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N stories.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the feed to FILE (replaced whole, never half-written) instead of stdout.")
@click.pass_obj
def feed(obj: dict[str, Any], rule: str | None, limit: int, output: Path | None) -> None:
    """Write an Atom feed of the newest matched stories, one entry per story.

    An entry's id is the story's canonical URL, so a feed reader sees each story once; its
    summary is the text's start and the other outlets' copies, its categories the rules that
    matched. `newsmon serve` serves the same feeds at /feed.atom and /rules/NAME/feed.atom.

    \b
    Example:
      newsmon feed --rule green-manufacturing --output /var/www/green.atom
    """
    from store.records import ArticleFilter
    from web.feeds import atom_feed, feed_info

    with errors_as_exit():
        if rule is not None:
            _known_rule(_load_config(obj), rule)
        repository = _repository(obj["db"], create=False)
        articles = repository.articles.query(ArticleFilter(rules=(rule,) if rule else (), limit=limit))
        data = atom_feed(articles, feed_info(rule))
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        _replace(output, data)
    except OSError as exc:
        fail(f"--output {output}: {exc.strerror or exc}", EXIT_RUNTIME)


def _known_rule(config: Any, name: str) -> None:
    known = [r.name for r in config.rules]
    if name not in known:
        fail(f"no rule named {name!r} (rules: {', '.join(sorted(known))})", EXIT_USAGE)


def _replace(path: Path, data: bytes) -> None:
    # A reader polling the file never sees half a feed: write beside it, then rename over it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but 127.0.0.1, ::1 or localhost needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port; the line on stderr says which).")
@click.option("--token", envvar="NEWSMON_SERVE_TOKEN", metavar="TOKEN",
              help="Every request must show it: header `Authorization: Bearer TOKEN`, or "
                   "?token=TOKEN once (a cookie keeps the browser in). Env: NEWSMON_SERVE_TOKEN.")
@click.pass_obj
def serve(obj: dict[str, Any], host: str, port: int, token: str | None) -> None:
    """Serve a read-only web app: the matched stories, source health, recent runs, Atom feeds.

    Pages: /articles (filters: rule, source, language, since, until, limit), /articles/ID (the
    text with the matched terms highlighted), /sources, /runs, /feed.atom and
    /rules/NAME/feed.atom. Every page is also JSON at the same path plus `.json`
    (/articles.json has the keys of `query --format json`). Ctrl-C stops it.

    \b
    Example:
      newsmon serve --port 8080
      NEWSMON_SERVE_TOKEN=s3cret newsmon serve --host 0.0.0.0
    """
    import uvicorn

    from scheduler.live_seeds import LiveSeeds
    from scheduler.schedule import silent_after
    from web.app import SeedNames, create_app

    local = host.strip("[]").lower() in LOOPBACK
    if not local and not token:
        fail(f"--host {host} is reachable from other machines: give --token (or NEWSMON_SERVE_TOKEN), "
             "or bind 127.0.0.1", EXIT_USAGE)
    if token is not None and not token.strip():
        fail("--token is empty", EXIT_USAGE)
    with errors_as_exit():
        config = _load_config(obj)
        repository = _repository(obj["db"], create=False)
    sock = _listen(host.strip("[]"), port)
    live = LiveSeeds(lambda: _load_config(obj), config)

    built: dict[int, SeedNames] = {}

    def seeds() -> SeedNames:  # as the seeds are now: serve runs for days, the seeds get edited
        now = live.current()
        if id(now) not in built:  # once a config: 20,000 sources are not listed every request
            built.clear()
            built[id(now)] = SeedNames([s.name for s in now.sources], [r.name for r in now.rules], silent_after(now))
        return built[id(now)]

    app = create_app(repository, seeds, token=token, hosts=LOOPBACK if local else None)
    # No access log: a first visit's URL carries ?token=; newsmon's logging is already set up.
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, server_header=False,
                                           log_level=obj["log_level"]))
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    click.echo(f"Serving http://{shown}:{bound_port}/ (Ctrl-C to stop)", err=True)
    # uvicorn stops cleanly on SIGINT/SIGTERM, then raises the signal again for the default
    # handler: KeyboardInterrupt for Ctrl-C, and for SIGTERM this handler, both a clean exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        repository.close()


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so a port in use is one Error line, not uvicorn's log."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        fail(f"--host {host}: {exc.strerror}", EXIT_USAGE)
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host} port {port}: {exc.strerror or exc}", EXIT_RUNTIME)
    sock.set_inheritable(True)
    return sock


def _exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    sys.exit(0)
