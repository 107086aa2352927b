"""What the IdP publishes to every relying party: discovery and JWKS, served from memory once built.

These documents change only when tenants are seeded or reset (the tenants stamp) or when keys rotate
(the keys index), so a WSGI layer in front of Flask answers repeat requests with the bytes Flask produced
the first time for the same URL, host and scheme. Anything else goes through Flask untouched.
"""
import re

from .. import stamps

PUBLISHED = re.compile(r"^/[^/]+/(?:v2\.0/\.well-known/openid-configuration|discovery/(?:v2\.0/)?keys)$")
MAX_ENTRIES = 256


class PublishedDocuments:
    """WSGI middleware: replay the 200 answers of the published documents until tenants or keys change."""

    def __init__(self, wsgi_app, stamp_files):
        self.wsgi_app = wsgi_app
        self.stamp_files = stamp_files  # the files whose change means the documents changed
        self.cache = {}

    def version(self):
        return tuple(stamps.version(path) for path in self.stamp_files)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not PUBLISHED.match(path):
            return self.wsgi_app(environ, start_response)
        key = (path, environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme"),
               environ.get("SCRIPT_NAME", ""), self.version())
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
