"""Whether a redirect URI sent by a client is one it registered: exact, except the port of a loopback URI.

A native app (MSAL's interactive flow, a CLI) listens on whatever port the system gives it, so
Microsoft, as RFC 8252 §7.3 asks, ignores the port of `http://localhost`, `http://127.0.0.1` and
`http://[::1]` redirect URIs. Everything else (scheme, host, path, query, https loopback, other
hosts) must match character for character.
"""
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def registered(uris, requested):
    """Return True when `requested` matches one of the registered `uris`."""
    if not isinstance(requested, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in requested):
        # A control character (CR, LF, tab) never matches: urlsplit drops some of them silently, and a
        # URI that comparison saw without them must not reach a Location header with them.
        return False
    if requested in uris:
        return True
    loopback = _loopback_without_port(requested)
    return loopback is not None and any(_loopback_without_port(uri) == loopback for uri in uris)


def _loopback_without_port(uri):
    """The URI with its port removed when it is an http loopback URI, else None."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    if parts.scheme != "http" or "@" in parts.netloc:
        return None
    # "[::1]:8080" -> "[::1]", "localhost:8080" -> "localhost"
    host = parts.netloc if parts.netloc.endswith("]") else parts.netloc.rsplit(":", 1)[0]
    if host.lower() not in LOOPBACK_HOSTS:
        return None
    return parts._replace(netloc=host.lower()).geturl()
