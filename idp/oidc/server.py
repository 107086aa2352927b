"""authlib's authorization server with Microsoft's grants, client authentication and error shape."""
import functools
import secrets
from dataclasses import replace

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import current_app
from flask import request as flask_request
from sqlalchemy import bindparam, select, update

from .. import clock
from ..extensions import db
from ..models import AuthorizationCode, Client, RefreshToken
from . import cors, resources, tokens, tokens_v1
from .tokens import digest
from .errors import AADError, json_error_response
from .urls import META_TENANTS, tenant_id
from .urls import plain, remembered


class MicrosoftServer(AuthorizationServer):
    def create_oauth2_request(self, request):
        # A stored authorization request is resumed as an OAuth2Request when the journey ends.
        if isinstance(request, OAuth2Request):
            return request
        return FlaskOAuth2Request(flask_request)

    def query_client(self, client_id):
        """Return a plain copy of the Client (idp.oidc.urls.plain), kept per process until the tenants change."""
        if not client_id:
            return None
        return remembered("clients", client_id, lambda: plain(db.session.get(Client, client_id)))

    def save_token(self, token, request):
        """Keep the refresh token (hashed) with the sign-in context it carries on."""
        refresh = token.get("refresh_token")
        if not refresh:
            return
        context = request.authorization_code or request.refresh_token or request.credential  # credential: idp.oidc.grants
        now, spa = clock.now(), bool(getattr(context, "spa", False))
        row = dict(
            token_hash=digest(refresh), client_id=request.client.client_id, user_id=request.user.id,
            scope=context.scope, sid=context.sid, auth_time=context.auth_time, amr=context.amr,
            kmsi=context.kmsi, issued_at=now, spa=spa,  # a SPA's refresh tokens are redeemed cross-origin only (idp.oidc.cors)
            # 90 days, sliding; a SPA's tokens keep the 24 hours of its sign-in (Microsoft: no sliding for SPAs).
            expires_at=now + (RefreshToken.SPA_LIFETIME if spa else RefreshToken.LIFETIME),
        )
        if isinstance(context, RefreshToken):
            row["family"] = context.family
            if spa:
                row["expires_at"] = context.expires_at
        # A Core insert of plain values (the model's defaults apply): nothing reads the row in this request.
        db.session.connection().execute(RefreshToken.__table__.insert(), row)

    def authenticate_client(self, request, methods, endpoint="token"):
        """Authenticate the client as Microsoft does: basic or post secret, a certificate assertion, or none for public clients."""
        if "client_secret" in flask_request.args:
            # A secret in the URL ends up in logs and browser history: only the body or the Authorization header.
            raise AADError("invalid_request", 9002313, detail="client_secret must be sent in the request body or "
                                                              "the Authorization header, never in the URL's query.")
        if "client_assertion" in request.payload.data or "client_assertion_type" in request.payload.data:
            from .grants import authenticate_by_assertion

            client = authenticate_by_assertion(self.query_client, request)
            _same_tenant(client)
            request.auth_method = "private_key_jwt"
            cors.check_grant_origin(client, request.payload.grant_type)
            return client
        try:
            client_id, secret = extract_basic_authorization(request.headers)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise AADError("invalid_client", 9002313, detail="The Authorization header is malformed.") from None
        method = "client_secret_basic" if client_id else None
        if not client_id:
            client_id = request.payload.data.get("client_id")
            secret = request.payload.data.get("client_secret")
            method = "client_secret_post" if secret else "none"
        if not client_id:
            raise AADError("invalid_request", 900144, parameter="client_id")
        client = self.query_client(client_id)
        if client is None:
            raise AADError("unauthorized_client", 700016, client_id=client_id, tenant=_tenant_segment())
        _same_tenant(client)
        if client.is_public:
            if secret:
                raise AADError("invalid_request", 700025)
        elif not secret:
            raise AADError("invalid_client", 7000218)
        elif not client.check_secret(secret):
            raise AADError("invalid_client", 7000215, client_id=client_id)
        request.auth_method = method
        cors.check_grant_origin(client, request.payload.grant_type)
        return client

    def handle_error_response(self, request, error):
        if error.redirect_uri:
            return self.handle_response(*redirect_error(error, request))
        return json_error_response(error)

    def generate_user_token(self, grant, user, token_scope, context, include_refresh_token):
        """Return the token response of a user sign-in, for token_scope's resource (a resources.TokenScope)."""
        client = grant.request.client
        v1 = getattr(grant.request, "v1", None)  # a request to the v1.0 token endpoint (idp.blueprints.v1)
        if v1 is not None:
            token = tokens_v1.user_token_response(user, client, token_scope, context, v1,
                                                  getattr(grant.request, "auth_method", None))
        else:
            access = tokens.access_token(user, client, token_scope, context)
            token = {
                "token_type": "Bearer",
                "scope": token_scope.response_text,
                "expires_in": tokens.TOKEN_LIFETIME,
                "ext_expires_in": tokens.TOKEN_LIFETIME,
                "access_token": access,
            }
            if "openid" in token_scope.oidc:
                token["id_token"] = tokens.id_token(user, client, context, token_scope.text, access_token=access)
        if include_refresh_token:
            token["refresh_token"] = "1.A" + secrets.token_urlsafe(48)
        if grant.request.payload.data.get("client_info") == "1":
            token["client_info"] = tokens.client_info(user)
        return token


def _tenant_segment():
    return (flask_request.view_args or {}).get("tenant", "")


def _same_tenant(client):
    """Refuse a client registered in another tenant than the one the URL names (Microsoft's 700016).

    The meta tenants (common, organizations) take any tenant's client, as Microsoft resolves them to its home.
    """
    segment = _tenant_segment()
    if not segment or segment.strip().lower() in META_TENANTS:
        return
    if tenant_id(segment) != client.tenant_id:
        raise AADError("unauthorized_client", 700016, client_id=client.client_id, tenant=segment)


def redirect_error(error, request):
    """Send an authorization error back to the client (query, fragment or form_post)."""
    from .errors import code_for, error_uri, message_for

    params = [("error", error.error), ("error_description", message_for(error))]
    params.append(("error_uri", error_uri(code_for(error))))
    state = error.state or (request.payload.state if request is not None and request.payload else None)
    if state:
        params.append(("state", state))
    mode = request.payload.data.get("response_mode", "query") if request is not None and request.payload else "query"
    return respond(error.redirect_uri, params, mode)


def respond(redirect_uri, params, response_mode):
    """Deliver authorization response parameters per response_mode (query, fragment, form_post)."""
    from authlib.common.urls import add_params_to_uri
    from flask import render_template

    if response_mode == "form_post":
        body = render_template("form_post.html", action=redirect_uri, params=params)
        return 200, body, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
    uri = add_params_to_uri(redirect_uri, params, fragment=response_mode == "fragment")
    return 302, "", [("Location", uri)]


# Built once: a statement made per request costs its construction and its cache key, more than the query itself.
CODE_BY_HASH = select(AuthorizationCode).where(AuthorizationCode.code_hash == bindparam("code_hash"))
_codes = AuthorizationCode.__table__
REDEEM_CODE = _codes.update().where(_codes.c.id == bindparam("code_id"), _codes.c.redeemed_at.is_(None)).values(
    redeemed_at=bindparam("redeemed_at"))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def create_authorization_response(self, redirect_uri, grant_user):
        status, body, headers = super().create_authorization_response(redirect_uri, grant_user)
        mode = self.request.payload.data.get("response_mode", "query")
        if mode == "query":
            return status, body, headers
        from urllib.parse import parse_qsl, urlsplit

        params = parse_qsl(urlsplit(dict(headers)["Location"]).query)
        own = {k for k, _ in params} - set(dict(parse_qsl(urlsplit(redirect_uri).query)))
        return respond(redirect_uri, [(k, v) for k, v in params if k in own], mode)

    def save_authorization_code(self, code, request):
        flow = request.flow
        account = request.session_account
        data = request.payload.data
        granted = resources.joined(granted_at_sign_in(request.client, request.user.id, token_scope)
                                   for token_scope in resources.consentable(request.client, request.scope))
        now = clock.now()
        # A Core insert of plain values, committed with the end of the flow (one commit per request): nothing
        # reads the row in this request.
        db.session.connection().execute(_codes.insert(), dict(
            code_hash=digest(code), client_id=request.client.client_id, user_id=request.user.id,
            flow_id=flow.id if flow else None, redirect_uri=data.get("redirect_uri") or "",
            scope=granted, nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"),
            sid=account.sid, auth_time=account.auth_time, amr=list(account.amr or ["pwd"]),
            kmsi=bool(account.kmsi), created_at=now, expires_at=now + AuthorizationCode.LIFETIME,
            spa=request.client.is_spa_redirect(data.get("redirect_uri") or ""),
        ))
        resources.remember_consent(request.client, request.user.id, granted)

    def query_authorization_code(self, code, client):
        row = db.session.scalar(CODE_BY_HASH, {"code_hash": digest(code)})
        if row is None or row.client_id != client.client_id:
            raise AADError("invalid_grant", 70000)
        if row.redeemed_at is not None:
            # Microsoft revokes nothing on a replay (the tokens of that sign-in stay valid): it only refuses.
            raise AADError("invalid_grant", 54005)
        if row.expires_at <= clock.now():
            raise AADError("invalid_grant", 70008)
        cors.check_redemption(bool(row.spa))
        return row

    def delete_authorization_code(self, authorization_code):
        # Conditional, so that of two requests racing with one code only one gets tokens.
        redeemed = db.session.connection().execute(REDEEM_CODE, {"code_id": authorization_code.id,
                                                                 "redeemed_at": clock.now()})
        if redeemed.rowcount != 1:
            db.session.rollback()
            raise AADError("invalid_grant", 54005)

    def authenticate_user(self, authorization_code):
        return authorization_code.user

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        """Tokens for the resource the request's `scope` names (MSAL sends it), else the sign-in's first resource."""
        code = self.request.authorization_code
        token_scope = requested_scope(self.request.client, code.user_id, self.request.payload.scope, code.scope)
        # Whether there is an ID token and a refresh token is the sign-in's business, not the redemption's.
        token_scope = replace(token_scope, oidc=tuple(resources.split(code.scope)[0]))
        return self.server.generate_user_token(self, user, token_scope, code, "offline_access" in token_scope.oidc)


def requested_scope(client, user_id, scope, grant_scope):
    """The TokenScope a code or refresh token may be redeemed for: consented scopes of one resource (any
    resource), or `{resource}/.default`; AADSTS65001 otherwise. With no resource scope: the grant's first resource.
    """
    if not any(item not in resources.OIDC_SCOPES for item in (scope or "").split()):
        first = resources.consentable(client, grant_scope)[0]
        return replace(first, oidc=tuple(resources.split(scope)[0]) if scope else first.oidc)
    wanted = resources.delegated(client, scope)
    consented = resources.consented(client, user_id, also=[grant_scope]).get(wanted.resource.audience, set())
    names = [n for n in wanted.names if n != resources.DEFAULT]
    if resources.DEFAULT in wanted.names:
        names += sorted(consented - set(names))
    if not names or not set(names) <= consented:
        raise AADError("invalid_grant", 65001, suberror="consent_required", client_id=client.client_id,
                       client_name=client.name)
    return wanted.with_names(names)


def granted_at_sign_in(client, user_id, token_scope):
    """What a sign-in grants for one resource: `{resource}/.default` becomes the consented scopes (an API's: all it exposes)."""
    if resources.DEFAULT not in token_scope.names:
        return token_scope
    resource = token_scope.resource
    consented = resources.consented(client, user_id).get(resource.audience, set())
    static = ["User.Read"] if resource.is_graph else list(resource.scopes)
    names = [n for n in token_scope.names if n != resources.DEFAULT]
    names += [n for n in static + sorted(consented) if n not in names]
    return token_scope.with_names(names)


def refresh_token_mode():
    """microsoft (a used refresh token stays valid) or rotate (strict: one use, reuse revokes the sign-in's tokens)."""
    return current_app.config["IDP_REFRESH_TOKENS"]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token)))
        if row is None:
            raise AADError("invalid_grant", 9002313, detail="The refresh token is malformed or unknown.")
        if row.is_revoked():
            if refresh_token_mode() == "rotate":
                revoke_family(row)  # a rotated token replayed: someone holds a copy
            raise AADError("invalid_grant", 700082)
        if row.is_expired():
            raise AADError("invalid_grant", 700082)
        cors.check_redemption(bool(row.spa))
        return row

    def _validate_token_scope(self, token):
        """Accept any scope the user consented to, for any resource, or {resource}/.default; else AADSTS65001."""
        self.request.token_scope = requested_scope(self.request.client, token.user_id, self.request.payload.scope,
                                                   token.scope)

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def revoke_old_credential(self, refresh_token):
        """Microsoft's mode: the used token stays valid until it expires. Rotate mode: exactly one use wins."""
        if refresh_token_mode() == "rotate":
            # Conditional, so that of two requests racing with one token only one gets tokens.
            table = RefreshToken.__table__
            used = db.session.execute(table.update().where(
                table.c.id == refresh_token.id, table.c.revoked_at.is_(None)).values(revoked_at=clock.now()))
            if used.rowcount != 1:
                db.session.rollback()
                revoke_family(refresh_token)
                raise AADError("invalid_grant", 700082)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        return self.server.generate_user_token(self, user, self.request.token_scope, self.request.refresh_token, True)


def revoke_family(row):
    """Revoke every refresh token of the sign-in a token came from (strict mode's reuse detection)."""
    db.session.execute(update(RefreshToken).where(
        RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None)).values(revoked_at=clock.now()))


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self):
        scope = (self.request.payload.scope or "").split()
        if len(scope) != 1 or not scope[0].endswith("/.default"):
            raise AADError("invalid_scope", 70011,
                           detail="The scope requested for client credentials must be one resource followed by /.default.")

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=False):
        resource = resources.require(self.request.client, scope.split()[0][: -len("/.default")])
        v1 = getattr(self.request, "v1", None)
        if v1 is not None:
            return tokens_v1.app_token_response(self.request.client, resource, v1,
                                                getattr(self.request, "auth_method", None))
        return {
            "token_type": "Bearer",
            "expires_in": tokens.TOKEN_LIFETIME,
            "ext_expires_in": tokens.TOKEN_LIFETIME,
            "access_token": tokens.app_token(self.request.client, resource),
        }


class S256Challenge(CodeChallenge):
    """PKCE with S256 only, as discovery says. A code_challenge sent without code_challenge_method is taken as
    S256, never as `plain` (authlib's default, RFC 7636's): a verifier equal to the challenge proves nothing
    once the challenge has travelled in a URL. MSAL and every library that does PKCE send S256 explicitly."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"


class CodeExtensions:
    """The code grant's extensions, PKCE and OpenID Connect's, made when the first authorization request or code
    comes (authlib runs over them for each): authlib's OpenID Connect module imports joserfc and cryptography,
    which a server's start, and its discovery, do without (cold start)."""

    def __iter__(self):
        return iter(_code_extensions())


@functools.cache
def _code_extensions():
    from authlib.oidc.core.grants import OpenIDCode

    class MicrosoftOpenIDCode(OpenIDCode):
        def exists_nonce(self, nonce, request):
            return False  # Microsoft accepts a nonce again in a new request; the ID token echoes it.

        def process_token(self, grant, response):
            return response[1]  # the ID token is issued by generate_user_token

    return (S256Challenge(required=True), MicrosoftOpenIDCode(require_nonce=False))


server = MicrosoftServer()


def init_app(app):
    server.init_app(app)
    server.register_grant(AuthorizationCodeGrant, CodeExtensions())
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    from . import grants

    grants.register(server)
