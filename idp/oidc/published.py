"""What the IdP publishes to every relying party: discovery and JWKS, served from memory once built.

These documents change only when tenants are seeded or reset or when keys rotate, on any host sharing the
database (the "tenants" and "keys" versions, idp.stamps), so a WSGI layer in front of Flask answers repeat
requests with the bytes Flask produced the first time for the same URL, host, scheme and versions. Anything
else goes through Flask untouched.
"""
import functools
import os
import re
import threading
import time

from sqlalchemy import event

from .. import stamps
from ..extensions import db
from ..sqlite import database_path

PUBLISHED = re.compile(r"^/[^/]+/(?:v2\.0/\.well-known/openid-configuration|discovery/(?:v2\.0/)?keys)$")
MAX_ENTRIES = 256
RECHECK_SECONDS = 1.0  # the longest an unchanged database file goes without its versions read again


class PublishedDocuments:
    """WSGI middleware: replay the 200 answers of the published documents until tenants or keys change."""

    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.app = app
        self.engine = None  # the app's, once known
        self.cache = {}
        # Each server thread reads the versions on a database connection of its own, taken out of the pool
        # once: the read is then one small query on the driver, without the pool's checkout and reset that
        # cost several times the query itself.
        self.local = threading.local()
        self.connections = []  # every thread's, closed with the engine (dispose)
        self.lock = threading.Lock()

    def version(self):
        """The versions the documents depend on; None if the database does not answer (Flask then answers)."""
        files = self.files_state()
        known = getattr(self.local, "known", None)
        now = time.monotonic()
        if files is not None and known is not None and known[0] == files and now - known[1] < RECHECK_SECONDS:
            return known[2]
        versions = self.read_versions()
        self.local.known = (files, now, versions) if versions is not None and files is not None else None
        return versions

    def files_state(self):
        """For an SQLite database in WAL mode, the (mtime, size) of its file and its write-ahead log, else None.

        Every commit, from any process on this database, writes to the log: while neither file changed, no
        version can have changed, and the query (which, with the server's threads, cost a fifth of a discovery
        request) is not needed. At most RECHECK_SECONDS pass between two queries all the same, should a commit
        land in the same clock tick as a log restarted from its beginning (same size, same mtime).
        """
        path = self.database_path
        if path is None:
            return None
        try:
            main, log = os.stat(path), os.stat(path + "-wal")
        except OSError:
            return None
        return main.st_mtime_ns, main.st_size, log.st_mtime_ns, log.st_size

    @functools.cached_property
    def database_path(self):
        """The SQLite file's path, or None (PostgreSQL, or a database in memory)."""
        return database_path(self.app.config.get("SQLALCHEMY_DATABASE_URI", ""))

    def read_versions(self):
        """One small query on this thread's own connection (no session, no app context); None on an error."""
        connection = getattr(self.local, "connection", None)
        try:
            if connection is None:
                if self.engine is None:
                    with self.app.app_context():
                        self.engine = db.engine
                    event.listen(self.engine, "engine_disposed", self.close_connections)
                connection = self.engine.raw_connection()
                connection.detach()  # out of the pool for good: closed on an error or with the engine
                with self.lock:
                    self.connections.append(connection)
                self.local.connection = connection
            cursor = connection.cursor()
            try:
                cursor.execute(stamps.SELECT)
                versions = dict(cursor.fetchall())
            finally:
                cursor.close()
            connection.rollback()  # no transaction left open (PostgreSQL would keep its snapshot)
        except Exception:  # noqa: BLE001
            self.local.connection = None
            if connection is not None:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001
                    pass
            return None
        return versions.get("tenants", 0), versions.get("keys", 0)

    def close_connections(self, engine=None):
        """Close the threads' connections (the engine is disposed: tests, a worker after fork); they reopen on use."""
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - another thread's SQLite connection, or one already broken
                pass

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not PUBLISHED.match(path):
            return self.wsgi_app(environ, start_response)
        version = self.version()
        if version is None:
            return self.wsgi_app(environ, start_response)
        key = (path, environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme"),
               environ.get("SCRIPT_NAME", ""), version)
        hit = self.cache.get(key)
        if hit is not None:
            status, headers, body = hit
            start_response(status, list(headers))
            return [body]
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers) if exc_info is None else start_response(status, headers, exc_info)

        iterable = self.wsgi_app(environ, capture)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        headers = answer.get("headers", [])
        if answer.get("status", "").startswith("200") and not any(k.lower() == "set-cookie" for k, _ in headers):
            if len(self.cache) >= MAX_ENTRIES:
                self.cache.clear()
            self.cache[key] = (answer["status"], tuple(headers), body)
        return [body]
