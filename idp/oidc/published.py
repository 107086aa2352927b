"""What the IdP publishes to every relying party: discovery and JWKS, served from memory once built.

These documents change only when tenants are seeded or reset or when keys rotate, on any host sharing the
database (the "tenants" and "keys" versions, idp.stamps), so a WSGI layer in front of Flask answers repeat
requests with the bytes Flask produced the first time for the same URL, host, scheme and versions. Anything
else goes through Flask untouched.
"""
import re

from .. import stamps
from ..extensions import db

PUBLISHED = re.compile(r"^/[^/]+/(?:v2\.0/\.well-known/openid-configuration|discovery/(?:v2\.0/)?keys)$")
MAX_ENTRIES = 256


class PublishedDocuments:
    """WSGI middleware: replay the 200 answers of the published documents until tenants or keys change."""

    def __init__(self, wsgi_app, app):
        self.wsgi_app = wsgi_app
        self.app = app
        self.engine = None  # the app's, once known
        self.cache = {}

    def version(self):
        """The versions the documents depend on: one small query on a pooled connection (no session, no app
        context); None if the database does not answer (Flask then answers as for any request)."""
        try:
            if self.engine is None:
                with self.app.app_context():
                    self.engine = db.engine
            with self.engine.connect() as connection:
                versions = dict(connection.exec_driver_sql(stamps.SELECT).all())
        except Exception:  # noqa: BLE001
            return None
        return versions.get("tenants", 0), versions.get("keys", 0)

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
