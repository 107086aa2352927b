"""Which answers a script of another origin may read (CORS), decided here for every path.

- What any relying party may fetch from a browser (discovery, JWKS, instance discovery, user
  realm, userinfo and the Graph endpoints): any origin, without credentials (tokens travel in the
  Authorization header, never in cookies).
- The token endpoint (v2.0 and v1): only the origins of a single-page app's redirect URIs, as
  Microsoft's "Single-page application" platform. A code issued to a SPA redirect URI must be
  redeemed from the browser, any other code from a server (`check_redemption`); the other grants from a
  browser only for a SPA's origin (`check_grant_origin`).
- Everything else (the sign-in screens, the control API): no CORS.

An after_request hook adds the headers, so the published-documents layer (idp.oidc.published)
replays them with the bytes it keeps; preflights (OPTIONS) are Flask's automatic answers.
"""
import re
from urllib.parse import urlsplit

from flask import request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..models import Client
from . import redirects
from .errors import AADError

PUBLIC = re.compile(r"^/(?:[^/]+/(?:v2\.0/)?\.well-known/openid-configuration|[^/]+/discovery/(?:v2\.0/)?keys"
                    r"|common/discovery/instance|common/(?i:userrealm)/.+|oidc/userinfo|v1\.0/.*)$")
TOKEN = re.compile(r"^/[^/]+/oauth2/(?:v2\.0/)?token$")
PREFLIGHT_MAX_AGE = "86400"


def init_app(app):
    app.after_request(add_headers)


def add_headers(response):
    path = request.path
    origin = request.headers.get("Origin")
    if PUBLIC.match(path):
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif TOKEN.match(path):
        # Depends on the Origin: caches must keep one answer per origin.
        response.vary.add("Origin")
        if not origin or not _token_origin_allowed(origin):
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
    else:
        return response
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        # Echo what the script asks to send (Authorization, client-request-id, x-client-*...).
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            response.headers["Access-Control-Allow-Headers"] = asked
            response.vary.add("Access-Control-Request-Headers")
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def _token_origin_allowed(origin):
    """A token request's origin is allowed when the requesting client has a SPA redirect URI there.

    A preflight carries no body, so no client id: any registered SPA origin passes it, and the
    request that follows is answered for its own client only.
    """
    if request.method == "OPTIONS":
        clients = db.session.scalars(select(Client)).all()
    else:
        from .server import server  # here: idp.oidc.server imports this module

        try:
            client_id = request.form.get("client_id")
        except HTTPException:  # a body refused (too large): its error answer is not for a script to read
            return False
        client = server.query_client(client_id)
        clients = [client] if client is not None else []
    return any(spa_origin(client, origin) for client in clients)


def spa_origin(client, origin):
    """Whether `origin` is the origin of one of the client's SPA redirect URIs (loopback: any port)."""
    return redirects.registered([_origin(uri) for uri in client.spa_redirect_uris or []], origin)


def _origin(uri):
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


# Grants whose code or refresh token says where it may be redeemed (check_redemption, at redemption).
REDEEMED = ("authorization_code", "refresh_token")


def check_grant_origin(client, grant_type):
    """Refuse any other grant sent by a script of another origin, unless that origin is the client's SPA origin.

    A browser page sends `Origin` with a cross-origin POST: client credentials, a password (ROPC), a device code
    or an on-behalf-of assertion from a page that is not the client's registered single-page app is Microsoft's
    AADSTS9002326, as for a server's code.
    """
    origin = request.headers.get("Origin")
    if origin and grant_type not in REDEEMED and not spa_origin(client, origin):
        raise AADError("invalid_request", 9002326, origin=origin)


def check_redemption(spa):
    """Refuse a code or refresh token redeemed from the wrong place: a browser for a server's, or the reverse."""
    origin = request.headers.get("Origin")
    if origin and not spa:
        raise AADError("invalid_request", 9002326, origin=origin)
    if spa and not origin:
        raise AADError("invalid_request", 9002327)
