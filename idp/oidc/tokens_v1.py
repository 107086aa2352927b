"""The v1.0 tokens and token response of the v1.0 token endpoint (/{tenant}/oauth2/token), as Microsoft issues them.

Microsoft's ID and access token claims references: a v1.0 token has `ver` "1.0", the v1 issuer
(https://sts.windows.net/{tid}/, here on the emulator's base), `upn` and `unique_name` where v2.0 has
`preferred_username`, `appid`/`appidacr` where v2.0 has `azp`/`azpacr`, `amr` in ID tokens too, and an
access token's `aud` is the resource as the request named it (a URI or a client id). The header carries
the legacy `x5t` beside `kid`. The response adds `resource`, `expires_on` and `not_before`, in strings.
"""
import secrets
from dataclasses import dataclass

from .. import clock
from .tokens import TOKEN_LIFETIME, app_claims, b64url, keystore, pairwise_sub
from .urls import v1_issuer


@dataclass(frozen=True)
class V1Request:
    """What a request to the v1.0 token endpoint asks for beyond its v2.0 mapping: the resource as it named it."""

    resource: str | None


def _sign(claims):
    from joserfc import jwt  # where a token is signed, as in idp.oidc.tokens (cold start)

    key = keystore().signing_key
    header = {"typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid}  # the kid is the x5t thumbprint
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def appidacr(auth_method):
    """How the client authenticated: 0 public client, 1 secret, 2 certificate (private_key_jwt)."""
    return {"none": "0", "private_key_jwt": "2"}.get(auth_method, "1")


def _user_claims(user, client, context, now):
    claims = {
        "iss": v1_issuer(user.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "amr": list(context.amr or ["pwd"]),
        "family_name": user.family_name,
        "given_name": user.given_name,
        "name": user.name,
        "oid": user.oid,
        "sub": pairwise_sub(user, client.client_id),
        "tid": user.tenant_id,
        "unique_name": user.email,
        "upn": user.email,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
    }
    if user.idp:
        claims["idp"] = user.idp
    return {key: value for key, value in claims.items() if value not in ("", None)}  # present only with a value


def id_token(user, client, context, now):
    """Return a signed v1.0 ID token: aud the client, upn/unique_name (no preferred_username), the nonce sent."""
    claims = _user_claims(user, client, context, now)
    claims.update({"aud": client.client_id, "aio": b64url(secrets.token_bytes(24)),
                   "rh": "0." + b64url(secrets.token_bytes(30))})
    if context is not None and context.sid:
        claims["sid"] = context.sid
    nonce = context.get_nonce()
    if nonce:
        claims["nonce"] = nonce
    return _sign(claims)


def access_token(user, client, token_scope, context, audience, auth_method, now):
    """Return a signed v1.0 delegated access token for `audience` (the resource as the request named it)."""
    claims = _user_claims(user, client, context, now)
    claims.update({
        "aud": audience,
        "acr": "1",
        "aio": b64url(secrets.token_bytes(24)),
        "appid": client.client_id,
        "appidacr": appidacr(auth_method),
        "scp": token_scope.scp,
    })
    return _sign(claims)


def audience_of(v1, resource):
    """The `aud` of a v1.0 access token: the resource parameter as sent, else the identifier the grant named it by."""
    return (v1.resource or "").strip() or resource.identifier


def user_token_response(user, client, token_scope, context, v1, auth_method):
    """The v1.0 token response of a user sign-in (without its refresh token), for token_scope's resource."""
    now = clock.timestamp()
    audience = audience_of(v1, token_scope.resource)
    token = {
        "token_type": "Bearer",
        "scope": token_scope.scp,  # v1.0: the resource's scope names, as in `scp`
        "expires_in": str(TOKEN_LIFETIME),
        "ext_expires_in": str(TOKEN_LIFETIME),
        "expires_on": str(now + TOKEN_LIFETIME),
        "not_before": str(now),
        "resource": audience,
        "access_token": access_token(user, client, token_scope, context, audience, auth_method, now),
    }
    if "openid" in token_scope.oidc:
        token["id_token"] = id_token(user, client, context, now)
    return token


def app_token_response(client, resource, v1, auth_method):
    """The v1.0 token response of client credentials: an app-only token whose `roles` are those assigned for it."""
    now = clock.timestamp()
    audience = audience_of(v1, resource)
    claims = app_claims(client, resource, now, aud=audience, iss=v1_issuer(client.tenant_id), appid=client.client_id,
                        appidacr=appidacr(auth_method), ver="1.0")
    return {
        "token_type": "Bearer",
        "expires_in": str(TOKEN_LIFETIME),
        "ext_expires_in": str(TOKEN_LIFETIME),
        "expires_on": str(now + TOKEN_LIFETIME),
        "not_before": str(now),
        "resource": audience,
        "access_token": _sign(claims),
    }
