"""The one commit of a request, and writes that stay right when several requests, workers or hosts do them at once.

A request's writes are committed once, by `commit_request` after its view (rolled back when it fails with a
5xx); a request that wrote nothing (every journey screen GET, the phone's pages) commits nothing. The CLI,
the seeds, the start-up and the background jobs, which are not requests, commit for themselves.

Checking for a row and then adding it races: two requests both find nothing and the second insert
breaks a UNIQUE constraint (a 500). Here the database decides in one statement (INSERT … ON CONFLICT,
which SQLite and PostgreSQL both speak), and work that must not interleave (reset, start-up) takes a
lock the database or its folder holds for every process.
"""
import contextlib
import fcntl
import hashlib
import os

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from .extensions import db
from .sqlite import writes

@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn, cursor, statement, parameters, context, executemany):
    if writes(statement):
        conn.info["wrote"] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(conn):
    conn.info.pop("wrote", None)


def has_writes(session):
    """True when the session's transaction wrote something, or has something to write (rows, recorder events)."""
    if session.new or session.deleted or session.info.get("flow_events"):
        return True
    if any(session.is_modified(row) for row in session.dirty):
        return True
    return holds_writes(session)


def holds_writes(session):
    """True when the session's transaction has sent a write to the database (and so holds its write locks)."""
    return session.in_transaction() and bool(session.connection().info.get("wrote"))


def commit_request(response):
    """after_request: commit what the request wrote, once (before the response leaves); a 5xx rolls it back.

    A commit that fails (the database locked, full, read-only) answers as the view's own error would have.
    """
    session = db.session()
    if response.status_code >= 500:
        session.rollback()
    elif has_writes(session):
        try:
            session.commit()
        except Exception as exc:
            session.rollback()
            return current_app.make_response(current_app.handle_user_exception(exc))
    return response


def init_app(app):
    """Commit each request's writes. Call it after the other after_request functions are registered: it then
    runs first (they run in reverse order), and they still see (and dress) a failed commit's error page."""
    app.after_request(commit_request)


def dialect_insert(model, dialect_name=None):
    """The INSERT construct of the session's dialect, or of the one named (the one that knows ON CONFLICT).

    Imported when first used: a server on SQLite never loads the PostgreSQL dialect (cold start).
    """
    name = dialect_name or db.session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def insert_missing(model, keys, **values):
    """Insert a row unless one with the same `keys` (a unique constraint's columns) exists; True if inserted.

    Columns not given get their model defaults (Core inserts apply them too).
    """
    statement = dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement once SQLAlchemy adds RETURNING itself.
    statement = statement.returning(*model.__table__.primary_key.columns)
    return db.session.execute(statement).first() is not None


def upsert(model, keys, **values):
    """Insert a row, or update the one with the same `keys` to `values` (last writer wins, never a 500)."""
    statement = dialect_insert(model).values(**values)
    changed = {k: v for k, v in values.items() if k not in keys}
    db.session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def _lock_id(name):
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_for_transaction(name):
    """Hold a database-wide lock named `name` until the current transaction ends.

    PostgreSQL: an advisory transaction lock. SQLite: a first write takes the database's write lock
    (idp/sqlite.py), which SQLite and our lock file hold until commit, for every process.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(name)})
    else:
        db.session.execute(text("DELETE FROM setting WHERE 1 = 0"))


@contextlib.contextmanager
def startup_lock(engine, data_dir):
    """Hold, across processes, the lock under which schema creation and first seeding run.

    Two `serve` started together on an empty database would both create tables and both seed.
    PostgreSQL: a session advisory lock on one connection. SQLite (one host): a lock file beside the
    database in the data folder.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _lock_id("idp-emulator start-up")})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _lock_id("idp-emulator start-up")})
                connection.commit()
        return
    os.makedirs(data_dir, exist_ok=True)
    fd = os.open(os.path.join(data_dir, "startup.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
