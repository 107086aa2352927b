"""What a token is for: Microsoft Graph, or an app registration of the tenant that exposes an API.

A request names a resource by an identifier ("https://graph.microsoft.com", "api://{client id}", the
API's client id); its tokens name it by its audience: Graph's app id, or the API's client id (v2.0).
Delegated scopes are "{identifier}/{name}" ("User.Read" alone is Graph's); "{identifier}/.default"
stands for every scope the user consented to for that resource (or, for an app, its assigned roles).
"""
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import Client, Consent
from .errors import AADError
from .urls import remembered

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_HOST = "https://graph.microsoft.com"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# The order of Microsoft's token responses ("User.Read profile openid email"); offline_access is not echoed.
RESPONSE_OIDC_ORDER = ("profile", "openid", "email")
DEFAULT = ".default"


@dataclass(frozen=True)
class Resource:
    """A resource as a request named it (identifier) and as its tokens name it (audience)."""

    identifier: str
    audience: str
    name: str
    scopes: tuple = ()  # delegated scope names it exposes (Graph: any name)
    app_roles: tuple = ()  # application roles it defines (Graph: any name)
    identifiers: tuple = ()  # every identifier that names it

    @property
    def is_graph(self):
        return self.audience == GRAPH_APP_ID

    def exposes(self, scope_name):
        return self.is_graph or scope_name in self.scopes

    def scope_text(self, scope_name):
        """A scope as a token response writes it: Microsoft's short form for Graph."""
        return scope_name if self.is_graph else f"{self.identifier}/{scope_name}"


GRAPH = Resource(GRAPH_HOST, GRAPH_APP_ID, "Microsoft Graph", identifiers=(GRAPH_HOST, GRAPH_APP_ID))


def apis(tenant_id):
    """Return the tenant's app registrations as resources (kept per process until the tenants change).

    As in Entra ID, every app of the tenant can be asked for by its client id ({client id}/.default);
    one that exposes an API is also named by its identifier URIs and has scopes and app roles.
    """
    def load():
        with db.session.no_autoflush:
            rows = db.session.scalars(select(Client).where(Client.tenant_id == tenant_id)).all()
        return tuple(api_of(row) for row in rows)

    return remembered("apis", tenant_id, load)


def api_of(client):
    """The Resource an app registration exposes."""
    identifiers = tuple(u.rstrip("/") for u in client.identifier_uris or []) + (client.client_id,)
    return Resource(identifiers[0], client.client_id, client.name, tuple(client.scopes or []),
                    tuple(client.app_roles or []), identifiers)


def find(tenant_id, identifier):
    """Return the Resource an identifier names in a tenant, or None."""
    key = (identifier or "").strip().rstrip("/")
    if key.lower() in (GRAPH_HOST, GRAPH_APP_ID):
        return GRAPH
    for api in apis(tenant_id):
        if key in api.identifiers:
            return replace(api, identifier=key)
    return None


def require(client, identifier):
    """Return the Resource an identifier names in the client's tenant, or raise AADSTS500011."""
    resource = find(client.tenant_id, identifier)
    if resource is None:
        raise AADError("invalid_resource", 500011, resource=identifier, tenant=_tenant_name(client))
    return resource


def _tenant_name(client):
    tenant = client.tenant
    return tenant.name if tenant is not None else client.tenant_id


def split_by_resource(scope):
    """Split a scope string into (OIDC scopes, [(resource identifier, scope names), …]), without a database.

    "User.Read" is a Graph scope; "api://app/Read" is scope "Read" of "api://app". With no resource
    scope, Graph's User.Read (as Microsoft does). Resources come in the order the scope names them.
    """
    oidc, resources = [], {}
    for item in (scope or "").split():
        if item in OIDC_SCOPES:
            if item not in oidc:
                oidc.append(item)
            continue
        if "/" in item:
            identifier, _, name = item.rpartition("/")
        else:
            identifier, name = GRAPH_HOST, item
        identifier = identifier.rstrip("/")
        if identifier.lower() in (GRAPH_HOST, GRAPH_APP_ID):
            identifier = GRAPH_HOST
        names = resources.setdefault(identifier, [])
        if name not in names:
            names.append(name)
    return oidc, list(resources.items()) or [(GRAPH_HOST, ["User.Read"])]


def split(scope):
    """Split a scope string into (OIDC scopes, resource identifier, scope names); (oidc, None, None) for two resources."""
    oidc, resources = split_by_resource(scope)
    if len(resources) > 1:
        return oidc, None, None  # a token is for one resource
    return (oidc, *resources[0])


@dataclass(frozen=True)
class TokenScope:
    """What a delegated token is for: OpenID scopes, one resource, and that resource's scope names."""

    oidc: tuple
    resource: Resource
    names: tuple

    @property
    def scp(self):
        return " ".join(self.names)

    @property
    def text(self):
        """The whole scope, to store with a code or a refresh token."""
        return " ".join(list(self.oidc) + [self.resource.scope_text(n) for n in self.names])

    @property
    def response_text(self):
        """The scope of a token response, as Microsoft writes it: "User.Read profile openid email"."""
        oidc = [s for s in RESPONSE_OIDC_ORDER if s in self.oidc]
        return " ".join([self.resource.scope_text(n) for n in self.names] + oidc)

    def with_names(self, names):
        return replace(self, names=tuple(names))


def delegated(client, scope):
    """Read a delegated scope for a client: AADSTS70011 for two resources or an unknown scope, 500011 for an unknown resource."""
    oidc, identifier, names = split(scope)
    if identifier is None:
        raise AADError("invalid_scope", 70011, detail="A token can be issued for one resource only.")
    return _token_scope(client, oidc, identifier, names)


def consentable(client, scope):
    """Read an authorization request's scope: one TokenScope per resource, in the order asked.

    A sign-in may ask consent for several resources at once (MSAL.js' extraScopesToConsent); its
    tokens are for one of them, and a refresh token gets the others' later.
    """
    oidc, resources = split_by_resource(scope)
    return [_token_scope(client, oidc, identifier, names) for identifier, names in resources]


def _token_scope(client, oidc, identifier, names):
    resource = require(client, identifier)
    for name in names:
        if name != DEFAULT and not resource.exposes(name):
            raise AADError("invalid_scope", 70011,
                           detail=f"The scope '{identifier}/{name}' does not exist on the resource '{identifier}'.")
    return TokenScope(tuple(oidc), resource, tuple(names))


def joined(token_scopes):
    """The scope text of several TokenScopes (OpenID scopes once), to store with a code."""
    items = []
    for token_scope in token_scopes:
        items += [item for item in token_scope.text.split() if item not in items]
    return " ".join(items)


def consented(client, user_id, also=()):
    """Return {audience: set of scope names} the user consented to for this client (plus scope strings `also`)."""
    items = _consent_scopes(client, user_id)
    for text in also:
        items.extend((text or "").split())
    granted = {}
    for item in items:
        if item in OIDC_SCOPES:
            continue
        _, identifier, names = split(item)
        resource = find(client.tenant_id, identifier)
        if resource is not None and names[0] != DEFAULT:
            granted.setdefault(resource.audience, set()).add(names[0])
    return granted


def remember_consent(client, user_id, scope):
    """Add what a sign-in granted (a scope text) to the user's consent for this client (Microsoft's consent adds up)."""
    items = scope.split()
    row = _pending_consent(client, user_id)
    if row is not None:  # the consent screen of this request has it: written with the code at commit
        known = list(row.scopes or [])
        added = [item for item in items if item not in known]
        if added:
            row.scopes = known + added
        return
    # Otherwise plain values and Core statements: one small read, and a write only when something is added.
    found = _stored_consent(client, user_id)
    if found is None:
        from ..database import insert_missing

        if insert_missing(Consent, ("user_id", "client_id"), user_id=user_id, client_id=client.client_id, scopes=items):
            return
        found = _stored_consent(client, user_id)  # another request consented meanwhile: add to its row
    consent_id, known = found
    added = [item for item in items if item not in known]
    if added:
        db.session.connection().execute(CONSENT_ADD, {"consent_id": consent_id, "scopes": known + added})


# Built once (construction and cache key cost more than the query).
_consents = Consent.__table__
CONSENT_OF = select(_consents.c.id, _consents.c.scopes).where(_consents.c.user_id == bindparam("user_id"),
                                                              _consents.c.client_id == bindparam("client_id"))
CONSENT_ADD = _consents.update().where(_consents.c.id == bindparam("consent_id")).values(scopes=bindparam("scopes"))


def _pending_consent(client, user_id):
    """The user's Consent row for this client if this request's session holds it (added or loaded), else None."""
    for row in (*db.session.new, *db.session.identity_map.values()):
        if isinstance(row, Consent) and row.user_id == user_id and row.client_id == client.client_id:
            return row
    return None


def _stored_consent(client, user_id):
    """(id, scopes) of the user's stored consent for this client, or None: a Core read, nothing flushed."""
    found = db.session.connection().execute(CONSENT_OF, {"user_id": user_id, "client_id": client.client_id}).first()
    return None if found is None else (found.id, list(found.scopes or []))


def _consent_scopes(client, user_id):
    """The scopes the user consented to for this client, with what this request's session holds."""
    row = _pending_consent(client, user_id)
    if row is not None:
        return list(row.scopes or [])
    found = _stored_consent(client, user_id)
    return found[1] if found is not None else []


def app_roles(client, resource):
    """The application roles granted to a client for one resource (its app_role_assignments)."""
    assigned = list((client.app_role_assignments or {}).get(resource.audience, []))
    if resource.is_graph:
        # `roles` in clients.yaml: Graph application permissions, as before app_role_assignments.
        assigned += [role for role in client.roles or [] if role not in assigned]
    return assigned
