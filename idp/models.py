"""Everything the emulator knows, in the database: tenants, clients, users, flows, codes, tokens, devices, messages."""
import copy
import functools
import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from flask import current_app, g, has_app_context
from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, bindparam, event,
                        inspect, select, update)
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column, relationship
from sqlalchemy.orm.attributes import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.security import check_password_hash

from . import clock, stamps
from .extensions import db
from .oidc import redirects


def new_guid():
    return str(uuid.uuid4())


def new_id(nbytes=24):
    return secrets.token_urlsafe(nbytes)


class Setting(db.Model):
    """A runtime setting shared by all workers (captcha mode, mfa policy override, clock offset, faults)."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[object] = mapped_column(JSON, nullable=True)

    @classmethod
    def _values(cls):
        """Every setting, read once per app context (each request has its own).

        The values are also kept per process, as plain values, while the "settings" version in the
        database (idp.stamps) is unchanged: a change committed by any worker on any host bumps it.
        """
        if has_app_context() and "settings" in g:
            return g.settings
        key = current_app.config["SQLALCHEMY_DATABASE_URI"] if has_app_context() else None
        version = stamps.version("settings") if key else None
        cached = _SETTINGS_CACHE.get(key) if key else None
        if cached is not None and cached[0] == version:
            values = dict(cached[1])
        else:
            with db.session.no_autoflush:  # a flush would ask the clock, which asks the settings
                values = {row.key: row.value for row in db.session.scalars(select(cls))}
            if key:
                _SETTINGS_CACHE[key] = (version, copy.deepcopy(values))
        if has_app_context():
            g.settings = values
        return values

    @classmethod
    def get(cls, key, default=None):
        value = cls._values().get(key)
        return default if value is None else value

    @classmethod
    def forget(cls):
        """Drop this app context's settings (and the clock's offset): read again when next asked."""
        g.pop("settings", None)
        g.pop("clock_offset", None)

    @classmethod
    def put(cls, key, value):
        # One statement (insert or update): a concurrent reset or writer of the same key never makes it a 500.
        from .database import upsert

        upsert(cls, ("key",), key=key, value=value)
        row = db.session.identity_map.get(db.session.identity_key(cls, key))
        if row is not None:
            db.session.expire(row)
        cls._values()[key] = value
        g.pop("clock_offset", None)  # idp.clock keeps the offset as a plain value
        settings_changed()  # a Core statement: no flush sees it, so bump the "settings" version here


# Stored secret hash -> SHA-256 of the secret that matched it (Client.check_secret).
_VERIFIED_SECRETS = {}

# Database URI -> (settings version, {key: value}): plain values, never rows.
_SETTINGS_CACHE = {}


def settings_changed():
    """Mark the settings as changed by a bulk statement (reset's wipe): bump their version in this transaction."""
    stamps.bump("settings")


class Stamp(db.Model):
    """A version every process compares with what it cached (idp.stamps): tenants, settings, keys."""

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SigningKey(db.Model):
    """A token-signing key (idp.oidc.keys), shared by every host on this database; the highest seq signs.

    The private key is kept as unencrypted PEM: the emulator signs test tokens, and the database is as
    private as the data folder that held these keys before (see the README).
    """

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)


class AppSecret(db.Model):
    """A secret every host on this database shares: "session" signs the browser cookie and the CSRF tokens."""

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Tenant(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    mfa: Mapped[str] = mapped_column(String(16), default="always")
    # Branding and support details for emails and pages (seed data, not code).
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    pairwise_salt: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    # The banner logo of the seed folder (tenant.yaml `branding: {logo: …}`), as SVG text in the database so
    # every worker and host serves it. Deferred: only the logo URL reads it, not every tenant lookup.
    logo_svg: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)
    # A digest of logo_svg, None without a logo: pages show the logo when it is set, and its URL and ETag carry
    # it, so that browsers fetch a logo again only when a seed changed it.
    logo_etag: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Client(db.Model):
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    # Object id of the app's service principal (sub/oid of its app-only tokens).
    object_id: Mapped[str] = mapped_column(String(36), default=new_guid)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    # Certificates for client assertions (private_key_jwt): [{"pem", "x5t", "x5t#S256"}], public parts only.
    certificates: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # "Allow public client flows": ROPC and device code without a client credential.
    allow_public_client_flows: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Redirect URIs of the "Single-page application" platform: their codes are redeemed from the
    # browser (CORS, from these URIs' origins only) and their refresh tokens live 24 hours.
    spa_redirect_uris: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # An app that exposes an API (idp.oidc.resources): its App ID URIs (e.g. api://{client_id}), delegated
    # scope names (access_as_user) and application role names (Data.Read.All).
    identifier_uris: Mapped[list | None] = mapped_column(JSON, nullable=True)
    scopes: Mapped[list | None] = mapped_column(JSON, nullable=True)
    app_roles: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # Application permissions granted to this app, per resource: {resource audience (app id): [role names]}.
    app_role_assignments: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    tenant = relationship(Tenant, lazy="joined")

    @property
    def is_public(self):
        return self.secret_hash is None and not self.certificates

    def check_secret(self, secret):
        """Check a client secret against its stored (slow) hash, once per process and secret.

        Every token request of a confidential client sends its secret: with the default scrypt hash, checking it
        each time would cost tens of milliseconds per request. Once a secret has matched, the process keeps a
        SHA-256 of it, keyed by the stored hash (a new secret, seeded or rotated, has a new hash), and later
        requests compare with that. Memory only, never written anywhere.
        """
        if not self.secret_hash or not isinstance(secret, str):
            return False
        digest = hashlib.sha256(secret.encode()).digest()
        known = _VERIFIED_SECRETS.get(self.secret_hash)
        if known is not None:
            return hmac.compare_digest(known, digest)
        if not check_password_hash(self.secret_hash, secret):
            return False
        if len(_VERIFIED_SECRETS) >= 1024:  # clients are few; a bound all the same
            _VERIFIED_SECRETS.clear()
        _VERIFIED_SECRETS[self.secret_hash] = digest
        return True

    # authlib ClientMixin
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return redirects.registered([*self.redirect_uris, *(self.spa_redirect_uris or [])], redirect_uri)

    def is_spa_redirect(self, redirect_uri):
        """Whether a redirect URI is one of the SPA platform (its code must be redeemed cross-origin)."""
        return redirects.registered(self.spa_redirect_uris or [], redirect_uri)

    def check_client_secret(self, client_secret):
        return self.check_secret(client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.is_public:
            return method == "none"
        if method == "private_key_jwt":
            return bool(self.certificates)
        return method in ("client_secret_post", "client_secret_basic") and self.secret_hash is not None

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        if grant_type == "client_credentials":
            return not self.is_public
        # ROPC, device code and on-behalf-of are checked by their grants (idp.oidc.grants), with Microsoft's errors.
        return grant_type in ("authorization_code", "refresh_token", "password", DEVICE_CODE_GRANT, JWT_BEARER_GRANT)


DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def given_name(name):
    """The given name in a display name ("Camille Martin" -> "Camille")."""
    return name.split(" ", 1)[0] if name else ""


def family_name(name):
    """The family name in a display name ("Camille Martin" -> "Martin"; "" for one word)."""
    return name.split(" ", 1)[1] if " " in (name or "") else ""


class User(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oid: Mapped[str] = mapped_column(String(36), unique=True, default=new_guid)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    # None while the invited user has no Microsoft account yet.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    invited: Mapped[bool] = mapped_column(Boolean, default=False)
    # "live.com" for a personal Microsoft account invited into the tenant (guest), else None.
    idp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    birth_date: Mapped[object] = mapped_column(Date, nullable=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    tenant_consent_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[object] = mapped_column(DateTime, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # authenticator | totp | sms, or None before MFA registration.
    mfa_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The time step of the last TOTP code accepted: a code is accepted once (idp.devices.otp.check_totp).
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)

    tenant = relationship(Tenant, lazy="joined")

    @property
    def has_account(self):
        return self.password_hash is not None

    @property
    def given_name(self):
        return given_name(self.name)

    @property
    def family_name(self):
        return family_name(self.name)

    def is_locked(self):
        return self.locked_until is not None and self.locked_until > clock.now()

    def check_password(self, password):
        return self.has_account and check_password_hash(self.password_hash, password)

    @property
    def state(self):
        """The seed/control-API word for this user's state."""
        if not self.has_account:
            return "invited"
        if self.mfa_method:
            return "mfa_" + self.mfa_method
        return "registered"

    def get_user_id(self):
        return self.id

    @classmethod
    def by_email(cls, email):
        return db.session.scalar(_user_by_email(), {"email": (email or "").strip().lower()})


@functools.cache
def _user_by_email():
    """User.by_email's statement, built once: building it cost about a third of running it."""
    return select(User).where(User.email == bindparam("email"))


class Invitation(db.Model):
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_guid)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    email: Mapped[str] = mapped_column(String(255))
    redirect_url: Mapped[str] = mapped_column(String(2048), default="")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    invited_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    redeemed_at: Mapped[object] = mapped_column(DateTime, nullable=True)


class WithIdFromTheStart:
    """A row whose id is set when the object is made: the cookie and other rows can use it before any flush."""

    def __init__(self, **values):
        values.setdefault("id", new_id())
        super().__init__(**values)


class BrowserSession(WithIdFromTheStart, db.Model):
    """One browser (the ESTSAUTH cookie points here); holds the accounts signed in on it."""

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)

    accounts = relationship("SessionAccount", back_populates="browser", lazy="selectin",
                            order_by="SessionAccount.last_used_at.desc()")


class SessionAccount(db.Model):
    """A user known to a browser: signed in (sid) or only remembered for the account picker."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    browser_id: Mapped[str] = mapped_column(ForeignKey("browser_session.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    sid: Mapped[str] = mapped_column(String(36), default=new_guid)
    signed_in: Mapped[bool] = mapped_column(Boolean, default=True)
    auth_time: Mapped[object] = mapped_column(DateTime, default=clock.now)
    mfa_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    # When a method was registered (proof-up) during this sign-in: that MFA holds until the next sign-in.
    mfa_registered_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    kmsi: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[object] = mapped_column(DateTime, default=clock.now)

    browser = relationship(BrowserSession, back_populates="accounts")
    user = relationship(User, lazy="joined")
    __table_args__ = (UniqueConstraint("browser_id", "user_id"),)


class Flow(WithIdFromTheStart, db.Model):
    """One journey: an authorization request (or an invitation) and everything the user did for it."""

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    browser_id: Mapped[str] = mapped_column(String(48), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The authorization request's parameters, to resume it when the journey ends.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # Where to go when there is no authorization request (invitation redeem URL).
    return_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    invitation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Step state, as plain JSON the journey's checks read: see idp.journey.
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    updated_at: Mapped[object] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)
    completed_at: Mapped[object] = mapped_column(DateTime, nullable=True)

    user = relationship(User, lazy="joined")
    tenant = relationship(Tenant, lazy="joined")

    def get(self, key, default=None):
        return (self.state or {}).get(key, default)

    def set(self, **values):
        """Update step state (JSON column: assign a new dict so the change is saved)."""
        self.state = {**(self.state or {}), **values}

    def drop(self, *keys):
        self.state = {k: v for k, v in (self.state or {}).items() if k not in keys}


class _CoreWritten:
    """How the rows that every sign-in makes or changes are written by one Core statement each (see _write_core).

    `own`: the columns the journey changes (not the id, nor the columns of rows the flush may have to write
    first); `relations`: relationship -> column, each to be written already; `touched`: set to the time at
    each UPDATE, as the ORM's onupdate would.
    """

    def __init__(self, model, own, relations, touched=None):
        self.model, self.table, self.own, self.relations, self.touched = model, model.__table__, own, relations, touched
        self.insert = self.table.insert()
        self.update = self.table.update().where(self.table.c.id == bindparam("row_id"))
        # An id the database gives (autoincrement) is left out of the INSERT; a flow's is made with the object.
        self.database_id = not issubclass(model, WithIdFromTheStart)

    def writable(self, state):
        """True when a new row's id is known (or given by the database) and the rows it points to are written."""
        if not self.database_id and state.dict.get("id") is None:
            return False
        for relation, column in self.relations.items():
            if state.dict.get(column) is None and self.table.c[column].nullable is False:
                return False
            if relation in state.dict:
                row = state.dict[relation]
                if row is None or not inspect(row).persistent or row.id != state.dict.get(column):
                    return False
        return True

    def insert_row(self, session, row, state):
        """INSERT a new row, every column as the ORM sends it (defaults computed here), and make it persistent."""
        values = {}
        for column in self.table.columns:
            value = state.dict.get(column.key)
            # As the flush: a column left None gets its default, unless its type writes None (JSON's null).
            if value is not None or (column.key in state.dict and column.type.should_evaluate_none):
                values[column.key] = value
            elif column.default is not None:
                values[column.key] = column.default.arg(None) if column.default.is_callable else column.default.arg
            elif not (column.primary_key and self.database_id):
                values[column.key] = None
        result = session.connection().execute(self.insert, values)
        if self.database_id:
            values["id"] = result.inserted_primary_key[0]
        session.expunge(row)
        state.dict.update(values)
        make_transient_to_detached(row)  # as if loaded: every column committed
        session.add(row)

    def update_row(self, session, row, state):
        """UPDATE the own columns that changed, or leave the row to the flush (False) when anything else did."""
        original = state.committed_state
        if state.deleted or not original.keys() <= self.own or not original.keys() <= state.dict.keys():
            return False
        values = {key: state.dict[key] for key, old in original.items()
                  if old is NO_VALUE or not self.table.c[key].type.compare_values(old, state.dict[key])}
        if values:
            if self.touched:
                values.setdefault(self.touched, clock.now())
            rows = session.connection().execute(self.update, {**values, "row_id": row.id}).rowcount
            if rows != 1:
                raise StaleDataError(f"UPDATE statement on table '{self.table.name}' expected to update 1 row(s); "
                                     f"{rows} were matched.")
            state.dict.update(values)
        # What the flush does to a row it wrote (no public call marks a persistent row clean).
        state._commit_all(state.dict, session.identity_map)
        return True


_CORE_WRITTEN = {
    spec.model: spec for spec in (
        _CoreWritten(Flow, frozenset({"browser_id", "client_id", "params", "return_url", "invitation_id", "email",
                                      "state", "created_at", "updated_at", "completed_at"}),
                     {"user": "user_id", "tenant": "tenant_id"}, touched="updated_at"),
        _CoreWritten(BrowserSession, frozenset({"created_at"}), {}),
        _CoreWritten(SessionAccount, frozenset({"sid", "signed_in", "auth_time", "mfa_at", "mfa_registered_at", "amr",
                                                "kmsi", "last_used_at"}),
                     {"user": "user_id", "browser": "browser_id"}),
    )
}


@event.listens_for(Session, "before_flush")
def _write_core(session, flush_context, instances):
    """Write each new browser, flow or browser account, and each whose own columns changed, with one Core
    statement, the one the ORM's flush would send (an UPDATE: the changed columns, and a flow's updated_at), and
    mark it clean: the flush's unit of work costs more than the statement, and every sign-in makes or changes them.
    A new row whose user or browser is not written yet, or anything else changed on one, is left to the flush."""
    for row in [row for row in session.new if type(row) in _CORE_WRITTEN]:
        spec, state = _CORE_WRITTEN[type(row)], inspect(row)
        if spec.writable(state):
            spec.insert_row(session, row, state)
    for row in session.dirty:
        spec = _CORE_WRITTEN.get(type(row))
        if spec is not None:
            spec.update_row(session, row, inspect(row))


class FlowEvent(db.Model):
    """The journey recorder: one line of a flow's timeline (screen, input, message, token)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(48), index=True)
    at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class Consent(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    granted_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)


class AuthorizationCode(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    flow_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    redirect_uri: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text, nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    sid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    auth_time: Mapped[object] = mapped_column(DateTime)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    kmsi: Mapped[bool] = mapped_column(Boolean, default=False)
    # Issued to a redirect URI of the SPA platform: its refresh tokens live 24 hours, not sliding.
    spa: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    redeemed_at: Mapped[object] = mapped_column(DateTime, nullable=True)

    user = relationship(User, lazy="joined")

    LIFETIME = timedelta(minutes=10)

    # authlib AuthorizationCodeMixin
    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return clock.epoch(self.auth_time)

    def get_acr(self):
        return None

    def get_amr(self):
        return self.amr or None


class RefreshToken(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Every token refreshed from one sign-in shares a family; in strict mode (IDP_REFRESH_TOKENS=rotate)
    # replaying a rotated one revokes the family.
    family: Mapped[str] = mapped_column(String(36), index=True, default=new_guid)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    scope: Mapped[str] = mapped_column(Text, default="")
    sid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    auth_time: Mapped[object] = mapped_column(DateTime)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    kmsi: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    revoked_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    # Issued to a single-page app's redirect: 24 hours from the sign-in, kept by the tokens refreshed from it.
    spa: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    user = relationship(User, lazy="joined")

    LIFETIME = timedelta(days=90)  # sliding: each refresh starts a new 90 days
    SPA_LIFETIME = timedelta(hours=24)

    # authlib TokenMixin
    def get_scope(self):
        return self.scope

    def get_client_id(self):
        return self.client_id

    def is_expired(self):
        return self.expires_at <= clock.now()

    def is_revoked(self):
        return self.revoked_at is not None

    def check_client(self, client):
        return client.client_id == self.client_id

    def get_expires_in(self):
        return int((self.expires_at - self.issued_at).total_seconds())

    @classmethod
    def revoke_all(cls, user_id):
        """Revoke every refresh token of a user, as Microsoft does on a password change or revokeSignInSessions."""
        db.session.execute(update(cls).where(cls.user_id == user_id, cls.revoked_at.is_(None))
                           .values(revoked_at=clock.now()))

    # authlib AuthorizationCodeMixin-like context shared with codes, for claims
    def get_nonce(self):
        return None

    def get_auth_time(self):
        return clock.epoch(self.auth_time)


class OneTimeCode(db.Model):
    """A code sent by email or SMS (hashed), with its expiry and wrong-try counter."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[str | None] = mapped_column(String(48), index=True, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(255))
    code_hash: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    used_at: Mapped[object] = mapped_column(DateTime, nullable=True)

    @classmethod
    def spend(cls, code_id):
        """Mark the code used, once even against a concurrent request; True for the request that did."""
        used = db.session.execute(update(cls).where(cls.id == code_id, cls.used_at.is_(None)).values(used_at=clock.now()))
        return used.rowcount == 1

    @classmethod
    def count_wrong(cls, code_id):
        """Add one wrong try to the code (one statement: concurrent tries all count); the tries so far."""
        return db.session.execute(update(cls).where(cls.id == code_id).values(attempts=cls.attempts + 1)
                                  .returning(cls.attempts)).scalar()


class AttemptCounter(db.Model):
    """Wrong answers (or sends) of one kind for one account or flow, and its cool-down (idp.devices.attempts)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "user:<id>" or "flow:<id>"
    subject: Mapped[str] = mapped_column(String(64))
    # password | email_code | sms_code | totp | push_number | email_send | sms_send | push_send
    kind: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # How many cool-downs this count has started since its last success: each one lasts longer.
    cooldowns: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[object] = mapped_column(DateTime, nullable=True)
    last_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    __table_args__ = (UniqueConstraint("subject", "kind"),)


class Message(db.Model):
    """A mail or SMS as delivered to the dev mailbox or the virtual phone."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    sender: Mapped[str] = mapped_column(String(255), default="")
    to: Mapped[str] = mapped_column(String(255), index=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    links: Mapped[list] = mapped_column(JSON, default=list)
    flow_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    # A delayed SMS (fault "delay") shows only from this moment.
    deliver_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    read_at: Mapped[object] = mapped_column(DateTime, nullable=True)


class AuthenticatorAccount(db.Model):
    """An account added to the Microsoft Authenticator app of a user's virtual phone."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The activation the phone scanned (the QR on proofup-app-qr), to tie it to the flow.
    activation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The account's one-time-code secret (the app shows its codes); seeded accounts use the user's.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    added_at: Mapped[object] = mapped_column(DateTime, default=clock.now)

    user = relationship(User, lazy="joined")


class PushRequest(db.Model):
    """A Microsoft Authenticator notification waiting for the user (number matching)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    flow_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    number: Mapped[int] = mapped_column(Integer)
    # pending | approved | denied | wrong_number | expired
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    answered_at: Mapped[object] = mapped_column(DateTime, nullable=True)

    LIFETIME = timedelta(minutes=2)


class DeviceCode(db.Model):
    """A device code sign-in (RFC 8628): the device polls with its device code, the user types the user code."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    # pending | approved | declined; approved once the sign-in journey of the device page ends.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), nullable=True)
    flow_id: Mapped[str | None] = mapped_column(String(48), nullable=True)
    sid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    auth_time: Mapped[object] = mapped_column(DateTime, nullable=True)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    kmsi: Mapped[bool] = mapped_column(Boolean, default=False)
    interval: Mapped[int] = mapped_column(Integer, default=5)
    last_polled_at: Mapped[object] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[object] = mapped_column(DateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    redeemed_at: Mapped[object] = mapped_column(DateTime, nullable=True)

    user = relationship(User, lazy="joined")

    LIFETIME = timedelta(minutes=15)

    # the sign-in context a token response reads (as AuthorizationCode and RefreshToken)
    def get_nonce(self):
        return None

    def get_auth_time(self):
        return clock.epoch(self.auth_time)


class UsedAssertion(db.Model):
    """A client assertion's jti, kept until the assertion expires: each assertion is used once."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[object] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("client_id", "jti_hash"),)
