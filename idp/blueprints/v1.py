"""The v1.0 paths client libraries still call: discovery, authorize, token, logout, device code, user realm.

They are thin: v1 requests name a `resource` where v2.0 requests name scopes, so each maps its
parameters and hands over to the v2.0 handler. The token endpoint issues v1.0 tokens, as Microsoft's
(idp.oidc.tokens_v1): the request carries the resource as it was named, the `aud` of its access token.
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
from ..oidc.tokens_v1 import V1Request
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
        "issuer": f"{base}/{tid}/",  # idp.oidc.urls.v1_issuer, for the request's base
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{base}/{segment}/oauth2/authorize",
        "device_authorization_endpoint": f"{base}/{segment}/oauth2/devicecode",
        "end_session_endpoint": f"{base}/{segment}/oauth2/logout",
    })
    return document


# What a v1.0 sign-in always gets, whatever its `scope`: an ID token with the profile, and a refresh token.
V1_SIGN_IN = ("openid", "profile", "offline_access")


def v1_scope(values, sign_in=False):
    """The v2.0 scope of a v1.0 request: `{resource}/.default` (Graph when no resource), plus its OpenID scopes.

    sign_in: a user's sign-in or refresh, which v1.0 answers with an ID token and a refresh token (V1_SIGN_IN).
    """
    resource = (values.get("resource") or "").strip().rstrip("/")
    oidc = [s for s in (values.get("scope") or "").split() if s in ("openid", "profile", "email", "offline_access")]
    if sign_in:
        oidc = [s for s in V1_SIGN_IN if s not in oidc] + oidc
    if not resource:
        return " ".join(oidc + [s for s in (values.get("scope") or "").split() if s not in oidc]) or "openid profile"
    return " ".join(oidc + [f"{resource}/.default"])


@bp.route("/<tenant>/oauth2/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize(tenant):
    params = request.values.to_dict()
    params["scope"] = v1_scope(params, sign_in=True)
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
    v1 = V1Request(resource=data.pop("resource", None))
    if v1.resource is not None or (data["grant_type"] != "authorization_code" and "scope" not in data):
        # A code is redeemed for the resource the token request names (ADAL sends it), else the sign-in's.
        data["scope"] = v1_scope({**data, "resource": v1.resource},
                                 sign_in=data["grant_type"] in ("refresh_token", "password"))
    return server.create_token_response(MappedTokenRequest(data, v1))


class MappedTokenRequest(OAuth2Request):
    """The v1.0 token request with its parameters mapped to v2.0 (authlib reads both payload and form).

    v1: what the tokens need beyond the mapping (the resource as named); its presence makes them v1.0 tokens.
    """

    def __init__(self, data, v1):
        super().__init__("POST", request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(data)
        self._mapped = MultiDict(data)
        self.v1 = v1

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
