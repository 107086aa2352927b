"""MFA registration ("proof-up"): Microsoft Authenticator, another authenticator app (TOTP) or SMS (journey.md).

The proof-up's progress (which steps are done: facts such as "setup_done", "push_sent", "sms_verified"), the
activation being scanned, the TOTP secret being enrolled and the phone number being verified live in
flow.state["proofup"] (server-side, never in a hidden field); the journey check `mfa_registration_required`
derives the screen from that progress (idp.journey.checks.proofup_screen). A "Retour" undoes the steps since.
"""
import base64
import datetime
from email.utils import format_datetime

import pyotp
from flask import Blueprint, jsonify
from flask_babel import gettext as _
from wtforms import StringField

from .. import clock
from ..countries import calling_codes, dial_codes, region_for_dial_code
from ..devices import attempts, authenticator, otp
from ..devices import push as pushes
from ..i18n import N_, current_locale
from ..journey.checks import proofup_rewind, proofup_screen
from ..journey.recorder import record
from ..oidc.urls import base_url
from ..trainer import demo
from .mfa import mark_mfa_done
from ..journey.flow import go_next, load_flow, next_screen
from .screens import ActionForm, CodeForm, render_screen, screen

bp = Blueprint("proofup", __name__, url_prefix="/proofup")

SMS_PURPOSE = "sms_proofup"
METHOD_LABELS = {"authenticator": N_("Microsoft Authenticator"), "totp": N_("Application d'authentification"),
                 "sms": N_("Téléphone - SMS")}


class MethodChoiceForm(ActionForm):
    method = StringField()


class SmsPhoneForm(ActionForm):
    country_code = StringField(name="country-code", default="33")
    phone_number = StringField(name="phone-number")


def qr_data_uri(text):
    """A real QR code of `text`, made locally, as an SVG data URI for an <img>."""
    import qrcode  # imported on first use: the rest of the server does without it
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def state(flow):
    return dict(flow.get("proofup") or {})


def progress(flow, new):
    """Record the proof-up's new progress (server-side state)."""
    flow.set(proofup=new)
    record(flow.id, "input", "proofup", {"to": proofup_screen(new)})


def done(flow, **facts):
    """Mark a step done (with what it gave), then go wherever the journey says."""
    progress(flow, {**state(flow), **facts})
    return go_next(flow)


def back(flow, screen_id, **changes):
    """Go back to an earlier proof-up screen: its step and the later ones are undone."""
    progress(flow, proofup_rewind({**state(flow), **changes}, screen_id))
    return go_next(flow)


def other_method(flow, back_to):
    """Open the method list; its "Annuler" comes back to `back_to`."""
    progress(flow, {**state(flow), "choosing": True, "back_to": back_to})
    return go_next(flow)


def step_button(flow, action, back_to=None):
    """Where a step's "Retour" (to `back_to`) or "Je veux configurer une autre méthode" button leads, else None."""
    if action == "back" and back_to:
        return back(flow, back_to)
    if action == "other-method":
        # The method list's "Annuler" comes back to this step.
        return other_method(flow, proofup_screen(state(flow)))
    return None


def page(template, flow, form, **context):
    return render_screen(f"proofup/{template}.html", flow, form, show_tenant=True, proofup=state(flow), **context)


@bp.route("/<flow_id>/interrupt", methods=["GET", "POST"])
@screen("proofup-interrupt")
def interrupt(flow):
    form = ActionForm()
    if form.validate_on_submit():
        flow.set(proofup={"interrupt_seen": True})
        record(flow.id, "input", "proofup-interrupt", {"action": "next"})
        return go_next(flow)
    return page("interrupt", flow, form)


@bp.route("/<flow_id>/app-intro", methods=["GET", "POST"])
@screen("proofup-app-intro")
def app_intro(flow):
    form = ActionForm()
    if form.validate_on_submit():
        action = form.action.data
        if action == "other-authenticator-app":
            secret = state(flow).get("totp_secret") or pyotp.random_base32()
            return back(flow, "proofup-totp-qr", totp_secret=secret)
        if (response := step_button(flow, action)) is not None:
            return response
        return done(flow, method="authenticator", intro_done=True)
    return page("app_intro", flow, form)


@bp.route("/<flow_id>/method-choice", methods=["GET", "POST"])
@screen("proofup-method-choice")
def method_choice(flow):
    form = MethodChoiceForm()
    error = None
    if form.validate_on_submit():
        if form.action.data == "cancel":
            return back(flow, state(flow).get("back_to") or "proofup-app-intro")
        if form.method.data == "phone":
            return back(flow, "proofup-sms-phone")
        if form.method.data == "app":
            return back(flow, "proofup-app-intro")
        error = _("Choisissez une méthode dans la liste.")
    return page("method_choice", flow, form, error=error)


@bp.route("/<flow_id>/app-setup", methods=["GET", "POST"])
@screen("proofup-app-setup")
def app_setup(flow):
    form = ActionForm()
    if form.validate_on_submit():
        action = form.action.data
        if (response := step_button(flow, action, back_to="proofup-app-intro")) is not None:
            return response
        current = state(flow)
        if current.get("activation") and authenticator.account_for_activation(current["activation"]) is None:
            return done(flow, method="authenticator", setup_done=True)
        return done(flow, method="authenticator", setup_done=True, **authenticator.new_activation(flow.user))
    return page("app_setup", flow, form)


@bp.route("/<flow_id>/app-qr", methods=["GET", "POST"])
@screen("proofup-app-qr")
def app_qr(flow):
    form = ActionForm()
    error = None
    current = state(flow)
    if not current.get("activation"):
        return done(flow, **authenticator.new_activation(flow.user))
    if form.validate_on_submit():
        action = form.action.data
        if (response := step_button(flow, action, back_to="proofup-app-setup")) is not None:
            return response
        if authenticator.account_for_activation(current.get("activation")) is not None:
            try:
                request = authenticator.send_push(flow.user, flow.id)
            except attempts.Throttled:
                return done(flow, push_sent=True, push_id=None)
            return done(flow, push_sent=True, push_id=request.id)
        error = _("Nous n'avons pas encore détecté l'application. Scannez le code QR avec l'application "
                  "Microsoft Authenticator (« + », « Compte professionnel ou scolaire », « Scanner un code QR »), "
                  "puis cliquez sur « Suivant ».")
        record(flow.id, "error", "proofup-app-qr", {"reason": "not-scanned"})
    uri = authenticator.activation_uri(base_url(), current["activation"], current["code"])
    return page("app_qr", flow, form, error=error, qr=qr_data_uri(uri), activation_uri=uri,
                activation_code=current["code"],
                activation_url=authenticator.activation_url(base_url(), current["activation"]))


@bp.route("/<flow_id>/app-try", methods=["GET", "POST"])
@screen("proofup-app-try")
def app_try(flow):
    form = ActionForm()
    request = authenticator.get_push(state(flow).get("push_id"))
    if form.validate_on_submit():
        action = form.action.data
        if (response := step_button(flow, action, back_to="proofup-app-qr")) is not None:
            return response
        if action == "resend":
            try:
                request = authenticator.send_push(flow.user, flow.id)
            except attempts.Throttled:
                record(flow.id, "error", "proofup-app-try", {"status": "throttled"})
                return page("app_try", flow, form, error=attempts.message(), push=request, push_status="throttled")
            return done(flow, push_id=request.id)
        status = authenticator.status(request)
        if status == "approved":
            return done(flow, approved=True)
        error = pushes.text(status, "proofup-app-try", submitted=True)
        record(flow.id, "error", "proofup-app-try", {"status": status})
        return page("app_try", flow, form, error=error, push=request, push_status=status)
    status = authenticator.status(request)
    return page("app_try", flow, form, error=pushes.text(status, "proofup-app-try"), push=request, push_status=status)


@bp.route("/<flow_id>/app-approved", methods=["GET", "POST"])
@screen("proofup-app-approved")
def app_approved(flow):
    form = ActionForm()
    if form.validate_on_submit():
        if (response := step_button(flow, form.action.data, back_to="proofup-app-try")) is not None:
            return response
        # The time of the "correctement inscrite" notice the next screen shows (guide).
        return done(flow, method="authenticator", approved_seen=True,
                    registered_at=clock.now().isoformat(timespec="seconds"))
    return page("app_approved", flow, form)


@bp.route("/<flow_id>/totp-qr", methods=["GET", "POST"])
@screen("proofup-totp-qr")
def totp_qr(flow):
    form = CodeForm()
    error = None
    current = state(flow)
    secret = current.get("totp_secret")
    if not secret:
        return done(flow, totp_secret=pyotp.random_base32())
    if form.validate_on_submit():
        action = form.action.data
        if (response := step_button(flow, action, back_to="proofup-app-intro")) is not None:
            return response
        result = otp.check_totp(flow.user, secret, form.otc.data, flow=flow)
        record(flow.id, "input", "proofup-totp-qr", {"otc": "", "result": result})
        if result == "ok":
            return done(flow, method="totp", totp_verified=True)
        error = otp.error(result, "proofup-totp-qr")
    uri = otp.provisioning_uri(secret, flow.user.email, flow.tenant.name)
    return page("totp_qr", flow, form, error=error, qr=qr_data_uri(uri), otpauth_uri=uri, secret=secret)


def parse_phone(dial, national):
    """Return (E.164 number, national digits) from the country code and the number typed, or (None, error)."""
    dial = (dial or "").lstrip("+")
    digits = "".join(ch for ch in (national or "") if ch not in " .-()")
    if dial not in dial_codes():
        return None, _("Sélectionnez l'indicatif de votre pays ou région.")
    if not digits:
        return None, _("Entrez un numéro de téléphone.")
    if not (digits.isascii() and digits.isdigit()):
        return None, _("Le numéro de téléphone ne doit contenir que des chiffres.")
    if digits.startswith("0"):
        digits = digits[1:]
    ok = len(digits) == 9 if dial == "33" else 4 <= len(digits) <= 14 and len(dial + digits) <= 15
    if not ok or digits.startswith("0"):
        return None, _("Ce numéro de téléphone ne semble pas valide. Vérifiez-le (sans le 0 initial pour la France : "
                       "9 chiffres, par exemple 612345678).")
    return f"+{dial}{digits}", digits


@bp.route("/<flow_id>/sms-phone", methods=["GET", "POST"])
@screen("proofup-sms-phone")
def sms_phone(flow):
    form = SmsPhoneForm()
    error = None
    if not form.is_submitted() and state(flow).get("phone"):
        form.country_code.data = state(flow)["phone"]["dial"]
        form.phone_number.data = state(flow)["phone"]["national"]
    if form.validate_on_submit():
        action = form.action.data
        if action == "back":
            return other_method(flow, "proofup-app-intro")
        if (response := step_button(flow, action)) is not None:
            return response
        number, national = parse_phone(form.country_code.data, form.phone_number.data)
        record(flow.id, "input", "proofup-sms-phone", {"country-code": form.country_code.data, "valid": bool(number)})
        if number:
            try:
                otp.send_sms_code(flow, number, SMS_PURPOSE)
            except attempts.Throttled:
                number, national = None, attempts.message()
        if number:
            dial = form.country_code.data.lstrip("+")
            return done(flow, method="sms", code_sent=True, phone={"dial": dial, "national": national, "e164": number})
        error = national
    return page("sms_phone", flow, form, error=error, countries=calling_codes(current_locale()),
                chosen_region=region_for_dial_code(form.country_code.data))


@bp.route("/<flow_id>/sms-code", methods=["GET", "POST"])
@screen("proofup-sms-code")
def sms_code(flow):
    form = CodeForm()
    error = info = None
    phone = state(flow).get("phone") or {}
    if not phone:
        return back(flow, "proofup-sms-phone")
    if form.validate_on_submit():
        action = form.action.data
        if (response := step_button(flow, action, back_to="proofup-sms-phone")) is not None:
            return response
        if action == "resend-code":
            record(flow.id, "input", "proofup-sms-code", {"action": "resend-code"})
            try:
                otp.send_sms_code(flow, phone["e164"], SMS_PURPOSE)
                info = _("Un nouveau code a été envoyé.")
            except attempts.Throttled:
                error = attempts.message()
        else:
            result = otp.check_sms_code(flow, SMS_PURPOSE, form.otc.data)
            record(flow.id, "input", "proofup-sms-code", {"otc": "", "result": result})
            if result == "ok":
                return done(flow, sms_verified=True)
            error = otp.error(result, "proofup-sms-code")
    return page("sms_code", flow, form, error=error, info=info, phone=phone)


@bp.route("/<flow_id>/sms-verified", methods=["GET", "POST"])
@screen("proofup-sms-verified")
def sms_verified(flow):
    form = ActionForm()
    if form.validate_on_submit():
        if (response := step_button(flow, form.action.data)) is not None:
            return response
        return done(flow, method="sms", sms_verified_seen=True)
    return page("sms_verified", flow, form, phone=state(flow).get("phone") or {})


@bp.route("/<flow_id>/success", methods=["GET", "POST"])
@screen("proofup-success")
def success(flow):
    form = ActionForm()
    current = state(flow)
    method = current.get("method")
    if form.validate_on_submit():
        user = flow.user
        if method == "authenticator":
            account = authenticator.account_for_activation(current.get("activation"))
            if account is None:
                return back(flow, "proofup-app-qr")
            user.totp_secret = account.totp_secret
        elif method == "totp":
            user.totp_secret = current["totp_secret"]
        elif method == "sms":
            user.phone = current["phone"]["e164"]
        else:
            return back(flow, "proofup-app-intro")
        user.mfa_method = method
        flow.drop("proofup")
        record(flow.id, "input", "proofup-success", {"method": method})
        mark_mfa_done(flow, registered=True)
        return go_next(flow)
    detail = None
    if method == "sms":
        detail = "+{dial} {national}".format(**current["phone"])
    label = _(METHOD_LABELS[method]) if method in METHOD_LABELS else ""
    return page("success", flow, form, method_label=label, method_detail=detail, registered_at=registered_at(current))


def registered_at(current):
    """When the Microsoft Authenticator app was registered, as the guide's notice prints it
    ("Wed, 30 Nov 2022 21:47:55 GMT"), or None for the other methods."""
    if current.get("method") != "authenticator" or not current.get("registered_at"):
        return None
    when = demo.shown_time(datetime.datetime.fromisoformat(current["registered_at"]), "authenticator")
    when = when.replace(tzinfo=datetime.timezone.utc)
    return format_datetime(when, usegmt=True)


@bp.route("/<flow_id>/status")
def status(flow_id):
    """Where this proof-up stands, for the page's small polling script (account scanned, notification answered)."""
    flow = load_flow(flow_id)
    current = state(flow)
    push_status = authenticator.status(authenticator.get_push(current.get("push_id"))) if current.get("push_id") else None
    body = {"screen": next_screen(flow),
            "activated": authenticator.account_for_activation(current.get("activation")) is not None,
            "push": push_status}
    return jsonify(body)
