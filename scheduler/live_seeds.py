"""The seeds as they are now, for a command that runs for days without crawling (`newsmon serve`).

OWNS: LiveSeeds. The daemon reads its seeds again when sources.toml or rules.toml changes
(scheduler.daemon); `serve` showed the sources and rules it started with until restarted. LiveSeeds
looks at the two files' modification times when asked (two stat calls), reads them again when
either changed, and keeps the last good config when an edit does not parse, saying so in one
error line per broken edit, as the daemon does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from crawler.config import RULES_FILE, SOURCES_FILE, Config, ConfigError

log = logging.getLogger(__name__)


class LiveSeeds:
    """A config read again whenever its seeds files change; the last good one while they are broken."""

    def __init__(self, load: Callable[[], Config], first: Config) -> None:
        """`load()` reads the seeds; `first` is what it returned at start."""
        self._load = load
        self._config = first
        self._folder = first.seeds_dir
        self._seen = self._mtimes()
        # Serving threads ask at once; one of them reads.
        self._lock = threading.Lock()

    def current(self) -> Config:
        """Return the config as the seeds files say now."""
        now = self._mtimes()
        if now == self._seen:
            return self._config
        with self._lock:
            if now != self._seen:
                self._seen = now
                try:
                    self._config = self._load()
                    log.info("seeds reloaded: %d sources, %d rules", len(self._config.sources),
                             len(self._config.rules))
                except ConfigError as exc:
                    log.error("seeds edit rejected, still showing the last good config: %s", exc)
            return self._config

    def _mtimes(self) -> tuple[float, ...]:
        if self._folder is None:
            return ()
        out = []
        for name in (SOURCES_FILE, RULES_FILE):
            try:
                out.append(Path(self._folder, name).stat().st_mtime)
            except OSError:
                out.append(-1.0)
        return tuple(out)
