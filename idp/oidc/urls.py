"""Issuer and endpoint URLs in the Microsoft v2.0 layout; only the host differs."""
import re
from pathlib import Path

from flask import current_app, request
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


# Per data folder, what tenants and clients look like, kept while the tenants stamp file is unchanged
# (seeding and reset touch it): tenant ids by URL segment, and on the embedded SQLite database (one
# host) the Tenant and Client rows themselves. Discovery, JWKS, authorize and token then need no query.
_DIRECTORY = {}


def tenants_stamp(data_dir):
    """The file whose change tells every worker that tenants or clients changed."""
    return Path(data_dir) / "tenants.stamp"


def _stamp_path():
    return tenants_stamp(current_app.config["IDP_DATA_DIR"])


def tenants_changed():
    """Tell every worker that tenants or clients were added, changed or wiped."""
    stamps.touch(_stamp_path())


def tenants_version():
    return stamps.version(_stamp_path())


def remembered(kind, key, load):
    """Return load(), kept in this process under (kind, key) until the tenants stamp changes.

    None (not found) is not remembered: the tenant or client may be seeded later.
    """
    folder = current_app.config["IDP_DATA_DIR"]
    version = tenants_version()
    entry = _DIRECTORY.get(folder)
    if entry is None or entry[0] != version:
        entry = _DIRECTORY[folder] = (version, {})
    cache = entry[1].setdefault(kind, {})
    if key not in cache:
        value = load()
        if value is None:
            return None
        cache[key] = value
    return cache[key]


def tenant_id(segment):
    """Return the id of the tenant a URL segment names, or None; cached until the tenants change."""
    key = (segment or "").strip().lower()
    return remembered("tenant_ids", key, lambda: getattr(find_tenant(key), "id", None))


def cached_tenant(segment):
    """Return the Tenant a URL segment names (read-only, possibly detached), or None."""
    if not stamps.one_host():
        return find_tenant(segment)
    key = (segment or "").strip().lower()
    return remembered("tenants", key, lambda: find_tenant(key))
