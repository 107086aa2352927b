"""The v1.0 paths client libraries still call: discovery, authorize, token, logout, device code, user realm.

They are thin: v1 requests name a `resource` where v2.0 requests name scopes, so each maps its
parameters and hands over to the v2.0 handler. The tokens are the emulator's v2.0 tokens (README).
"""
from urllib.parse import urlencode, urlsplit

from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import Blueprint, jsonify, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from ..extensions import csrf
from ..models import User
from ..oidc.errors import AADError, json_error_response
from ..oidc.server import server
from ..oidc.urls import META_TENANTS, PERSONAL_TENANT_ID, base_url, cached_tenant
from . import oauth

bp = Blueprint("v1", __name__)


@bp.errorhandler(oauth.TenantNotFound)
def tenant_not_found(exc):
    return oauth.tenant_not_found(exc)


@bp.route("/<tenant>/.well-known/openid-configuration")
def discovery(tenant):
    if tenant.lower() in META_TENANTS:
        tid = PERSONAL_TENANT_ID if tenant.lower() == "consumers" else "{tenantid}"
        segment = tenant.lower()
    else:
        tid = oauth.tenant_id_or_404(tenant)
        segment = tenant
    return oauth._cached_json(discovery_document(segment, base_url(), tid))


def discovery_document(segment, base, tid):
    """The v1.0 document: Microsoft's issuer is https://sts.windows.net/{tid}/; here the emulator's base stands for it."""
    v2 = oauth.discovery_document(segment, base, tid)
    document = {key: v2[key] for key in (
        "token_endpoint_auth_methods_supported", "response_modes_supported", "subject_types_supported",
        "id_token_signing_alg_values_supported", "response_types_supported", "http_logout_supported",
        "frontchannel_logout_supported", "claims_supported", "tenant_region_scope", "cloud_instance_name",
        "cloud_graph_host_name", "msgraph_host", "rbac_url", "userinfo_endpoint", "grant_types_supported",
        "code_challenge_methods_supported") if key in v2}
    document.update({
        "token_endpoint": f"{base}/{segment}/oauth2/token",
        "jwks_uri": f"{base}/{segment}/discovery/keys",
        "scopes_supported": ["openid"],
        "issuer": f"{base}/{tid}/",
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{base}/{segment}/oauth2/authorize",
        "device_authorization_endpoint": f"{base}/{segment}/oauth2/devicecode",
        "end_session_endpoint": f"{base}/{segment}/oauth2/logout",
    })
    return document


def v1_scope(values):
    """The v2.0 scope of a v1.0 request: `{resource}/.default` (Graph when no resource), plus its OpenID scopes."""
    resource = (values.get("resource") or "").strip().rstrip("/")
    oidc = [s for s in (values.get("scope") or "").split() if s in ("openid", "profile", "email", "offline_access")]
    if not resource:
        return " ".join(oidc + [s for s in (values.get("scope") or "").split() if s not in oidc]) or "openid profile"
    return " ".join(oidc + [f"{resource}/.default"])


@bp.route("/<tenant>/oauth2/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize(tenant):
    params = request.values.to_dict()
    params["scope"] = v1_scope(params)
    if "openid" not in params["scope"].split():
        params["scope"] = "openid " + params["scope"]
    params.pop("resource", None)
    return redirect(url_for("oauth.authorize", tenant=tenant) + "?" + urlencode(params))


@bp.route("/<tenant>/oauth2/token", methods=["POST"])
@csrf.exempt
def token(tenant):
    oauth.tenant_id_or_404(tenant)
    for key in request.form:
        if len(request.form.getlist(key)) > 1:
            return json_error_response(AADError("invalid_request", 9002313, detail=f"Parameter '{key}' is repeated."))
    data = request.form.to_dict()
    if not data.get("grant_type"):
        return json_error_response(AADError("invalid_request", 900144, parameter="grant_type"))
    if data["grant_type"] != "authorization_code" and ("resource" in data or "scope" not in data):
        data["scope"] = v1_scope(data)
    data.pop("resource", None)
    return server.create_token_response(MappedTokenRequest(data))


class MappedTokenRequest(OAuth2Request):
    """The v1.0 token request with its parameters mapped to v2.0 (authlib reads both payload and form)."""

    def __init__(self, data):
        super().__init__("POST", request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(data)
        self._mapped = MultiDict(data)

    @property
    def form(self):
        return self._mapped

    @property
    def args(self):
        return MultiDict()


@bp.route("/<tenant>/oauth2/logout", methods=["GET", "POST"])
@csrf.exempt
def logout(tenant):
    return oauth.logout(tenant)


@bp.route("/common/userrealm/<path:username>")
@bp.route("/common/UserRealm/<path:username>")
def user_realm(username):
    """Home realm discovery as MSAL calls it before ROPC: every account here is Managed (no federation)."""
    host = urlsplit(base_url()).netloc
    user = User.by_email(username)
    domain = username.rpartition("@")[2].lower()
    tenant = cached_tenant(domain)
    if user is None and tenant is None:
        return jsonify({"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": host})
    return jsonify({
        "ver": "1.0",
        "account_type": "Managed",
        "domain_name": domain,
        "cloud_instance_name": host,
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    })
