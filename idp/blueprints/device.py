"""Device code sign-in: the device authorization endpoint, and the IdP's device page ("Entrer le code").

The device page starts an ordinary authorization flow for the device's app; the normal sign-in
screens run, and when the journey ends the device code is approved (idp.oidc.authorize.resume)
instead of a code being sent to a redirect URI.
"""
import time

from flask import Blueprint, abort, jsonify, request, session
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from ..extensions import csrf, db
from ..journey.recorder import record
from ..models import Client, DeviceCode, Flow
from ..oidc import authorize as authz
from ..oidc import grants, resources
from ..oidc.errors import AADError, json_error_response
from ..oidc.urls import cached_tenant
from .oauth import prepare
from ..journey.browser import current_browser
from ..journey.flow import go_next

bp = Blueprint("device", __name__)

# Wrong user codes a browser may type in ATTEMPT_WINDOW seconds before the page refuses to check more.
MAX_ATTEMPTS = 5
ATTEMPT_WINDOW = 15 * 60


class CodeForm(FlaskForm):
    otc = StringField()


@bp.route("/<tenant>/oauth2/v2.0/devicecode", methods=["POST"])
@bp.route("/<tenant>/oauth2/devicecode", methods=["POST"])
@csrf.exempt
def device_authorization(tenant):
    """RFC 8628 device authorization request: user_code, device_code, verification_uri, interval, message."""
    found = cached_tenant(tenant)
    if found is None:
        return json_error_response(AADError("invalid_tenant", 90002, tenant=tenant))
    client_id = request.form.get("client_id")
    if not client_id:
        return json_error_response(AADError("invalid_request", 900144, parameter="client_id"))
    client = db.session.get(Client, client_id)
    if client is None or client.tenant_id != found.id:
        return json_error_response(AADError("unauthorized_client", 700016, client_id=client_id, tenant=tenant))
    # v1.0 names the resource (resource=…); v2.0 the scopes.
    resource = request.form.get("resource")
    scope = request.form.get("scope") or (f"{resource.rstrip('/')}/.default openid profile" if resource else "")
    if not scope:
        return json_error_response(AADError("invalid_request", 900144, parameter="scope"))
    try:
        token_scope = resources.delegated(client, scope)
    except AADError as error:
        return json_error_response(error)
    response = jsonify(grants.start_device_authorization(found, client, token_scope.text))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/devicelogin", methods=["GET", "POST"])
def code():
    """The "Entrer le code" page: the code shown by the device opens a sign-in for the device's app."""
    form = CodeForm()
    error = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        attempts = [t for t in session.get("device_attempts", []) if t > time.time() - ATTEMPT_WINDOW]
        row = None
        if len(attempts) >= MAX_ATTEMPTS:
            error = _("Vous avez entré un code incorrect trop de fois. Réessayez plus tard.")
        elif not grants.normalize_user_code(form.otc.data):
            error = _("Entrez le code affiché sur votre application ou appareil.")
        else:
            row = grants.find_user_code(form.otc.data)
            if row is None:
                attempts.append(time.time())
                error = _("Ce code n'est pas reconnu ou a expiré. Vérifiez le code affiché sur votre appareil, "
                          "puis réessayez.")
        session["device_attempts"] = attempts
        if row is not None:
            session["device_attempts"] = []
            return start_sign_in(row)
    return _page("device/code.html", form=form, error=error, otc=request.args.get("otc", ""))


def start_sign_in(row):
    """Open an authorization flow for the device's app in this browser; its end approves the device code."""
    browser = current_browser(create=True)
    tenant = cached_tenant(row.tenant_id)
    params = {"client_id": row.client_id, "scope": row.scope, "response_type": "device_code"}
    flow = authz.start(tenant, row.client_id, params, browser.id)
    flow.set(device_code=row.id)
    row.flow_id = flow.id
    prepare(flow, browser, {})
    record(flow.id, "request", "devicecode", {"client_id": row.client_id, "scope": row.scope})
    return go_next(flow)


@bp.route("/devicelogin/<flow_id>/done")
def done(flow_id):
    """The device page's last screen: the app on the device is signed in (or was refused)."""
    flow = db.session.get(Flow, flow_id)
    if flow is None or flow.browser_id != session.get("bsid") or not flow.get("device_code"):
        abort(404)
    row = db.session.get(DeviceCode, flow.get("device_code"))
    client = db.session.get(Client, flow.client_id)
    if row is None or client is None:
        abort(404)
    return _page("device/done.html", status=row.status, client=client)


def _page(template, **context):
    from flask import render_template

    return render_template(template, tenant=None, **context)
