"""Open a database: engine, SQLite pragmas, and migrations run on open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from store.errors import StoreError

# The newest migration in store/migrations/versions. Checked here so that opening an
# up-to-date database costs one SELECT instead of importing Alembic (tests keep it in step).
SCHEMA_REVISION = "0009"
DEFAULT_DB_URL = "sqlite:///newsmon.db"
# Milliseconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 60_000


def redact(url: str | URL) -> str:
    """Render a DB URL with its password hidden, for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def open_db(url: str, *, migrate: bool = True) -> Engine:
    """Connect to the database at `url`, bringing its schema up to date."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {redact(url)!r}") from exc
    if parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not install.
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = _create_engine(parsed)
    try:
        if migrate:
            _migrate_if_behind(engine)
        else:
            with engine.connect():
                pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {redact(parsed)}: {_first_line(exc)}") from exc
    return engine


def _create_engine(url: URL) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        db = url.database
        # A "file:" URI (uri=true, e.g. mode=ro) is sqlite3's to parse; plain paths are checked here.
        if db and db != ":memory:" and not db.startswith("file:") and not Path(db).parent.exists():
            raise StoreError(f"cannot open database {redact(url)}: folder {Path(db).parent} does not exist")
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module so we can BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # WAL lets readers run beside a writer; measured: zero lock errors vs thousands.
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


def _migrate_if_behind(engine: Engine) -> None:
    with engine.connect() as conn:
        has_version = inspect(conn).has_table("alembic_version")
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if has_version else None
    if current != SCHEMA_REVISION:
        upgrade(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on this engine."""
    from alembic import command

    with engine.connect().execution_options(newsmon_write=True) as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
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


