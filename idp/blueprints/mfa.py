"""MFA at sign-in for users with a registered method: mfa-push, mfa-otp, mfa-method-choice (journey.md).

The journey check `mfa_required` shows the screen of the way the user chose (flow.state["mfa_choice"]: the
method list while "choosing", else one of Microsoft's method names), else mfa-push (Authenticator users with the
app) or mfa-otp; a method proved sets flow.state["mfa_ok"].
"""
from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField

from .. import clock
from ..devices import attempts, authenticator
from ..devices import otp as codes
from ..devices import push as pushes
from ..journey.recorder import record
from ..journey.browser import session_account
from ..journey.flow import go_next, load_flow
from .screens import ActionForm, CodeForm, render_screen, screen

bp = Blueprint("mfa", __name__, url_prefix="/mfa")

SMS_PURPOSE = "sms_mfa"


def mark_mfa_done(flow, registered=False):
    """The user proved a second factor in this flow: the session's amr now says so (tokens read it).

    `registered`: the proof was the registration of a new method (proof-up). As at Microsoft, that satisfies
    MFA for the rest of this sign-in session, whatever the tenant's policy (journey check `mfa_required`).
    """
    flow.set(mfa_ok=True)
    flow.drop("mfa_choice", "mfa_push_id", "mfa_sms_sent")
    account = session_account(flow)
    if account is not None:
        account.mfa_at = clock.now()
        if registered:
            account.mfa_registered_at = account.mfa_at
        account.amr = [*[a for a in (account.amr or ["pwd"]) if a != "mfa"], "mfa"]
    record(flow.id, "journey", "mfa-done", {"registered": True} if registered else None)


def methods(user):
    """The ways this user can prove a second factor, as Microsoft names them (data-value of the tiles)."""
    found = []
    if user.mfa_method == "authenticator" and authenticator.accounts(user):
        found.append("PhoneAppNotification")
    if user.totp_secret and user.mfa_method in ("authenticator", "totp"):
        found.append("PhoneAppOTP")
    if user.phone:
        found.append("OneWaySMS")
    return found


class MethodForm(FlaskForm):
    method = StringField()


def another_way(flow):
    flow.set(mfa_choice="choosing")
    record(flow.id, "input", "mfa", {"action": "signInAnotherWay"})
    return go_next(flow)


def send_first_push(flow):
    """Arriving at mfa-push: a notification goes to the app, so that the screen's GET only shows it."""
    if authenticator.get_push(flow.get("mfa_push_id")) is None:
        try:
            flow.set(mfa_push_id=authenticator.send_push(flow.user, flow.id).id)
        except attempts.Throttled:
            pass  # the screen says so (its GET tries once more, as a screen reached without arriving would)


@bp.route("/<flow_id>/push", methods=["GET", "POST"])
@screen("mfa-push", entering=send_first_push)
def push(flow):
    form = ActionForm()
    request = authenticator.get_push(flow.get("mfa_push_id"))
    if form.validate_on_submit():
        action = form.action.data
        if action == "signInAnotherWay":
            return another_way(flow)
        if action == "resend":
            try:
                request = authenticator.send_push(flow.user, flow.id)
            except attempts.Throttled:
                record(flow.id, "error", "mfa-push", {"status": "throttled"})
                return render_screen("mfa/push.html", flow, form, error=attempts.message(), push=request,
                                     push_status="throttled")
            flow.set(mfa_push_id=request.id)
            return go_next(flow)
        status = authenticator.status(request)
        if status == "approved":
            mark_mfa_done(flow)
            return go_next(flow)
        error = pushes.text(status, "mfa-push", submitted=True)
        record(flow.id, "error", "mfa-push", {"status": status})
        return render_screen("mfa/push.html", flow, form, error=error, push=request, push_status=status)
    status = None
    if request is None:
        try:
            request = authenticator.send_push(flow.user, flow.id)
            flow.set(mfa_push_id=request.id)
        except attempts.Throttled:
            status = "throttled"
    status = status or authenticator.status(request)
    return render_screen("mfa/push.html", flow, form, error=pushes.text(status, "mfa-push"), push=request,
                         push_status=status)


def otp_kind(flow):
    chosen = {"OneWaySMS": "sms", "PhoneAppOTP": "totp"}.get(flow.get("mfa_choice"))
    return chosen or ("sms" if flow.user.mfa_method == "sms" else "totp")


def send_first_sms(flow):
    """Arriving at mfa-otp by SMS: the code is sent, so that the screen's GET only shows where it went."""
    if otp_kind(flow) == "sms" and flow.user.phone and not flow.get("mfa_sms_sent"):
        try:
            codes.send_sms_code(flow, flow.user.phone, SMS_PURPOSE)
            flow.set(mfa_sms_sent=True)
        except attempts.Throttled:
            pass  # the screen's GET tries once more and shows the refusal


@bp.route("/<flow_id>/otp", methods=["GET", "POST"])
@screen("mfa-otp", entering=send_first_sms)
def otp(flow):
    form = CodeForm()
    user = flow.user
    kind = otp_kind(flow)
    error = info = None
    if kind == "sms" and not user.phone:
        error = _("Aucun numéro de téléphone n'est enregistré pour ce compte. Choisissez une autre méthode.")
    elif form.validate_on_submit():
        action = form.action.data
        if action == "signInAnotherWay":
            return another_way(flow)
        if action == "resend-code" and kind == "sms":
            record(flow.id, "input", "mfa-otp", {"action": "resend-code"})
            try:
                codes.send_sms_code(flow, user.phone, SMS_PURPOSE)
                info = _("Un nouveau code a été envoyé.")
            except attempts.Throttled:
                error = attempts.message()
        else:
            if kind == "sms":
                result = codes.check_sms_code(flow, SMS_PURPOSE, form.otc.data)
            else:
                result = codes.check_totp(user, user.totp_secret, form.otc.data, flow=flow)
            record(flow.id, "input", "mfa-otp", {"otc": "", "kind": kind, "result": result})
            if result == "ok":
                mark_mfa_done(flow)
                return go_next(flow)
            error = codes.error(result, "mfa-otp")
    elif kind == "sms" and not flow.get("mfa_sms_sent"):
        try:
            codes.send_sms_code(flow, user.phone, SMS_PURPOSE)
            flow.set(mfa_sms_sent=True)
        except attempts.Throttled:
            error = attempts.message()
    return render_screen("mfa/otp.html", flow, form, error=error, info=info, kind=kind,
                         masked_phone=codes.masked(user.phone), can_choose=len(methods(user)) > 1)


@bp.route("/<flow_id>/method-choice", methods=["GET", "POST"])
@screen("mfa-method-choice")
def method_choice(flow):
    form = MethodForm()
    available = methods(flow.user)
    error = None
    if form.validate_on_submit():
        chosen = form.method.data
        record(flow.id, "input", "mfa-method-choice", {"method": chosen})
        if chosen == "PhoneAppNotification" and chosen in available:
            flow.set(mfa_choice=chosen)
            flow.drop("mfa_push_id")
            return go_next(flow)
        if chosen in ("PhoneAppOTP", "OneWaySMS") and chosen in available:
            flow.set(mfa_choice=chosen, mfa_sms_sent=False)
            return go_next(flow)
        error = _("Choisissez l'une des méthodes proposées.")
    return render_screen("mfa/method_choice.html", flow, form, error=error, methods=available,
                         masked_phone=codes.masked(flow.user.phone))


@bp.route("/<flow_id>/status")
def status(flow_id):
    """The notification's status, for the page's small polling script."""
    flow = load_flow(flow_id)
    push_id = flow.get("mfa_push_id")
    body = {"push": authenticator.status(authenticator.get_push(push_id)) if push_id else None}
    return jsonify(body)
