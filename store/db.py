"""Open a database: the URL checked, engine, SQLite pragmas, migrations run on open (readers: none)."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from store.errors import DatabaseURLError, NoDatabase, StoreError

# The newest migration in store/migrations/versions. Checked here so that opening an
# up-to-date database costs one SELECT instead of importing Alembic (tests keep it in step).
SCHEMA_REVISION = "0013"
DEFAULT_DB_URL = "sqlite:///newsmon.db"
# Milliseconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 60_000
# What a database URL may be, for the errors that refuse anything else.
SUPPORTED_URLS = "sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
# Each accepted scheme and the driver it is opened with. PostgreSQL is psycopg 3's: plain
# postgresql:// would pick psycopg2, which newsmon does not install; postgres:// is what hosting
# services hand out.
_DRIVERS = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql+psycopg",
            "postgresql+psycopg": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def redact(url: str | URL) -> str:
    """Render a DB URL with its password hidden, for logs and errors."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _masked(str(url))
    shown = parsed.render_as_string(hide_password=True)
    # A SQLite URL holds no password, and its path reads better as typed ("file:", not "file%3A").
    return unquote(shown) if parsed.get_backend_name() == "sqlite" else shown


def _masked(text: str) -> str:
    # What a URL that does not parse may still hold: a password between "user:" and the last "@".
    return re.sub(r"(://[^/:@]*:).*@", r"\1***@", text)


def database_url(text: str) -> URL:
    """Check a database URL as typed (--db, NEWSMON_DB) and return the URL to connect to.

    Raises DatabaseURLError, one sentence saying what is wrong and what would do, for anything
    newsmon cannot use; nothing is connected to yet.
    """
    typed = text.strip()
    if not typed:
        raise DatabaseURLError(f"the database URL is empty: give one such as {DEFAULT_DB_URL}")
    if "://" not in typed:
        if ":" not in typed:  # a file's path: the usual slip
            raise DatabaseURLError(f"{typed!r} is not a database URL: for a SQLite file, write sqlite:///{typed}")
        raise DatabaseURLError(f"{_masked(typed)!r} is not a database URL: newsmon takes {SUPPORTED_URLS}")
    try:
        parsed = make_url(typed)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise DatabaseURLError(f"{_masked(typed)!r} is not a database URL: newsmon takes {SUPPORTED_URLS}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseURLError(f"{parsed.drivername}:// databases are not supported: newsmon takes {SUPPORTED_URLS}")
    if driver == "sqlite":
        _check_sqlite(parsed)
    else:
        _check_postgresql(parsed)
    return parsed.set(drivername=driver)


def _check_sqlite(url: URL) -> None:
    db = url.database or ""
    if db in ("", ":memory:") or "mode=memory" in db:
        raise DatabaseURLError(f"{redact(url)} is a database in memory, gone when the command ends: "
                               f"give a file, such as {DEFAULT_DB_URL}")
    if db.startswith("file:"):  # a "file:" URI (uri=true, e.g. mode=ro) is sqlite3's to parse
        return
    if Path(db).is_dir():
        raise DatabaseURLError(f"{redact(url)}: {db} is a folder; name a file in it, such as "
                               f"sqlite:///{Path(db) / 'newsmon.db'}")
    if not Path(db).parent.exists():
        raise StoreError(f"cannot open database {redact(url)}: folder {Path(db).parent} does not exist")


def _check_postgresql(url: URL) -> None:
    # libpq fills a missing host, user or database from the environment (the local socket, the
    # login name): `postgresql://` alone would migrate whatever database that happens to be.
    missing = [what for what, value in (("host", url.host or url.query.get("host")), ("database", url.database))
               if not value]
    if missing:
        raise DatabaseURLError(f"{redact(url)} names no {' and no '.join(missing)}: write "
                               "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
    try:
        importlib.import_module("psycopg")
    except ImportError as exc:
        raise DatabaseURLError("PostgreSQL needs the psycopg driver, which is not installed: "
                               "pip install 'newsmon[postgres]'") from exc


def open_db(url: str, *, migrate: bool = True, create: bool = True) -> Engine:
    """Connect to the database at `url`, bringing its schema up to date.

    With `create=False` (commands that only read) a database that does not exist yet is NoDatabase,
    not created empty; and a SQLite file this process may not write is opened read-only, as it is.
    """
    parsed = database_url(url)
    read_only = False
    if not create and parsed.get_backend_name() == "sqlite":
        parsed, read_only = _for_reading(parsed)
    engine = _create_engine(parsed, read_only)
    try:
        if read_only:
            _check_schema(engine, parsed)
        elif migrate:
            _migrate_if_behind(engine, create)
        else:
            with engine.connect():
                pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {redact(parsed)}: {_first_line(exc)}") from exc
    except StoreError:
        engine.dispose()
        raise
    return engine


def is_read_only(engine: Engine) -> bool:
    """Whether `engine` was opened read-only (a reader's SQLite file it may not write)."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and (url.query.get("mode") == "ro" or "mode=ro" in (url.database or ""))


def _for_reading(url: URL) -> tuple[URL, bool]:
    """The URL a reader opens a SQLite file by, and whether that is read-only."""
    db = url.database or ""
    if db.startswith("file:"):  # the user's own URI says how to open it
        return url, "mode=ro" in db or url.query.get("mode") == "ro"
    path = Path(db)
    if not path.is_file():
        raise NoDatabase(str(path))
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return url, False
    # Not ours to write (the service user's database, read by someone else): read-only, or SQLite
    # would fail the first statement that writes, the WAL pragma included.
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists():
        # Reading a WAL database needs its -shm file, which cannot be made in a folder we may not
        # write. No -wal file means no connection is open (the last to close folds the log into
        # the file and removes it): the file alone is the whole database, safe to read as immutable.
        query["immutable"] = "1"
    return url.set(database=f"file:{path.resolve()}", query=query), True


def _check_schema(engine: Engine, url: URL) -> None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            raise NoDatabase(redact(url))
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current != SCHEMA_REVISION:
        raise StoreError(f"cannot open database {redact(url)} read-only: its schema ({current}) is older than "
                         f"this newsmon's ({SCHEMA_REVISION}); a command that writes, run by its owner, upgrades it")


def _create_engine(url: URL, read_only: bool = False) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine, read_only)
    return engine


def _configure_sqlite(engine: Engine, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module so we can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # WAL lets readers run beside a writer; measured: zero lock errors vs thousands. (It is
        # kept in the file: a reader that may not write finds it set by the writer that made it.)
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads, then writes, fails at once with SQLITE_BUSY when
        # another writer got in between; writers take the lock up front and wait for it instead.
        mode = "IMMEDIATE" if conn.get_execution_options().get("newsmon_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _migrate_if_behind(engine: Engine, create: bool = True) -> None:
    with engine.connect() as conn:
        has_version = inspect(conn).has_table("alembic_version")
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if has_version else None
    if current is None and not create:
        raise NoDatabase(redact(engine.url))
    if current != SCHEMA_REVISION:
        upgrade(engine)


# Arbitrary constant key ("newsmig"): PostgreSQL migrations run one process at a time.
_MIGRATE_LOCK = 0x6E6577736D6967


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on this engine."""
    from alembic import command

    with engine.connect().execution_options(newsmon_write=True) as conn:
        if engine.dialect.name == "postgresql":
            # Two processes opening a new database at once (workers starting together) would both
            # create the tables; the second waits here, then finds the schema current. A session
            # lock, so that it outlives the migrations' own transactions.
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATE_LOCK})
            conn.commit()
        try:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATE_LOCK})
                conn.commit()


def alembic_config() -> Any:
    """Alembic's config pointing at store/migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


