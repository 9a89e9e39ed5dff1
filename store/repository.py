"""The store's front door: one database, and each table group's operations under its name
(`repo.articles.add(...)`, `repo.runs.recent()`), in the manner of sqlite-utils' `db["table"]`."""

from __future__ import annotations

from sqlalchemy import Engine

from store.alerts import Alerts
from store.articles import Articles
from store.boilerplate import Boilerplate
from store.consumers import Consumers
from store.database import Database
from store.db import open_db
from store.leases import Leases
from store.matches import Matches
from store.names import Names
from store.robots import RobotsFiles
from store.runs import Runs
from store.schedules import Schedules
from store.search import Search
from store.validators import Validators


class Repository:
    """Every table group of one database; the only code that runs queries lives behind it."""

    def __init__(self, engine: Engine) -> None:
        self.db = Database(engine)
        self.engine = engine
        self.articles = Articles(self.db)
        self.runs = Runs(self.db)
        self.schedules = Schedules(self.db)
        self.leases = Leases(self.db)
        self.validators = Validators(self.db)
        self.boilerplate = Boilerplate(self.db)
        self.consumers = Consumers(self.db)
        self.search = Search(self.db, self.articles)
        self.matches = Matches(self.db)
        self.alerts = Alerts(self.db)
        self.names = Names(self.db)
        self.robots = RobotsFiles(self.db)

    @classmethod
    def open(cls, url: str, migrate: bool = True, create: bool = True) -> Repository:
        """Open the database at `url` (bringing its schema up to date unless told not to); with
        `create=False`, a reader's: NoDatabase when there is none, read-only when it may not write."""
        return cls(open_db(url, migrate=migrate, create=create))

    @property
    def read_only(self) -> bool:
        """Whether this store was opened read-only (a reader's SQLite file it may not write)."""
        from store.db import is_read_only

        return is_read_only(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.db.close()
