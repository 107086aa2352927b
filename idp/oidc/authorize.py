"""The authorization endpoint's two halves: validate and park the request in a flow; resume it when the journey ends."""
from dataclasses import dataclass

from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import redirect, url_for

from .. import clock
from ..extensions import db
from ..models import Flow
from .errors import AADError
from . import grants, resources
from .server import redirect_error, server

MAX_PARAM_LENGTH = 4096
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = ("login", "none", "consent", "select_account")


@dataclass
class Rejected:
    """An authorization request that must not be redirected: show the error page."""

    error: AADError


def validate(tenant, args):
    """Check an authorization request; return the authlib grant, a redirect-able OAuth2Error, or Rejected."""
    for key in args:
        values = args.getlist(key)
        if len(values) > 1:
            return Rejected(AADError("invalid_request", 9002313, detail=f"Parameter '{key}' is repeated."))
        if len(values[0]) > MAX_PARAM_LENGTH:
            return Rejected(AADError("invalid_request", 9002313, detail=f"Parameter '{key}' is too long."))
    client_id = args.get("client_id")
    if not client_id:
        return Rejected(AADError("invalid_request", 900144, parameter="client_id"))
    client = server.query_client(client_id)
    if client is None or client.tenant_id != tenant.id:
        return Rejected(AADError("unauthorized_client", 700016, client_id=client_id, tenant=tenant.domain))
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri and client.get_default_redirect_uri() is None:
        return Rejected(AADError("invalid_request", 900144, parameter="redirect_uri"))
    if redirect_uri and not client.check_redirect_uri(redirect_uri):
        return Rejected(AADError("invalid_request", 50011, redirect_uri=redirect_uri, client_id=client_id))
    redirect_uri = redirect_uri or client.get_default_redirect_uri()
    state = args.get("state")
    mode = args.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        return AADError("invalid_request", 9002313, detail="Invalid response_mode.", redirect_uri=redirect_uri, state=state)
    if not args.get("response_type"):
        return AADError("invalid_request", 900144, parameter="response_type", redirect_uri=redirect_uri, state=state)
    prompt = args.get("prompt")
    if prompt and prompt not in PROMPTS:
        return AADError("invalid_request", 9002313, detail=f"Invalid prompt '{prompt}'.", redirect_uri=redirect_uri, state=state)
    max_age = args.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit()):  # '²' is a "digit" int() refuses
        return AADError("invalid_request", 9002313, detail="max_age must be a number of seconds.", redirect_uri=redirect_uri, state=state)
    if client.is_public and not args.get("code_challenge"):
        return AADError("invalid_request", 900144, parameter="code_challenge", redirect_uri=redirect_uri, state=state)
    if not args.get("scope"):
        return AADError("invalid_request", 900144, parameter="scope", redirect_uri=redirect_uri, state=state)
    try:
        resources.consentable(client, args["scope"])  # resources known in the tenant, with these scopes
    except AADError as error:
        error.redirect_uri, error.state = redirect_uri, state
        return error
    request = _oauth2_request(args.to_dict())
    try:
        # Validate without a user: prompt=none is decided by the caller, after the journey's checks.
        grant = server.get_authorization_grant(request)
        grant.validate_consent_request()
    except OAuth2Error as error:
        if error.redirect_uri is None:
            return Rejected(error)
        error.state = state
        return error
    return grant


def _oauth2_request(params):
    request = OAuth2Request("GET", "https://localhost/authorize")
    # prompt is the journey's business (idp.blueprints.oauth.prepare/silent), not authlib's.
    request.payload = BasicOAuth2Payload({k: v for k, v in params.items() if k != "prompt"})
    return request


def error_response(error, params):
    """Turn a redirect-able error into the response to the client (query, fragment or form_post)."""
    request = _oauth2_request(params)
    return server.handle_response(*redirect_error(error, request))


def resume(flow, account):
    """Finish a flow's authorization request: issue the code and send it back to the client."""
    if flow.get("device_code"):
        # The device page's journey: the device code is approved, the browser sees the confirmation.
        grants.approve_device(flow, account)
        return redirect(url_for("device.done", flow_id=flow.id))
    request = _oauth2_request(dict(flow.params))
    request.flow = flow
    request.session_account = account
    request.user = flow.user
    grant = server.get_authorization_grant(request)
    grant.validate_consent_request()
    flow.completed_at = clock.now()
    return server.create_authorization_response(request=request, grant_user=flow.user, grant=grant)


def start(tenant, client_id, params, browser_id):
    """Park a validated authorization request in a new flow and return it."""
    flow = Flow(browser_id=browser_id, tenant_id=tenant.id, client_id=client_id, params=params, state={})
    db.session.add(flow)
    return flow
