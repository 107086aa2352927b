"""The returning sign-in screens: account-picker, email, password, kmsi, app-consent (journey.md)."""
from flask import Blueprint, session
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Regexp

from .. import clock, invitations
from ..devices import attempts
from ..database import insert_missing
from ..extensions import db
from ..journey.recorder import record
from ..models import Consent, User
from ..oidc.errors import AADError
from ..journey.browser import current_browser, session_account, sign_in
from ..journey.flow import deny, go_next, load_flow
from .screens import render_screen, screen

bp = Blueprint("login", __name__, url_prefix="/login")


class EmailForm(FlaskForm):
    # Spaces around a pasted address are dropped, as a browser's type=email field does.
    loginfmt = StringField(filters=[lambda value: value.strip() if isinstance(value, str) else value],
                           validators=[InputRequired(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")])


class PasswordForm(FlaskForm):
    passwd = PasswordField(validators=[InputRequired(), Length(max=256)])


class PickerForm(FlaskForm):
    upn = HiddenField()


class KmsiForm(FlaskForm):
    DontShowAgain = BooleanField()
    yes = SubmitField()
    no = SubmitField()


class ConsentForm(FlaskForm):
    accept = SubmitField()
    cancel = SubmitField()


@bp.route("/<flow_id>/account-picker", methods=["GET", "POST"])
@screen("account-picker")
def account_picker(flow):
    form = PickerForm()
    browser = current_browser()
    accounts = [a for a in browser.accounts if a.user.tenant_id == flow.tenant_id] if browser else []
    if form.validate_on_submit():
        upn = (form.upn.data or "").strip().lower()
        chosen = next((a for a in accounts if a.user.email == upn), None)
        if upn == "other" or chosen is None:
            flow.set(picker=False)
            record(flow.id, "input", "account-picker", {"choice": "other"})
        else:
            flow.user_id, flow.email = chosen.user_id, chosen.user.email
            flow.set(picker=False)
            record(flow.id, "input", "account-picker", {"choice": upn})
        db.session.flush()
        db.session.refresh(flow)
        return go_next(flow)
    return render_screen("login/account_picker.html", flow, form, accounts=accounts)


@bp.route("/<flow_id>/email", methods=["GET", "POST"])
@screen("email")
def email(flow):
    form = EmailForm()
    error = None
    if form.is_submitted():
        typed = (form.loginfmt.data or "").strip()
        record(flow.id, "input", "email", {"loginfmt": typed})
        if not form.validate():
            error = _("Entrez une adresse e-mail, un numéro de téléphone ou un nom Skype valide.")
        else:
            user = User.by_email(typed)
            if user is None or user.tenant_id != flow.tenant_id:
                error = _("Nous n'avons pas trouvé de compte avec ce nom d'utilisateur. "
                          "Entrez un autre compte ou obtenez-en un nouveau.")
                flow.email = typed.lower()
                return render_screen("login/email.html", flow, form, error=error, code=50034, status=200)
            if flow.invitation_id and not invitations.redeemed_by(flow, user):
                # An invitation's journey is for the address it was sent to: not another account of the tenant.
                error = _("Cette invitation a été envoyée à une autre adresse e-mail. Entrez l'adresse sur laquelle "
                          "vous avez reçu l'e-mail de %(brand)s.", brand=invitations.branding(flow.tenant)["brand"])
                record(flow.id, "error", "email", {"reason": "not-the-invited-address"})
                flow.email = typed.lower()
                return render_screen("login/email.html", flow, form, error=error, code=None, status=200)
            flow.user_id, flow.email = user.id, user.email
            db.session.flush()
            db.session.refresh(flow)
            return go_next(flow)
    return render_screen("login/email.html", flow, form, error=error, code=None)


@bp.route("/<flow_id>/password", methods=["GET", "POST"])
@screen("password")
def password(flow):
    form = PasswordForm()
    user = flow.user
    error = code = None
    if form.is_submitted():
        record(flow.id, "input", "password", {"passwd": ""})
        if user.is_locked():
            error, code = locked_message(), 50053
        elif not form.validate():
            error = _("Entrez votre mot de passe.")
        elif (result := attempts.check_password(user, form.passwd.data)) != "ok":
            if result == "locked" or user.is_locked():
                error, code = locked_message(), 50053
            else:
                error, code = _("Votre compte ou mot de passe est incorrect. Si vous ne vous souvenez pas de "
                                "votre mot de passe, réinitialisez-le maintenant."), 50126
            record(flow.id, "error", "password", {"code": code})
        else:
            sign_in(flow, "pwd")
            flow.set(password_ok=True, force_login=False)
            return go_next(flow)
    return render_screen("login/password.html", flow, form, error=error, code=code)


def locked_message():
    return _("Votre compte est temporairement verrouillé pour empêcher toute utilisation non autorisée. "
             "Réessayez plus tard et, si vous rencontrez toujours des problèmes, contactez votre administrateur.")


@bp.route("/<flow_id>/kmsi", methods=["GET", "POST"])
@screen("kmsi")
def kmsi(flow):
    form = KmsiForm()
    if form.validate_on_submit():
        stay = bool(form.yes.data) and not form.no.data
        account = session_account(flow)
        account.kmsi = stay
        session.permanent = stay
        flow.set(kmsi=stay)
        record(flow.id, "input", "kmsi", {"answer": "yes" if stay else "no"})
        return go_next(flow)
    return render_screen("login/kmsi.html", flow, form)


@bp.route("/<flow_id>/app-consent", methods=["GET", "POST"])
@screen("app-consent")
def app_consent(flow):
    from ..models import Client

    form = ConsentForm()
    client = db.session.get(Client, flow.client_id)
    if form.validate_on_submit():
        if form.cancel.data and not form.accept.data:
            record(flow.id, "input", "app-consent", {"answer": "cancel"})
            return deny(flow, AADError("access_denied", 65004))
        # The same user may consent from two browsers at once: the database keeps one row, never a 500.
        insert_missing(Consent, ("user_id", "client_id"), user_id=flow.user_id, client_id=flow.client_id, scopes=[])
        consent = db.session.scalars(select(Consent).filter_by(user_id=flow.user_id, client_id=flow.client_id)
                                     .execution_options(populate_existing=True)).one()
        # Consent adds up, as Microsoft's: what the app was granted before stays granted.
        known = list(consent.scopes or [])
        consent.scopes = known + [s for s in (flow.params.get("scope") or "").split() if s not in known]
        consent.granted_at = clock.now()
        flow.set(app_consent="granted")
        record(flow.id, "input", "app-consent", {"answer": "accept"})
        return go_next(flow)
    return render_screen("login/app_consent.html", flow, form, client=client)


@bp.route("/<flow_id>/switch", methods=["POST"])
def switch_account(flow_id):
    """The back arrow beside the email: choose another account for the same request."""
    flow = load_flow(flow_id)
    form = FlaskForm()
    if form.validate_on_submit():
        flow.user_id, flow.email = None, None
        keep = {k: v for k, v in flow.state.items() if k in ("force_login", "force_consent")}
        flow.state = keep
        db.session.flush()
        db.session.refresh(flow)
        record(flow.id, "input", "switch-account", {})
    return go_next(flow)
