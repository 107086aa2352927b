"""Issuer and endpoint URLs in the Microsoft v2.0 layout; only the host differs."""
import os
import re
from pathlib import Path

from flask import current_app, request
from sqlalchemy import select

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


# Tenant segment -> tenant id, per data folder, kept while the tenants stamp file is unchanged
# (seeding and reset touch it). Discovery, JWKS and the token endpoint then need no query.
_TENANT_IDS = {}


def _stamp_path():
    return Path(current_app.config["IDP_DATA_DIR"]) / "tenants.stamp"


def tenants_changed():
    """Tell every worker that tenants were added, changed or wiped."""
    path = _stamp_path()
    path.touch()
    os.utime(path)


def tenants_version():
    try:
        return _stamp_path().stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def tenant_id(segment):
    """Return the id of the tenant a URL segment names, or None; cached until the tenants change."""
    folder = current_app.config["IDP_DATA_DIR"]
    version = tenants_version()
    cache = _TENANT_IDS.get(folder)
    if cache is None or cache[0] != version:
        cache = _TENANT_IDS[folder] = (version, {})
    key = (segment or "").strip().lower()
    if key not in cache[1]:
        tenant = find_tenant(key)
        if tenant is None:
            return None  # unknown tenants are not remembered: one may be seeded later
        cache[1][key] = tenant.id
    return cache[1][key]
