"""The emulator's own pages under /_emulator/: home with links, the control panel, users and recent journeys; the
journey recorder."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from .. import operations
from .. import settings as qa
from ..extensions import db
from ..journey import timeline
from ..journey.captcha import MAX_ROUNDS, MAX_SET_ROUNDS, MODES as CAPTCHA_MODES
from ..operations import OperationError
from ..models import Client, Flow, Tenant, User
from ..trainer import demo

bp = Blueprint("emulator", __name__, url_prefix="/_emulator")


@bp.app_context_processor
def demo_context():
    """Every page of the IdP (screens, mailbox, phone, emulator pages) says discreetly when it is in demo mode."""
    try:
        on = demo.active()
    except SQLAlchemyError:
        # The error page of a failed database call must still render: it then says nothing about demo mode.
        on = False
    return {"demo_mode": on, "demo_time": demo.shown_time}


@bp.route("/")
def home():
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.domain)).all()
    users = db.session.scalars(select(User).order_by(User.email)).all()
    clients = db.session.scalars(select(Client).order_by(Client.name)).all()
    journeys = timeline.recent(limit=20)
    return render_template("emulator/home.html", tenants=tenants, users=users, clients=clients, journeys=journeys,
                           **panel_forms())


@bp.get("/status")
def status():
    """What another server of the emulator (the Espace Client) asks to say what the IdP's pages say: demo mode."""
    return jsonify({"demo": demo.active()})


@bp.route("/journeys/<flow_id>")
def journey(flow_id):
    """The recorder's timeline of one journey (HTML, or JSON with ?format=json); never a secret."""
    flow = db.session.get(Flow, flow_id)
    if flow is None:
        abort(404)
    data = timeline.export(flow)
    if request.args.get("format") == "json":
        return jsonify(data)
    return render_template("emulator/journey.html", journey=data)


# --- the control panel: the control API's operations as plain forms (CSRF, POST-redirect-GET, no JavaScript) ---

class ResetForm(FlaskForm):
    scenario = SelectField(validators=[DataRequired()])


class InviteForm(FlaskForm):
    email = StringField(validators=[DataRequired()])
    name = StringField()


class SettingForm(FlaskForm):
    value = SelectField()


def setting_choices():
    """Each setting of the panel -> (label, [(form value, shown text)]); "" is null: the default."""
    return {
        "captcha": (_("Mode du captcha"), [(m, m) for m in CAPTCHA_MODES]),
        "captcha_rounds": (_("Étapes du captcha"), [("", _("1 à %(n)s au hasard", n=MAX_ROUNDS))]
                           + [(str(n), str(n)) for n in range(1, MAX_SET_ROUNDS + 1)]),
        "mfa": (_("Politique MFA"), [("", _("celle de l'organisation"))] + [(p, p) for p in qa.MFA_POLICIES]),
        "demo": (_("Mode démo"), [("on", _("activé")), ("off", _("désactivé"))]),
        "language": (_("Langue"), [("", _("celle du navigateur"))] + [(code, code) for code in qa.LANGUAGES]),
    }


def _stored(name, value):
    """The form's value as the setting stores it (the control API's JSON value)."""
    if name == "demo":
        return value == "on"
    if value == "":
        return None
    return int(value) if name == "captcha_rounds" else value


def _shown(name, current):
    if name == "demo":
        return "on" if current else "off"
    return "" if current is None else str(current)


def panel_forms():
    current = qa.current()
    reset = ResetForm(prefix="reset")
    reset.scenario.choices = [(s, s) for s in operations.scenarios()]
    reset.scenario.data = "default"
    settings = {}
    for name, (label, choices) in setting_choices().items():
        form = SettingForm(prefix=name)
        form.value.choices = choices
        form.value.data = _shown(name, current.get(name))
        settings[name] = (label, form)
    return {"reset_form": reset, "invite_form": InviteForm(prefix="invite"), "setting_forms": settings,
            "settings": current}


def _done(message, category="message"):
    flash(message, category)
    return redirect(url_for("emulator.home") + "#panel", code=303)


@bp.post("/panel/reset")
def panel_reset():
    form = ResetForm(prefix="reset")
    form.scenario.choices = [(s, s) for s in operations.scenarios()]
    if not form.validate_on_submit():
        return _done(_("Choisissez un scénario de la liste."), "error")
    try:
        operations.reset(form.scenario.data)
    except OperationError as exc:
        return _done(_("Réinitialisation refusée : %(reason)s", reason=exc.message), "error")
    return _done(_("Émulateur réinitialisé avec le scénario « %(name)s ».", name=form.scenario.data))


@bp.post("/panel/invite")
def panel_invite():
    form = InviteForm(prefix="invite")
    if not form.validate_on_submit():
        return _done(_("Entrez l'adresse e-mail du client à inviter."), "error")
    try:
        user, _invitation, _url, sent = operations.invite(form.email.data.strip(), name=form.name.data or None,
                                                          invited_by="control-panel")
    except OperationError as exc:
        return _done(_("Invitation refusée : %(reason)s", reason=exc.message), "error")
    if sent is False:
        return _done(_("Invitation créée pour %(email)s, mais l'e-mail n'a pas pu être envoyé.", email=user.email),
                     "error")
    return _done(_("Invitation envoyée à %(email)s (voir la boîte mail).", email=user.email))


@bp.post("/panel/settings/<name>")
def panel_setting(name):
    choices = setting_choices()
    if name not in choices:
        abort(404)
    label, options = choices[name]
    form = SettingForm(prefix=name)
    form.value.choices = options
    if not form.validate_on_submit():
        return _done(_("Choisissez une valeur de la liste."), "error")
    try:
        current = operations.change_settings({name: _stored(name, form.value.data)})
    except OperationError as exc:
        return _done(_("Réglage refusé : %(reason)s", reason=exc.message), "error")
    shown = dict(options).get(_shown(name, current.get(name)), form.value.data)
    return _done(_("%(setting)s : %(value)s.", setting=label, value=shown))
