"""What protects the emulator as a web application, in one place: allowed hosts, same-origin control requests,
the control key on the emulator's own pages, security headers and Secure cookies.

- Allowed hosts. Every request names a host this instance answers for, or gets 400. Without it a page on
  any site could reach http://localhost:8400 through DNS rebinding (its own name resolving to 127.0.0.1),
  and the issuer, endpoints and invitation links, built from the Host header, would follow an attacker's
  Host. Allowed: the loopback names, IDP_BASE_URL's host, the address given to --host (not a wildcard one),
  and IDP_ALLOWED_HOSTS (comma-separated names, `*.example.test` for a domain and its subdomains, `*` for any).
- Same origin. Under /_emulator/ (control API, phone, mailbox, …) a POST, PUT, PATCH or DELETE sent by
  another origin is refused (403): a page on another site must not approve a push or reset the database.
- The control key. IDP_CONTROL_KEY, when set, is required on every /_emulator/ path, loopback included;
  beyond loopback (--host 0.0.0.0) it is required, and /_emulator/ answers 503 until it is set. The control
  API takes it as `Authorization: Bearer <key>`; the pages as HTTP Basic (any user name, the key as
  password) or from a cookie set once by `/_emulator/…?key=<key>` (signed, HttpOnly, SameSite=Strict).
  The guard is by path prefix, so every page added under /_emulator/ is covered.
- Headers on every response: framing only by the emulator's own origin (X-Frame-Options SAMEORIGIN and
  CSP frame-ancestors 'self'), nosniff, and a Referrer-Policy that never sends a path (codes) cross-origin.
  Microsoft sends X-Frame-Options: DENY on its sign-in pages; the emulator allows its own origin because
  trainer mode's presenter view shows the IdP's screens and the phone in frames of the same origin, and
  the mailbox shows a mail in a same-origin frame. No other site can frame them (clickjacking).
- Secure cookies: over https (--https, or an https IDP_BASE_URL) every cookie gets the Secure attribute.
"""
import hmac
import ipaddress
import re
from urllib.parse import urlencode, urlsplit

from flask import current_app, jsonify, make_response, redirect, render_template_string, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeSerializer

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
HOST = re.compile(r"^(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?$")
EMULATOR = "/_emulator/"
API = "/_emulator/api"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
KEY_COOKIE = "idp_emulator_key"
KEY_COOKIE_SALT = "idp-emulator control key cookie"
FRAME_ANCESTORS = "frame-ancestors 'self'"
HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    # The browser's default, said explicitly: another origin gets the origin only, never a path or a query.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}

_HEADERS = tuple((name.lower(), name, value) for name, value in HEADERS.items())


# --- hosts ----------------------------------------------------------------------------------------

def hostname(host_header):
    """Return the lower-case host name of a Host header ('[::1]:8400' -> '::1'), or None when malformed."""
    found = HOST.match((host_header or "").strip())
    if not found:
        return None
    return (found["ip6"] or found["name"]).lower().rstrip(".")


def is_loopback(host):
    """Return True when a host name or address is reachable only from this machine."""
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(config):
    """The host names (or `*.domain` patterns) this instance answers for, besides loopback."""
    names = [name.strip().lower() for name in (config.get("IDP_ALLOWED_HOSTS") or "").split(",") if name.strip()]
    if config.get("IDP_BASE_URL"):
        names.append(urlsplit(config["IDP_BASE_URL"]).hostname or "")
    listen = (config.get("IDP_LISTEN_HOST") or "").strip().strip("[]").lower()
    if listen not in WILDCARD_ADDRESSES:
        names.append(listen)
    return [name for name in names if name]


def host_allowed(host, config):
    name = hostname(host)
    if name is None:
        return False
    if is_loopback(name):
        return True
    for allowed in allowed_hosts(config):
        if allowed == "*" or allowed == name:
            return True
        if allowed.startswith("*.") and (name == allowed[2:] or name.endswith(allowed[1:])):
            return True
    return False


class AllowedHosts:
    """WSGI middleware in front of everything (the published-documents cache included): unknown Host -> 400."""

    def __init__(self, wsgi_app, config):
        self.wsgi_app = wsgi_app
        self.config = config
        self.allowed = {}  # Host header -> allowed: the answer for a host never changes while the app runs

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        allowed = self.allowed.get(host)
        if allowed is None:
            allowed = host_allowed(host, self.config)
            if len(self.allowed) < 256:  # any Host a client sends: a bound, not a cache of everything
                self.allowed[host] = allowed
        if allowed:
            return self.wsgi_app(environ, start_response)
        message = (f"Host {host[:100]!r} is not one this emulator answers for. Allowed: the loopback names "
                   "(localhost, 127.0.0.1, [::1], *.localhost), the host of IDP_BASE_URL, the --host address, "
                   "and IDP_ALLOWED_HOSTS (comma-separated; set it to reach the emulator by another name).")
        import json

        if environ.get("PATH_INFO", "").startswith(API):
            body, kind = json.dumps({"error": {"status": 400, "message": message}}).encode(), "application/json"
        else:
            body, kind = message.encode(), "text/plain; charset=utf-8"
        start_response("400 Bad Request", [("Content-Type", kind), ("Content-Length", str(len(body))),
                                           *HEADERS.items(), ("Content-Security-Policy", FRAME_ANCESTORS)])
        return [body]


# --- same origin ----------------------------------------------------------------------------------

def cross_origin():
    """Return True when this request was sent by a page of another origin (Sec-Fetch-Site, else Origin)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # not sent by a browser page (scripts, curl), or a same-origin GET
    parts = urlsplit(origin)
    own = {request.host.lower()}
    base = current_app.config.get("IDP_BASE_URL")
    if base:
        own.add(urlsplit(base).netloc.lower())
    return origin == "null" or parts.netloc.lower() not in own


# --- the control key ------------------------------------------------------------------------------

def key_required():
    """Return True when /_emulator/ needs the control key: one is set, or the server listens beyond loopback."""
    config = current_app.config
    return bool(config.get("IDP_CONTROL_KEY")) or not is_loopback(config.get("IDP_LISTEN_HOST") or "127.0.0.1")


def _same(given, key):
    return hmac.compare_digest(given.encode(), key.encode())


def _cookie_value(key):
    # The cookie holds a keyed digest of the key, signed with the secret key: changing either invalidates it.
    digest = hmac.new(key.encode(), b"idp-emulator pages", "sha256").hexdigest()
    return URLSafeSerializer(current_app.secret_key, salt=KEY_COOKIE_SALT).dumps(digest), digest


def _cookie_ok(key):
    value = request.cookies.get(KEY_COOKIE)
    if not value:
        return False
    try:
        given = URLSafeSerializer(current_app.secret_key, salt=KEY_COOKIE_SALT).loads(value)
    except BadSignature:
        return False
    return isinstance(given, str) and _same(given, _cookie_value(key)[1])


def _presented():
    """Return the key the request presents (Bearer; Basic's password on pages), or None."""
    authorization = request.authorization
    if authorization is None:
        return None
    if authorization.type == "bearer":
        return authorization.token or None
    if authorization.type == "basic" and not request.path.startswith(API):
        return authorization.password or None
    return None


LOGIN_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Clé de contrôle requise</title></head>
<body><h1>Clé de contrôle requise</h1><p>{{ message }}</p>
<form method="get"><label>Clé (IDP_CONTROL_KEY) <input type="password" name="key" autocomplete="off"></label>
<button type="submit">Ouvrir</button></form></body></html>"""


def _refuse(status, message, challenge=None):
    if request.path.startswith(API):
        response = jsonify({"error": {"status": status, "message": message}})
    else:
        response = make_response(render_template_string(LOGIN_PAGE, message=message))
    response.status_code = status
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


def guard_emulator():
    """before_request: the same-origin rule and the control key on every /_emulator/ path."""
    if not (request.path + "/").startswith(EMULATOR):
        return None
    if request.method not in SAFE_METHODS and cross_origin():
        return _refuse(403, "Cross-origin requests to the emulator's control API and pages are refused "
                            "(Origin / Sec-Fetch-Site): only this emulator's own pages and scripts may send them.")
    if not key_required():
        return None
    key = current_app.config.get("IDP_CONTROL_KEY")
    if not key:
        return _refuse(503, "The control API and the emulator's pages are disabled: the server listens beyond "
                            "loopback and no IDP_CONTROL_KEY is configured. Set IDP_CONTROL_KEY and send "
                            "'Authorization: Bearer <key>' (pages: /_emulator/?key=<key> once, or HTTP Basic).")
    query_key = request.args.get("key")
    if query_key is not None and not request.path.startswith(API):
        if not _same(query_key, key):
            return _refuse(403, "The control key is wrong.")
        # Remember the key in a cookie and drop it from the address bar (history, Referer).
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "key"]
        response = redirect(request.path + ("?" + urlencode(rest) if rest else ""))
        response.set_cookie(KEY_COOKIE, _cookie_value(key)[0], httponly=True, samesite="Strict", path="/_emulator",
                            secure=request.is_secure)
        return response
    given = _presented()
    if given is None:
        if _cookie_ok(key):
            return None
        if request.path.startswith(API):
            return _refuse(401, "The control API needs 'Authorization: Bearer <IDP_CONTROL_KEY>' (IDP_CONTROL_KEY "
                                "is set, or the server listens beyond loopback).",
                           'Bearer realm="idp-emulator control API"')
        return _refuse(401, "Ces pages de l'émulateur demandent la clé de contrôle (IDP_CONTROL_KEY) : "
                            "ouvrez /_emulator/?key=<clé> une fois, ou donnez-la comme mot de passe.",
                       'Basic realm="idp-emulator", charset="UTF-8"')
    if not _same(given, key):
        return _refuse(403, "The control key is wrong.")
    return None


# --- headers and cookies --------------------------------------------------------------------------

def secure_over_https():
    """Return True when this request arrived over https, or the public base URL is https."""
    base = current_app.config.get("IDP_BASE_URL") or current_app.config.get("CLIENT_BASE_URL") or ""
    return request.is_secure or base.startswith("https://")


def add_headers(response, framed_by=()):
    """after_request: the security headers, and Secure on every cookie over https (IdP and Espace Client).

    `framed_by`: other origins that may frame the pages besides their own (the Espace Client names the IdP's,
    whose presenter view shows it in a frame); CSP frame-ancestors then decides, browsers ignore X-Frame-Options.
    """
    headers = response.headers
    present = {}  # lower-case name -> first value: one pass over the headers, not one per name
    for name, value in headers.items():
        present.setdefault(name.lower(), value)
    for lower, name, value in _HEADERS:
        if lower not in present:
            headers.add(name, value)
    frame_ancestors = " ".join((FRAME_ANCESTORS, *framed_by))
    policy = present.get("content-security-policy")
    if policy is None:
        headers.add("Content-Security-Policy", frame_ancestors)
    elif not policy:
        headers["Content-Security-Policy"] = frame_ancestors
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = policy.rstrip("; ") + "; " + frame_ancestors
    if secure_over_https():
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in cookie.lower() for cookie in cookies):
            response.headers.remove("Set-Cookie")
            for cookie in cookies:
                response.headers.add("Set-Cookie", cookie if "; secure" in cookie.lower() else cookie + "; Secure")
    return response


class SessionCookie(SecureCookieSessionInterface):
    """The session cookie (ESTSAUTH): Secure over https (Flask writes it after the after_request functions), and
    renewed only by a request that read it.

    Flask sends a kept cookie ("Oui" on kmsi) again with every response, to push its expiry back. A request that
    never read it (the token endpoint, userinfo, Graph: a client's calls, which a browser may also send) has no
    reason to: its cookie stays as it came, and the request does not pay for signing it again. The browser's own
    pages all read it (the browser session, the CSRF token), so they still renew it.
    """

    _serializer = None  # ((secret key, fallbacks), Flask's signing serializer)

    def get_cookie_secure(self, app):
        return super().get_cookie_secure(app) or secure_over_https()

    def should_set_cookie(self, app, session):
        return session.modified or (session.accessed and super().should_set_cookie(app, session))

    def get_signing_serializer(self, app):
        """Flask's serializer, built once per secret key (Flask builds one per request, twice the cookie's signing)."""
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._serializer
        if cached is None or cached[0] != key:
            cached = self._serializer = (key, super().get_signing_serializer(app))
        return cached[1]


def init_app(app):
    """Install the guard and the headers on the IdP (the allowed-hosts middleware wraps app.wsgi_app last)."""
    # First of all before_request functions: the key and the origin are checked before CSRF, CORS or a view.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_emulator)
    app.after_request(add_headers)
    app.session_interface = SessionCookie()
