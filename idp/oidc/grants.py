"""Microsoft's grants beyond the code flow: password (ROPC), device code, on-behalf-of; client assertions.

Each grant is an authlib grant class registered on the server (init_app); client authentication by
a certificate assertion (private_key_jwt) is one function the server's authenticate_client calls.
Signatures are verified by joserfc; times are read from the emulator's clock (the QA clock moves them).
"""
import base64
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _DeviceCodeGrant
from flask_babel import gettext
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..devices import attempts
from ..extensions import db
from ..models import JWT_BEARER_GRANT, Consent, DeviceCode, UsedAssertion, User
from . import resources, tokens
from .tokens import digest
from .errors import MESSAGES, AADError
from .urls import base_url, tenant_id

# Microsoft's messages for the codes only these grants answer.
MESSAGES.update({
    50013: "Assertion is invalid. {detail}",
    70016: "OAuth 2.0 device flow error. Authorization is pending. Continue polling. {detail}",
    70020: "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
    700021: "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    700024: "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, "
            "expiry time of assertion {exp}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
    700027: "{detail}",
})

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_INTERVAL = 5
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by a person


@dataclass
class SignIn:
    """The sign-in a token response carries (as AuthorizationCode and RefreshToken do): ROPC, on-behalf-of."""

    scope: str
    auth_time: object
    amr: list = field(default_factory=lambda: ["pwd"])
    sid: str | None = None
    kmsi: bool = False

    def get_nonce(self):
        return None

    def get_auth_time(self):
        return clock.epoch(self.auth_time)


def require_public_client_flows(request, client):
    """ROPC and device code without a client credential need "Allow public client flows" on the app."""
    if request.auth_method == "none" and not client.allow_public_client_flows:
        # Microsoft then treats the app as confidential: it asks for a credential.
        raise AADError("invalid_client", 7000218)


def user_checks(user, client):
    """Refuse a user the way a non-interactive grant must: MFA or consent cannot be asked here."""
    from ..journey.flow import _policy

    if user.mfa_method and _policy(user) != "never":
        raise AADError("invalid_grant", 50076, suberror="basic_action", resource=client.client_id)
    if user.invited and not user.mfa_method and _policy(user) != "never":
        raise AADError("invalid_grant", 50079, suberror="basic_action", resource=client.client_id)
    if user.invited and user.tenant_consent_at is None:
        raise AADError("invalid_grant", 65001, suberror="consent_required", client_id=client.client_id,
                       client_name=client.name)


def consented_scope(client, user_id, scope):
    """The TokenScope of a non-interactive grant: only what the user consented to (AADSTS65001 otherwise).

    Graph's User.Read is every app registration's default permission: consenting to the app covers it.
    `{resource}/.default` stands for every consented scope of that resource.
    """
    wanted = resources.delegated(client, scope)
    consent = db.session.scalar(select(Consent.id).where(Consent.user_id == user_id, Consent.client_id == client.client_id))
    granted = resources.consented(client, user_id).get(wanted.resource.audience, set())
    if wanted.resource.is_graph:
        granted |= {"User.Read"}
    names = [n for n in wanted.names if n != resources.DEFAULT]
    if resources.DEFAULT in wanted.names:
        names += sorted(granted - set(names))
    if consent is None or not names or not set(names) <= granted:
        raise AADError("invalid_grant", 65001, suberror="consent_required", client_id=client.client_id,
                       client_name=client.name)
    return wanted.with_names(names)


# --- ROPC ---------------------------------------------------------------------------------------

class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    """grant_type=password (ROPC): only for apps that allow public client flows, never past MFA or consent."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()
        require_public_client_flows(self.request, client)
        data = self.request.payload.data
        for name in ("username", "password"):
            if not data.get(name):
                raise AADError("invalid_request", 900144, parameter=name)
        scope = self.request.payload.scope or "openid profile offline_access"
        resources.delegated(client, scope)  # 70011 / 500011 before the user's password is checked
        user = User.by_email(data["username"])
        if user is None or user.tenant_id != client.tenant_id or not user.has_account:
            # An invited user who has not created their account yet has no password to check.
            raise AADError("invalid_grant", 50034, account=data["username"], tenant=client.tenant.domain)
        # The same smart lockout as the password screen (idp.devices.attempts): counted before it is checked.
        result = attempts.check_password(user, data["password"])
        if result != "ok":
            if result == "locked":
                raise AADError("invalid_grant", 50053)
            raise AADError("invalid_grant", 50126)
        user_checks(user, client)
        token_scope = consented_scope(client, user.id, scope)
        self.request.user = user
        self.request.client = client
        self.request.credential = SignIn(scope=token_scope.text, auth_time=clock.now())
        self.request.token_scope = token_scope

    def create_token_response(self):
        return issue(self)


# --- device code --------------------------------------------------------------------------------

def new_user_code():
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9))


def normalize_user_code(typed):
    return "".join(c for c in (typed or "").upper() if c.isalnum())


def start_device_authorization(tenant, client, scope):
    """Create a device code for `client`; return the device authorization response (RFC 8628, Microsoft's fields)."""
    device_code = secrets.token_urlsafe(48)
    row = DeviceCode(device_code_hash=digest(device_code), user_code=new_user_code(), tenant_id=tenant.id,
                     client_id=client.client_id, scope=scope, interval=DEVICE_INTERVAL,
                     created_at=clock.now(), expires_at=clock.now() + DeviceCode.LIFETIME)
    db.session.add(row)
    uri = f"{base_url()}/devicelogin"
    return {
        "user_code": row.user_code,
        "device_code": device_code,
        "verification_uri": uri,
        "expires_in": int(DeviceCode.LIFETIME.total_seconds()),
        "interval": DEVICE_INTERVAL,
        # What the device prints for its user: in the request's language (French unless it asks otherwise).
        "message": gettext("Pour vous connecter, utilisez un navigateur web pour ouvrir la page %(uri)s et entrez "
                           "le code %(code)s pour l'authentification.", uri=uri, code=row.user_code),
    }


def find_user_code(typed):
    """Return the pending, unexpired DeviceCode a typed user code names, or None."""
    code = normalize_user_code(typed)
    if not code:
        return None
    row = db.session.scalar(select(DeviceCode).where(DeviceCode.user_code == code))
    if row is None or row.status != "pending" or row.expires_at <= clock.now():
        return None
    return row


def approve_device(flow, account):
    """The device page's sign-in journey ended: the device's next poll gets tokens for this user."""
    row = db.session.get(DeviceCode, flow.get("device_code"))
    # A code that expired while the user was signing in stays pending: the device is told expired_token.
    if row is not None and row.status == "pending" and row.expires_at > clock.now():
        row.status, row.user_id = "approved", flow.user_id
        row.sid, row.auth_time, row.amr, row.kmsi = account.sid, account.auth_time, list(account.amr or ["pwd"]), bool(account.kmsi)
    flow.completed_at = clock.now()


def decline_device(flow):
    """The user declined on the device page (consent cancelled): the device's next poll is told so."""
    row = db.session.get(DeviceCode, flow.get("device_code"))
    if row is not None and row.status == "pending":
        row.status = "declined"
    flow.completed_at = clock.now()


class DeviceCodeGrant(_DeviceCodeGrant):
    """grant_type=urn:ietf:params:oauth:grant-type:device_code: the device polls until the user has signed in."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    def validate_token_request(self):
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise AADError("invalid_request", 900144, parameter="device_code")
        client = self.authenticate_token_endpoint_client()
        require_public_client_flows(self.request, client)
        row = db.session.scalar(select(DeviceCode).where(DeviceCode.device_code_hash == digest(device_code)))
        if row is None or row.client_id != client.client_id or row.redeemed_at is not None:
            raise AADError("invalid_grant", 70000)
        now = clock.now()
        if row.expires_at <= now:
            raise AADError("expired_token", 70020)
        if row.status == "declined":
            raise AADError("authorization_declined", 65004)
        if row.status != "approved":
            too_fast = row.last_polled_at is not None and now - row.last_polled_at < timedelta(seconds=row.interval)
            row.last_polled_at = now
            if too_fast:
                raise AADError("slow_down", 70016, detail="Poll no faster than the interval.")
            raise AADError("authorization_pending", 70016)
        # One winner among polls racing with one approved device code.
        table = DeviceCode.__table__
        redeemed = db.session.connection().execute(table.update().where(
            table.c.id == row.id, table.c.redeemed_at.is_(None)).values(redeemed_at=now))
        if redeemed.rowcount != 1:
            raise AADError("invalid_grant", 70000)
        self.request.user = row.user
        self.request.client = client
        self.request.credential = row
        self.request.token_scope = resources.delegated(client, row.scope)

    def create_token_response(self):
        return issue(self)


# --- on-behalf-of -------------------------------------------------------------------------------

class OnBehalfOfGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, requested_token_use=on_behalf_of.

    A middle-tier API trades the access token it received (aud = itself) for a token to another
    resource (e.g. Microsoft Graph) for the same user.
    """

    GRANT_TYPE = JWT_BEARER_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self):
        data = self.request.payload.data
        client = self.authenticate_token_endpoint_client()
        if client.is_public:
            raise AADError("invalid_client", 7000218)
        if data.get("requested_token_use") != "on_behalf_of":
            raise AADError("invalid_request", 900144, parameter="requested_token_use")
        assertion = data.get("assertion")
        if not assertion:
            raise AADError("invalid_request", 900144, parameter="assertion")
        scope = self.request.payload.scope
        if not scope:
            raise AADError("invalid_request", 900144, parameter="scope")
        resources.delegated(client, scope)
        claims = tokens.decode(assertion)
        if claims is None or claims.get("idtyp") == "app" or "scp" not in claims:
            raise AADError("invalid_grant", 50013, detail="The assertion is not a valid user access token.")
        if claims.get("aud") not in audiences_of(client):
            raise AADError("invalid_grant", 50013,
                           detail=f"The assertion's audience is not the application '{client.client_id}'.")
        user = db.session.scalar(select(User).where(User.oid == claims.get("oid")))
        if user is None or user.tenant_id != client.tenant_id:
            raise AADError("invalid_grant", 50013, detail="The assertion's user is not in this tenant.")
        token_scope = consented_scope(client, user.id, scope)
        self.request.user = user
        self.request.client = client
        self.request.credential = SignIn(scope=token_scope.text, auth_time=clock.now(),
                                         amr=list(claims.get("amr") or ["pwd"]), sid=claims.get("sid"))
        self.request.token_scope = token_scope

    def create_token_response(self):
        return issue(self)


def issue(grant):
    """The token response of a user grant: tokens for request.token_scope, the refresh token kept."""
    request = grant.request
    offline = "offline_access" in request.token_scope.oidc
    token = grant.server.generate_user_token(grant, request.user, request.token_scope, request.credential, offline)
    grant.save_token(token)
    return 200, token, grant.TOKEN_RESPONSE_HEADER


def audiences_of(client):
    """What the `aud` of an access token for this app may be: its client id (v2.0) or an identifier URI (v1.0)."""
    uris = getattr(client, "identifier_uris", None) or (client.extra or {}).get("identifier_uris") or []
    return [client.client_id, *uris]


# --- client assertions (private_key_jwt) --------------------------------------------------------

def authenticate_by_assertion(query_client, request):
    """Return the client a certificate-signed client assertion authenticates, or raise Microsoft's error."""
    data = request.payload.data
    assertion_type, assertion = data.get("client_assertion_type"), data.get("client_assertion")
    if not assertion_type:
        raise AADError("invalid_request", 900144, parameter="client_assertion_type")
    if assertion_type != ASSERTION_TYPE:
        raise AADError("invalid_request", 9002313, detail=f"client_assertion_type must be {ASSERTION_TYPE}.")
    if not assertion:
        raise AADError("invalid_request", 900144, parameter="client_assertion")
    # joserfc here, not at import: only a certificate assertion needs it on this path (cold start).
    from joserfc import jws, jwt
    from joserfc.errors import JoseError

    try:
        unverified = jws.extract_compact(assertion.encode(), registry=_assertion_registry())
        headers = unverified.headers()
        claims = _unverified_claims(unverified)  # only to find the client and its certificate; verified below
    except (JoseError, ValueError, TypeError):
        raise AADError("invalid_client", 700027, detail="Client assertion is not a valid JWT.") from None
    client_id = claims.get("sub") or data.get("client_id")
    if not isinstance(client_id, str) or (data.get("client_id") and data["client_id"] != client_id):
        raise AADError("invalid_client", 700021)
    client = query_client(client_id)
    if client is None:
        raise AADError("unauthorized_client", 700016, client_id=client_id, tenant=_tenant_segment())
    certificate = _registered_certificate(client, headers)
    try:
        verified = jwt.decode(assertion, _public_key(certificate), registry=_assertion_registry())
    except (JoseError, ValueError, TypeError):
        raise AADError("invalid_client", 700027, detail="Client assertion failed signature validation.") from None
    _check_claims(client, verified.claims)
    return client


def _assertion_registry():
    from joserfc import jws

    registry = jws.JWSRegistry(algorithms=["RS256", "PS256"])
    # MSAL puts the whole certificate chain in the header (x5c) when given the certificate: beyond joserfc's 512 bytes.
    registry.max_header_length = 16384
    return registry


def _unverified_claims(compact):
    import json

    claims = json.loads(compact.payload)
    if not isinstance(claims, dict):
        raise ValueError("payload")
    return claims


def _tenant_segment():
    from flask import request as flask_request

    return (flask_request.view_args or {}).get("tenant", "")


def _registered_certificate(client, headers):
    """The registered certificate the header's x5t#S256 or x5t names (base64url, or base64 as MSAL writes x5t)."""
    for certificate in client.certificates or []:
        for name in ("x5t#S256", "x5t"):
            if _same_thumbprint(headers.get(name), certificate[name]):
                return certificate
    thumbprint = headers.get("x5t#S256") or headers.get("x5t") or ""
    raise AADError("invalid_client", 700027, detail=(
        "The certificate with identifier used to sign the client assertion is not registered on application. "
        f"[Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}']"))


def _same_thumbprint(sent, registered):
    if not isinstance(sent, str) or not sent:
        return False
    try:
        return base64.urlsafe_b64decode(_padded(sent.replace("+", "-").replace("/", "_"))) == \
            base64.urlsafe_b64decode(_padded(registered))
    except ValueError:
        return False


def _padded(value):
    return value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)


def _public_key(certificate):
    from cryptography import x509  # here: only a certificate assertion needs it (cold start)
    from cryptography.hazmat.primitives import serialization
    from joserfc.jwk import RSAKey

    loaded = x509.load_pem_x509_certificate(certificate["pem"].encode())
    pem = loaded.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return RSAKey.import_key(pem)


def _check_claims(client, claims):
    now = clock.timestamp()
    leeway = 300  # Microsoft allows five minutes of clock skew
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise AADError("invalid_client", 700021)
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not _numeric_date(exp) or (nbf is not None and not _numeric_date(nbf)):
        raise AADError("invalid_client", 700027, detail="Client assertion must have numeric 'exp' (and 'nbf') claims.")
    exp, nbf = int(exp), (int(nbf) if nbf is not None else None)
    if exp + leeway <= now or (nbf is not None and nbf - leeway > now):
        raise AADError("invalid_client", 700024, now=now, nbf=nbf if nbf is not None else "(no nbf)", exp=exp)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not any(_is_token_endpoint(a, client) for a in audiences):
        raise AADError("invalid_client", 700027, detail="The client assertion's audience must be this tenant's token endpoint.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise AADError("invalid_client", 700027, detail="Client assertion must have a 'jti' claim.")
    _use_once(client, jti, exp)


def _numeric_date(value):
    # RFC 7519 NumericDate: seconds, possibly fractional (MSAL Python sends floats).
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_token_endpoint(audience, client):
    if not isinstance(audience, str):
        return False
    parts, base = urlsplit(audience), urlsplit(base_url())
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return False
    segments = parts.path.strip("/").split("/")
    if segments[1:] not in (["oauth2", "v2.0", "token"], ["oauth2", "token"]):
        return False
    return tenant_id(segments[0]) == client.tenant_id


def _use_once(client, jti, exp):
    """Record the assertion's jti until it expires; a second use is refused (one winner across workers)."""
    table = UsedAssertion.__table__
    now = clock.now()
    try:
        # A transaction of its own: a refused insert must not roll back (and expire) the request's session.
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.expires_at < now))
            connection.execute(table.insert().values(client_id=client.client_id, jti_hash=digest(jti),
                                                     expires_at=_utc(exp + 300)))
    except IntegrityError:
        raise AADError("invalid_client", 700027, detail="The client assertion was already used (jti).") from None


def _utc(seconds):
    """A timestamp as the naive UTC datetime the database stores."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def register(server):
    server.register_grant(PasswordGrant)
    server.register_grant(DeviceCodeGrant)
    server.register_grant(OnBehalfOfGrant)


SUPPORTED_GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password",
                         DeviceCodeGrant.GRANT_TYPE, JWT_BEARER_GRANT]
