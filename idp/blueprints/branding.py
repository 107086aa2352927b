"""The tenant's company branding (seed folder `branding:`), served by the emulator itself: nothing from the internet."""
from flask import Blueprint, abort, current_app, request
from sqlalchemy import select

from ..extensions import db
from ..models import Tenant
from ..oidc.urls import tenant_id

bp = Blueprint("branding", __name__)

# An SVG opened on its own is a document of this origin: let it draw and style itself, nothing else (no script,
# no fetch), even if a seed's file slipped something past the loader's checks.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
A_YEAR = 365 * 24 * 3600


@bp.route("/<tenant>/branding/logo.svg")
def logo(tenant):
    """The tenant's banner logo. Pages link it with ?v=<digest>: that URL never changes content, so browsers keep it."""
    found = tenant_id(tenant)
    row = found and db.session.execute(select(Tenant.logo_svg, Tenant.logo_etag).where(Tenant.id == found)).first()
    if not row or row.logo_svg is None:
        abort(404)
    response = current_app.response_class(row.logo_svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(row.logo_etag)
    if request.args.get("v") == row.logo_etag:
        response.cache_control.public = True
        response.cache_control.max_age = A_YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)
