"""Whether the IdP is in demo mode, so that the Espace Client's banner says so too, as the IdP's pages do.

The Espace Client is another server: it asks the IdP (GET /_emulator/status) and keeps the answer a few
seconds, so switching demo mode on the emulator home shows here on the next pages. An IdP that does not
answer (stopped, or a real one) means no demo mode.
"""
import threading
import time
from urllib.parse import urlsplit

import requests

TTL_SECONDS = 3.0
TIMEOUT_SECONDS = 0.5
_answers = {}
_lock = threading.Lock()


def status_url(authority):
    parts = urlsplit(authority)
    return f"{parts.scheme}://{parts.netloc}/_emulator/status"


def active(config):
    """True when the IdP of CLIENT_AUTHORITY says it is in demo mode (asked at most every TTL_SECONDS)."""
    url = status_url(config["CLIENT_AUTHORITY"])
    now = time.monotonic()
    with _lock:
        known = _answers.get(url)
    if known is not None and now - known[0] < TTL_SECONDS:
        return known[1]
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, verify=config.get("CLIENT_CA_BUNDLE") or True)
        value = response.status_code == 200 and response.json().get("demo") is True
    except (requests.RequestException, ValueError, AttributeError):
        value = False
    with _lock:
        _answers[url] = (now, value)
    return value


def forget():
    """Ask again on the next page (tests, or right after switching)."""
    with _lock:
        _answers.clear()
