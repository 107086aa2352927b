"""The protocol's URLs in Microsoft's v2.0 layout; thin routes over idp.oidc."""
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session
from sqlalchemy import bindparam, select

from .. import clock
from ..extensions import csrf, db
from ..journey.recorder import record
from ..models import Client, User, family_name, given_name
from ..oidc import authorize as authz
from ..oidc import redirects, tokens
from ..oidc.bearer import graph_error, require_graph_token
from ..oidc.errors import MESSAGES, AADError, json_error_response
from ..oidc.server import server
from ..oidc.grants import SUPPORTED_GRANT_TYPES
from ..oidc.urls import META_TENANTS, PERSONAL_TENANT_ID, base_url, cached_tenant, issuer, tenant_id
from ..journey.browser import current_browser
from ..journey.flow import go_next, silent

bp = Blueprint("oauth", __name__)

CLAIMS_SUPPORTED = ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                    "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name",
                    "tid", "ver", "at_hash", "c_hash", "email"]


def tenant_or_404(segment):
    tenant = cached_tenant(segment)
    if tenant is None:
        raise TenantNotFound(segment)
    return tenant


def tenant_id_or_404(segment):
    tid = tenant_id(segment)
    if tid is None:
        raise TenantNotFound(segment)
    return tid


class TenantNotFound(Exception):
    def __init__(self, segment):
        self.segment = segment


@bp.errorhandler(TenantNotFound)
def tenant_not_found(exc):
    error = AADError("invalid_tenant", 90002, tenant=exc.segment)
    if request.endpoint in ("oauth.authorize", "oauth.logout", "v1.authorize", "v1.logout"):
        return error_page(error)
    return json_error_response(error)


def error_page(error, status=400):
    """The "Désolé, nous ne pouvons pas vous connecter" page: never a redirect to an unverified URI."""
    from ..oidc.errors import message_for

    context = {
        "message": message_for(error),
        "request_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
    }
    return render_template("login/error.html", **context), status


@bp.route("/<tenant>/v2.0/.well-known/openid-configuration")
def discovery(tenant):
    if tenant.lower() in META_TENANTS:
        tid = PERSONAL_TENANT_ID if tenant.lower() == "consumers" else "{tenantid}"
        segment = tenant.lower()
    else:
        tid = tenant_id_or_404(tenant)
        segment = tenant
    # Built on each call: the published-documents layer (idp.oidc.published) keeps the bytes served.
    return _cached_json(discovery_document(segment, base_url(), tid))


def discovery_document(segment, base, tid):
    """The v2.0 discovery document of one tenant segment, as Microsoft publishes it."""
    host = urlsplit(base).netloc
    return {
        "token_endpoint": f"{base}/{segment}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{segment}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        # Only the code flow is served (Microsoft also lists the implicit and hybrid types): README, "Discovery".
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{segment}/oauth2/v2.0/logout",
        "claims_supported": CLAIMS_SUPPORTED,
        "kerberos_endpoint": f"{base}/{segment}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": host,
        "cloud_graph_host_name": host,
        "msgraph_host": host,
        "rbac_url": base,
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": list(SUPPORTED_GRANT_TYPES),
    }


def _cached_json(document):
    response = current_app.response_class(json.dumps(document), mimetype="application/json")
    response.headers["Cache-Control"] = "max-age=86400, private"
    return response


@bp.route("/<tenant>/discovery/v2.0/keys")
@bp.route("/<tenant>/discovery/keys")
def jwks(tenant):
    if tenant.lower() in META_TENANTS:
        iss = f"{base_url()}/{{tenantid}}/v2.0"
    else:
        iss = issuer(tenant_id_or_404(tenant))
    return _cached_json(current_app.extensions["idp_keys"].jwks(iss))


@bp.route("/common/discovery/instance")
def instance_discovery():
    base = base_url()
    host = urlsplit(base).netloc
    authority = request.args.get("authorization_endpoint", f"{base}/common/oauth2/v2.0/authorize")
    tenant = urlsplit(authority).path.strip("/").split("/")[0] or "common"
    return _cached_json({
        "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    })


@bp.route("/<tenant>/oauth2/v2.0/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize(tenant):
    tenant = tenant_or_404(tenant)
    args = request.values
    result = authz.validate(tenant, args)
    if isinstance(result, authz.Rejected):
        return error_page(result.error)
    if isinstance(result, OAuth2Error):
        return authz.error_response(result, args.to_dict())
    params = args.to_dict()
    browser = current_browser(create=True)
    flow = authz.start(tenant, params["client_id"], params, browser.id)
    prepare(flow, browser, params)
    record(flow.id, "request", "authorize", {k: v for k, v in params.items() if k in
                                             ("client_id", "redirect_uri", "scope", "prompt", "login_hint", "response_mode")})
    if params.get("prompt") == "none":
        return silent(flow)
    return go_next(flow)


def prepare(flow, browser, params):
    """Apply prompt, login_hint and max_age to a new flow, from what this browser already knows."""
    with db.session.no_autoflush:  # the new flow is written once, complete
        _prepare(flow, browser, params)


def _prepare(flow, browser, params):
    prompt = params.get("prompt")
    accounts = [a for a in browser.accounts if a.user.tenant_id == flow.tenant_id]
    signed_in = [a for a in accounts if a.signed_in]
    hint = (params.get("login_hint") or "").strip().lower()
    if prompt == "login":
        flow.set(force_login=True)
    if prompt == "consent":
        flow.set(force_consent=True)
    chosen = None
    if hint:
        user = User.by_email(hint)
        if user is not None and user.tenant_id == flow.tenant_id:
            chosen = user
        else:
            flow.email = hint
    elif prompt == "select_account":
        flow.set(picker=bool(accounts))
    elif len(signed_in) == 1:
        chosen = signed_in[0].user
    elif accounts:
        flow.set(picker=True)
    if chosen is not None:
        flow.user_id, flow.email = chosen.id, chosen.email
        flow.user = chosen
    max_age = params.get("max_age")
    if max_age is not None and chosen is not None:
        account = next((a for a in signed_in if a.user_id == chosen.id), None)
        if account is not None and clock.epoch(account.auth_time) + int(max_age) < clock.timestamp():
            flow.set(force_login=True)


@bp.route("/<tenant>/oauth2/v2.0/token", methods=["POST"])
@csrf.exempt
def token(tenant):
    tenant_id_or_404(tenant)
    grant_type = request.form.get("grant_type")
    if not grant_type:
        return json_error_response(AADError("invalid_request", 900144, parameter="grant_type"))
    for key in request.form:
        if len(request.form.getlist(key)) > 1:
            return json_error_response(AADError("invalid_request", 9002313, detail=f"Parameter '{key}' is repeated."))
    return server.create_token_response()


@bp.route("/<tenant>/oauth2/v2.0/token", methods=["GET", "PUT", "DELETE", "PATCH"])
def token_wrong_method(tenant):
    return json_error_response(AADError("invalid_request", 900561, method="POST", received=request.method))


@bp.route("/<tenant>/oauth2/v2.0/logout", methods=["GET", "POST"])
@csrf.exempt
def logout(tenant):
    tenant = tenant_or_404(tenant)
    browser = current_browser()
    target = request.values.get("post_logout_redirect_uri")
    hint = request.values.get("id_token_hint")
    if browser is not None:
        for account in browser.accounts:
            account.signed_in = False
            account.kmsi = False
    session.permanent = False
    allowed = set()
    claims = tokens.decode(hint) if hint else None
    clients = [db.session.get(Client, claims["aud"])] if claims and isinstance(claims.get("aud"), str) else db.session.scalars(
        select(Client).where(Client.tenant_id == tenant.id)).all()
    for client in filter(None, clients):
        # Exactly a registered URI (post-logout, redirect or SPA redirect; any port of a loopback one), or the
        # root of a SPA's origin (MSAL.js goes back to the page it runs on): never another path of the origin.
        allowed.update(client.post_logout_redirect_uris or [], client.redirect_uris or [], client.spa_redirect_uris or [])
        allowed.update(_origins(client.spa_redirect_uris or []))
    if target and redirects.registered(allowed, target):
        state = request.values.get("state")
        from authlib.common.urls import add_params_to_uri

        return redirect(add_params_to_uri(target, [("state", state)]) if state else target)
    return render_template("login/signed_out.html")


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _origins(uris):
    return {_origin(u) + "/" for u in uris}


def token_user(token):
    """The user a delegated Graph token was issued for, or None (an app-only token has none)."""
    if token.is_app:
        return None
    return db.session.scalar(select(User).where(User.oid == token.get("oid")))


_users = User.__table__
PROFILE_BY_OID = select(_users.c.name, _users.c.email).where(_users.c.oid == bindparam("oid"))


@bp.route("/oidc/userinfo", methods=["GET", "POST"])
@csrf.exempt
@require_graph_token
def userinfo(token):
    # Two columns of one row, as plain values (a Core statement built once: no ORM row, no tenant joined).
    user = None if token.is_app else db.session.connection().execute(PROFILE_BY_OID, {"oid": token.get("oid")}).first()
    if user is None:
        return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. The token has no user.")
    return jsonify({
        "sub": token["sub"], "name": user.name, "family_name": family_name(user.name),
        "given_name": given_name(user.name), "picture": f"{base_url()}/v1.0/me/photo/$value", "email": user.email,
    })


@bp.route("/v1.0/me")
@require_graph_token
def graph_me(token):
    if token.is_app:
        return graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    user = token_user(token)
    if user is None:
        return graph_error(404, "Request_ResourceNotFound", f"Resource '{token.get('oid')}' does not exist or one of "
                                                            "its queried reference-property objects are not present.")
    return jsonify({
        "@odata.context": f"{base_url()}/v1.0/$metadata#users/$entity",
        "businessPhones": [], "displayName": user.name, "givenName": user.given_name,
        "jobTitle": None, "mail": user.email, "mobilePhone": user.phone, "officeLocation": None,
        "preferredLanguage": "fr-FR", "surname": user.family_name, "userPrincipalName": user.email, "id": user.oid,
    })


@bp.route("/v1.0/me/photo/$value")
@require_graph_token
def graph_me_photo(token):
    """The photo userinfo's `picture` points at: the emulator's users have none, as Graph answers for them."""
    if token.is_app:
        return graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    return graph_error(404, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")


@bp.route("/error")
def error_code():
    code = request.args.get("code", "")
    if not (code.isascii() and code.isdigit()) or int(code) not in MESSAGES:  # '²' is a "digit" int() refuses
        abort(404)
    text = MESSAGES[int(code)].replace("{", "").replace("}", "")
    return render_template("login/error_code.html", code=code, text=text)
