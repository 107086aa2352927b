"""The embedded SQLite database, shared by several worker processes and threads.

Each connection turns on WAL (synchronous=NORMAL: no fsync per commit), which lets readers run beside
the one writer SQLite allows. A second writer that finds the database locked sleeps in SQLite's busy
handler, in steps that grow to 100 ms, and so sits idle long after the first one has committed.
Here each connection first takes an exclusive lock on a lock file beside the database before its
first write, and lets it go when its transaction ends: waiting writers queue on that lock, checked
every fraction of a millisecond, and start as soon as it is free.
"""
import fcntl
import os
import sqlite3
import time

WRITES = ("insert", "update", "delete", "replace", "create", "alter", "drop")
WAIT_SECONDS = 10.0  # past this, the write goes ahead and SQLite's own busy timeout decides


def writes(sql):
    """Whether a statement writes (data or schema): it needs the write lock, and its transaction a commit."""
    return sql.lstrip()[:7].lower().startswith(WRITES)


class WriteLock:
    """One connection's hold on the database's write lock file (flock: per open file, so per connection)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def acquire(self):
        if self.held:
            return
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.0002
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def release(self):
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self):
        if self.fd is not None:  # a connection may be closed twice; its descriptor number may be reused since
            self.release()
            os.close(self.fd)
            self.fd = None


class Cursor(sqlite3.Cursor):
    def execute(self, sql, parameters=()):
        if writes(sql):
            self.connection.write_lock.acquire()
        return super().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        if writes(sql):
            self.connection.write_lock.acquire()
        return super().executemany(sql, seq_of_parameters)


def connection_class(database_path):
    """A sqlite3.Connection class (the `factory` of sqlite3.connect) whose writers queue on `<database>-writelock`."""
    lock_path = f"{database_path}-writelock"

    class Connection(sqlite3.Connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.write_lock = WriteLock(lock_path)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
                self.execute(f"PRAGMA {pragma}")

        def cursor(self, factory=Cursor):
            return super().cursor(factory)

        def execute(self, sql, parameters=()):
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql, seq_of_parameters):
            return self.cursor().executemany(sql, seq_of_parameters)

        def commit(self):
            try:
                super().commit()
            finally:
                self.write_lock.release()

        def rollback(self):
            try:
                super().rollback()
            finally:
                self.write_lock.release()

        def close(self):
            try:
                super().close()
            finally:
                self.write_lock.close()

    return Connection


def database_path(uri):
    """The file of an SQLite database URI, or None (another database, or an SQLite database in memory)."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and uri[len(prefix):] not in ("", ":memory:") and "mode=memory" not in uri:
        return uri[len(prefix):].split("?", 1)[0]
    return None


def engine_options(uri, options=None):
    """SQLAlchemy engine options for the IdP's database: the queued writers above for a SQLite file."""
    options = dict(options or {})
    path = database_path(uri)
    if path is not None:
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("factory", connection_class(path))
        options["connect_args"] = connect_args
    return options
