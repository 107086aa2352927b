"""Issuer and endpoint URLs in the Microsoft v2.0 layout; only the host differs."""
import re

from flask import current_app, request
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from .. import stamps
from ..extensions import db
from ..models import Tenant

META_TENANTS = ("common", "organizations", "consumers")
PERSONAL_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def base_url():
    """Return the public base URL: IDP_BASE_URL, else the URL the request came in on."""
    return current_app.config.get("IDP_BASE_URL") or request.url_root.rstrip("/")


def issuer(tenant_id):
    return f"{base_url()}/{tenant_id}/v2.0"


def v1_issuer(tenant_id):
    """The v1.0 issuer: Microsoft's https://sts.windows.net/{tid}/, on the emulator's base."""
    return f"{base_url()}/{tenant_id}/"


def find_tenant(segment):
    """Return the Tenant a URL's tenant segment names (GUID or domain), or None for unknown ones.

    The meta tenants (common, organizations, consumers) resolve to the default tenant: the emulator
    hosts one organisation, as a single-tenant app registration would see it.
    """
    segment = (segment or "").strip().lower()
    if segment in META_TENANTS:
        return db.session.scalars(select(Tenant).order_by(Tenant.domain)).first()
    if GUID.match(segment):
        return db.session.get(Tenant, segment)
    return db.session.scalar(select(Tenant).where(Tenant.domain == segment))


# Per database, what tenants and clients look like, kept while the "tenants" version in the database is
# unchanged (idp.stamps): tenant ids by URL segment, plain copies of Tenant and Client rows (see plain), and
# the tenants' APIs. Discovery, JWKS, authorize and token then need no query beyond the versions.
_DIRECTORY = {}


def tenants_changed():
    """Tell every worker on every host that tenants or clients were added, changed or wiped (in this transaction).

    A flush that changes a Tenant or Client row does it by itself; bulk statements call this.
    """
    stamps.bump("tenants")


def remembered(kind, key, load):
    """Return load(), kept in this process under (kind, key) until the "tenants" version changes.

    load() must return plain values (see plain), never rows of a session: a row's session may roll back
    (a failed write) and leave it expired and detached, unusable by every later request.
    None (not found) is not remembered: the tenant or client may be seeded later.
    """
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    version = stamps.version("tenants")
    entry = _DIRECTORY.get(database)
    if entry is None or entry[0] != version:
        entry = _DIRECTORY[database] = (version, {})
    cache = entry[1].setdefault(kind, {})
    if key not in cache:
        value = load()
        if value is None:
            return None
        cache[key] = value
    return cache[key]


def plain(row):
    """Return a plain copy of a Tenant or Client row: its column values, its methods, its tenant; no session.

    The copy is an instance of a plain class (not mapped), so no session can expire it, flush it or attach it.
    """
    if row is None:
        return None
    cls = _plain_class(type(row))
    copy = cls.__new__(cls)
    mapper = sa_inspect(type(row))
    state = sa_inspect(row)
    for attribute in mapper.column_attrs:
        if attribute.key in state.unloaded:  # deferred (e.g. a tenant's logo): read from the database when needed
            continue
        copy.__dict__[attribute.key] = getattr(row, attribute.key)
    for relation in mapper.relationships:
        if relation.key not in state.unloaded and not relation.uselist:
            copy.__dict__[relation.key] = plain(getattr(row, relation.key))
    return copy


_PLAIN_CLASSES = {}


def _plain_class(model):
    """A class with a model's own methods and properties, and none of its mapped attributes."""
    cls = _PLAIN_CLASSES.get(model)
    if cls is None:
        mapped = set(sa_inspect(model).attrs.keys())
        namespace = {name: value for name, value in vars(model).items()
                     if not name.startswith("__") and name not in mapped and callable(getattr(value, "__get__", None))
                     and not name.startswith("_sa_")}
        namespace["__repr__"] = lambda self: f"<plain {model.__name__} {self.__dict__.get('client_id') or self.__dict__.get('id')}>"
        cls = _PLAIN_CLASSES[model] = type(f"Plain{model.__name__}", (), namespace)
    return cls


def tenant_id(segment):
    """Return the id of the tenant a URL segment names, or None; cached until the tenants change."""
    key = (segment or "").strip().lower()
    return remembered("tenant_ids", key, lambda: getattr(find_tenant(key), "id", None))


def cached_tenant(segment):
    """Return a plain copy of the Tenant a URL segment names (see plain), or None; cached until the tenants change."""
    key = (segment or "").strip().lower()
    return remembered("tenants", key, lambda: plain(find_tenant(key)))
