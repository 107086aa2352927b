"""The bearer check of the resource endpoints (userinfo, Microsoft Graph /v1.0): authlib's ResourceProtector.

They accept only an access token whose audience is Microsoft Graph, as Graph does: an ID token, a token
for another API, a forged or expired one is refused with 401 in Graph's JSON shape.
"""
import functools
import uuid
from datetime import UTC, datetime

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from flask import jsonify, request

from . import tokens
from .resources import GRAPH_APP_ID, GRAPH_HOST
from .urls import base_url

GRAPH_AUDIENCES = (GRAPH_APP_ID, GRAPH_HOST, GRAPH_HOST + "/")


class GraphToken(dict):
    """The verified claims of an access token for Microsoft Graph (authlib's TokenMixin)."""

    @property
    def is_app(self):
        return self.get("idtyp") == "app"

    def get_scope(self):
        return " ".join(self.get("roles") or []) if self.is_app else self.get("scp", "")

    def is_expired(self):
        return False  # tokens.decode refused it already

    def is_revoked(self):
        return False  # access tokens are self-contained, as Microsoft's: they live their hour


class GraphTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        claims = tokens.decode(token_string)
        if claims is None:
            raise InvalidTokenError("Access token validation failure.")
        if claims.get("aud") not in GRAPH_AUDIENCES:
            raise InvalidTokenError("Access token validation failure. Invalid audience.")
        return GraphToken(claims)


protector = ResourceProtector()
protector.register_token_validator(GraphTokenValidator())


def graph_token():
    """Return (the request's Graph access token, None), or (None, the 401/403 response to send)."""
    try:
        return protector.acquire_token(), None
    except InsufficientScopeError:
        return None, graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    except InvalidTokenError as error:
        return None, graph_error(401, "InvalidAuthenticationToken", error.description)
    except OAuth2Error:  # no Authorization header, or not a Bearer one
        return None, graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")


def require_graph_token(view):
    """Call view(token, ...) with the request's Graph access token, or answer 401 as Graph does."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        token, error = graph_token()
        if error is not None:
            return error
        return view(token, *args, **kwargs)

    return wrapped


def graph_error(status, code, message):
    """Return an error in Microsoft Graph's JSON shape (with Graph's WWW-Authenticate on a 401)."""
    response = jsonify({"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4()),
        "client-request-id": request.headers.get("client-request-id") or str(uuid.uuid4())}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="", authorization_uri="{base_url()}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}", error="invalid_token"')
    return response
