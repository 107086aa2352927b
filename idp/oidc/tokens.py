"""Tokens and their claims, as Microsoft's v2.0 endpoint issues them (see microsoft-reference.md)."""
import base64
import hashlib
import hmac
import json
import secrets

from flask import current_app

from .. import clock
from .resources import app_roles
from .urls import issuer

TOKEN_LIFETIME = 3600


def digest(value):
    """Return the stored form of a code, refresh token, device code or assertion id (only hashes are kept)."""
    return hashlib.sha256(value.encode()).hexdigest()


def b64url(data):
    """Base64url without padding (JOSE's encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def keystore():
    return current_app.extensions["idp_keys"]


# joserfc (and cryptography under it) is imported where a token is signed or read, not with this module: a server
# starts without it (cold start), and the first token a worker signs loads it, with its keys.

def _sign(claims):
    from joserfc import jwt

    key = keystore().signing_key
    header = {"typ": "JWT", "alg": "RS256", "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=["RS256"])


def pairwise_sub(user, client_id):
    """Return the per-app subject of a user: stable for one app, different across apps."""
    salt = user.tenant.pairwise_salt.encode()
    digest = hmac.new(salt, f"{user.oid}:{client_id}".encode(), hashlib.sha256).digest()
    return b64url(digest[:32])


def _common(user, client, context, now):
    claims = {
        "iss": issuer(user.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.email,
        "sub": pairwise_sub(user, client.client_id),
        "tid": user.tenant_id,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "2.0",
    }
    if context is not None and context.sid:
        claims["sid"] = context.sid
    if user.idp:
        claims["idp"] = user.idp
    return claims


def id_token(user, client, context, scope, access_token=None):
    """Return a signed v2.0 ID token for `user` and `client` (context: the code or refresh token)."""
    now = clock.timestamp()
    claims = _common(user, client, context, now)
    claims.update({
        "aud": client.client_id,
        "aio": b64url(secrets.token_bytes(24)),
        "rh": "0." + b64url(secrets.token_bytes(30)),
        "auth_time": context.get_auth_time(),
    })
    if "email" in (scope or "").split():
        claims["email"] = user.email
    nonce = context.get_nonce()
    if nonce:
        claims["nonce"] = nonce
    if context.kmsi:
        claims["signin_state"] = ["kmsi"]
    if access_token:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["at_hash"] = b64url(digest[:16])
    return _sign(claims)


def access_token(user, client, token_scope, context):
    """Return a signed delegated access token for token_scope's resource (aud = its audience, scp = its scopes)."""
    now = clock.timestamp()
    claims = _common(user, client, context, now)
    claims.update({
        "aud": token_scope.resource.audience,
        "azp": client.client_id,
        "azpacr": "0" if client.is_public else "1",
        "scp": token_scope.scp,
        "amr": list(context.amr or ["pwd"]),
        "acr": "1",
        "idtyp": "user",
    })
    return _sign(claims)


def app_token(client, resource):
    """Return a signed app-only access token for `resource` (roles: those assigned to the client for it, no scp)."""
    return _sign(app_claims(client, resource, clock.timestamp(), aud=resource.audience, iss=issuer(client.tenant_id),
                            azp=client.client_id, azpacr="1" if client.secret_hash else "2",  # 2: a certificate
                            ver="2.0"))


def app_claims(client, resource, now, **version_claims):
    """The claims of an app-only access token, v1.0 or v2.0 alike, with the version's own (`version_claims`:
    aud, iss, ver, and azp/azpacr or appid/appidacr)."""
    claims = dict(version_claims, iat=now, nbf=now, exp=now + TOKEN_LIFETIME, idtyp="app", oid=client.object_id,
                  sub=client.object_id, tid=client.tenant_id, uti=b64url(secrets.token_bytes(16)))
    roles = app_roles(client, resource)
    if roles:  # Microsoft leaves the claim out when the app holds no role on the resource
        claims["roles"] = roles
    return claims


def client_info(user):
    """Return MSAL's client_info: base64url of {"uid": oid, "utid": tid}."""
    return b64url(json.dumps({"uid": user.oid, "utid": user.tenant_id}).encode())


def decode(token, audience_check=None):
    """Verify a token signed by this emulator and return its claims, or None if invalid or expired."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    try:
        result = jwt.decode(token, keystore().key_set(), algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = result.claims
    now = clock.timestamp()
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        return None
    if audience_check is not None and claims.get("aud") not in audience_check:
        return None
    return claims
