"""The Espace Client's pages: the connect page, the dashboard and its tiles, the contact and appointment forms."""
import datetime
import re
import uuid
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.utils import secure_filename
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

try:  # wtforms >= 3.3 declares options as SelectChoice (tuples are deprecated there)
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older wtforms
    SelectChoice = None

from . import seed
from .auth import current_account, idp, signed_in
from .extensions import db
from .models import AppointmentRequest, ContactRequest, Deposit

bp = Blueprint("portal", __name__)

# The dashboard of the guide: section, tile name, its sentence, the page behind it.
TILES = [
    ("Services", "COFFRE-FORT", "Retrouvez dans cet espace sécurisé à valeur probante l'ensemble des documents émis par Baker Tilly.", "coffre-fort"),
    ("Services", "MES FACTURES", "Accédez à toutes vos factures en ligne", "mes-factures"),
    ("Services", "MESSAGERIE", "Echangez avec vos interlocuteurs privilégiés", "messagerie"),
    ("Services", "AGENDA", "Consultez les échéances fiscales et sociales", "agenda"),
    ("Services", "BANQUE", "Consultez vos écritures bancaires", "banque"),
    ("Services", "DÉPÔT DOC", "Déposez des documents à transmettre à vos interlocuteurs", "depot-doc"),
    ("Applications", "MA COMPTA", "Saisir ou tenir votre comptabilité en ligne", "ma-compta"),
    ("Applications", "MES SALARIÉS", "Pilotez la gestion de votre personnel en toute sécurité", "mes-salaries"),
    ("Applications", "CASH MANAGER", "Déposez vos factures dématérialisées", "cash-manager"),
    ("Applications", "MA FACTURATION", "Une gestion commerciale simple pour vos devis et factures", "ma-facturation"),
]
TILE_BY_SLUG = {slug: (section, name, sentence) for section, name, sentence, slug in TILES}

REQUIRED = "Ce champ est obligatoire."
PHONE = re.compile(r"^(?:(?:\+|00)33\s?|0)[1-9](?:[\s.-]?\d{2}){4}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SUBJECTS = [("", "Choisissez un sujet"), ("comptabilite", "Comptabilité"), ("fiscalite", "Fiscalité"),
            ("social", "Social / paie"), ("juridique", "Juridique"), ("acces", "Accès à l'Espace Client"),
            ("autre", "Autre")]
SLOTS = [("", "Choisissez un créneau"), ("matin", "Le matin (9 h – 12 h)"), ("midi", "Entre 12 h et 14 h"),
         ("apres-midi", "L'après-midi (14 h – 18 h)")]
HOURS = [("", "Choisissez un horaire"), ("09:00", "9 h 00"), ("10:30", "10 h 30"), ("14:00", "14 h 00"),
         ("16:00", "16 h 00")]
MODES = [("", "Choisissez une modalité"), ("cabinet", "Au cabinet"), ("visio", "En visioconférence"),
         ("telephone", "Par téléphone")]
LABELS = {**dict(SUBJECTS), **dict(SLOTS), **dict(HOURS), **dict(MODES)}


def options(pairs):
    """Return (value, label) pairs as the installed wtforms wants select choices."""
    return [SelectChoice(value, label) for value, label in pairs] if SelectChoice else list(pairs)


@bp.route("/")
def connect():
    """Step 2 of the guide: "Connectez-vous à votre Espace Client" (or the dashboard when signed in)."""
    signed_out = False
    state = request.args.get("state")
    if state and idp().framework.get_state_data(session, state) is not None:
        # Back from the IdP's logout (RP-initiated logout with our state).
        idp().framework.clear_state_data(session, state)
        signed_out = True
    if current_account() is not None:
        return redirect(url_for("portal.dashboard"))
    return render_template("connect.html", signed_out=signed_out or bool(request.args.get("deconnecte")))


@bp.route("/tableau-de-bord")
@signed_in
def dashboard(account):
    sections = {}
    for section, name, sentence, slug in TILES:
        sections.setdefault(section, []).append({"name": name, "sentence": sentence, "slug": slug})
    dossier = seed.data()["dossier"]
    unread = sum(1 for m in dossier.get("messages", []) if m.get("unread"))
    return render_template("dashboard.html", account=account, sections=sections, unread=unread)


@bp.route("/espace/<slug>", methods=["GET", "POST"])
@signed_in
def tile(account, slug):
    if slug not in TILE_BY_SLUG:
        abort(404)
    section, name, sentence = TILE_BY_SLUG[slug]
    dossier = seed.data()["dossier"]
    context = dict(account=account, slug=slug, section=section, name=name, sentence=sentence, dossier=dossier)
    if slug == "depot-doc":
        form = DepositForm()
        if form.validate_on_submit():
            store_deposit(account, form)
            return redirect(url_for("portal.tile", slug=slug, depose=1))
        context["form"] = form
        context["deposits"] = db.session.scalars(
            select(Deposit).where(Deposit.account_id == account.id).order_by(Deposit.created_at.desc())).all()
        context["status"] = 400 if form.errors else 200
    return render_template(f"tiles/{slug.replace('-', '_')}.html", **context), context.get("status", 200)


class DepositForm(FlaskForm):
    document = FileField("Document", validators=[FileRequired(message="Choisissez un fichier à déposer.")])
    note = StringField("Commentaire pour votre interlocuteur", validators=[Optional(), Length(max=200, message="200 caractères au plus.")])
    submit = SubmitField("Déposer")


def store_deposit(account, form):
    upload = form.document.data
    folder = Path(current_app.config["CLIENT_DATA_DIR"]) / "deposits"
    folder.mkdir(parents=True, exist_ok=True)
    # A file name has at most 255 bytes on disk: keep the end of a long name (its extension).
    stored = f"{uuid.uuid4().hex}-{secure_filename(upload.filename)[-120:] or 'document'}"
    path = folder / stored
    upload.save(path)
    db.session.add(Deposit(account_id=account.id, filename=(upload.filename or stored)[-255:], stored_as=stored,
                           size=path.stat().st_size, note=form.note.data or ""))
    db.session.commit()


class ContactForm(FlaskForm):
    """ "Être recontacté"."""

    name = StringField("Nom et prénom", validators=[DataRequired(REQUIRED), Length(max=120, message="120 caractères au plus.")])
    phone = StringField("Téléphone", validators=[DataRequired(REQUIRED), Regexp(PHONE, message="Numéro de téléphone invalide (exemple : 06 12 34 56 78).")])
    email = StringField("Adresse e-mail", validators=[DataRequired(REQUIRED), Regexp(EMAIL, message="Adresse e-mail invalide.")])
    subject = SelectField("Sujet", choices=options(SUBJECTS), validators=[DataRequired("Choisissez un sujet.")])
    slot = SelectField("Créneau de rappel souhaité", choices=options(SLOTS), validators=[DataRequired("Choisissez un créneau.")])
    message = TextAreaField("Votre message (facultatif)", validators=[Optional(), Length(max=2000, message="2000 caractères au plus.")])
    submit = SubmitField("Être recontacté")


@bp.route("/etre-recontacte", methods=["GET", "POST"])
@signed_in
def contact(account):
    form = ContactForm()
    if request.method == "GET":
        form.name.data = form.name.data or account.name
        form.email.data = form.email.data or account.email
    if form.validate_on_submit():
        item = ContactRequest(account_id=account.id, name=form.name.data.strip(), phone=form.phone.data.strip(),
                              email=form.email.data.strip().lower(), subject=form.subject.data, slot=form.slot.data,
                              message=(form.message.data or "").strip())
        db.session.add(item)
        db.session.commit()
        return redirect(url_for("portal.contact_sent", request_id=item.id))
    status = 400 if form.errors else 200
    return render_template("contact.html", form=form, account=account), status


@bp.route("/etre-recontacte/<int:request_id>")
@signed_in
def contact_sent(account, request_id):
    item = own_request(ContactRequest, request_id, account)
    return render_template("contact_sent.html", item=item, account=account, labels=LABELS)


def own_request(model, request_id, account):
    """The signed-in client's own request; anyone else's, or none, is a 404."""
    item = db.session.get(model, request_id)
    if item is None or item.account_id != account.id:
        abort(404)
    return item


def next_open_day(day):
    day += datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


class AppointmentForm(FlaskForm):
    """ "Demander un rendez-vous"."""

    day = StringField("Date souhaitée", validators=[DataRequired(REQUIRED)])
    slot = SelectField("Horaire", choices=options(HOURS), validators=[DataRequired("Choisissez un horaire.")])
    mode = SelectField("Modalité", choices=options(MODES), validators=[DataRequired("Choisissez une modalité.")])
    topic = SelectField("Sujet", choices=options(SUBJECTS), validators=[DataRequired("Choisissez un sujet.")])
    message = TextAreaField("Précisions (facultatif)", validators=[Optional(), Length(max=2000, message="2000 caractères au plus.")])
    submit = SubmitField("Demander un rendez-vous")

    def validate_day(self, field):
        try:
            day = datetime.date.fromisoformat((field.data or "").strip())
        except ValueError:
            raise ValidationError("Date invalide (format attendu : AAAA-MM-JJ).") from None
        today = datetime.date.today()
        if day <= today:
            raise ValidationError("Choisissez une date à venir.")
        if day.weekday() >= 5:
            raise ValidationError("Le cabinet est fermé le week-end : choisissez un jour ouvré.")
        if day > today + datetime.timedelta(days=90):
            raise ValidationError("Les rendez-vous se prennent au plus trois mois à l'avance.")
        field.parsed = day


@bp.route("/rendez-vous", methods=["GET", "POST"])
@signed_in
def appointment(account):
    form = AppointmentForm()
    if form.validate_on_submit():
        item = AppointmentRequest(account_id=account.id, day=form.day.parsed, slot=form.slot.data, mode=form.mode.data,
                                  topic=form.topic.data, message=(form.message.data or "").strip())
        db.session.add(item)
        db.session.commit()
        return redirect(url_for("portal.appointment_sent", request_id=item.id))
    status = 400 if form.errors else 200
    first_day = next_open_day(datetime.date.today())
    return render_template("appointment.html", form=form, account=account, first_day=first_day,
                           advisor=seed.data()["dossier"].get("advisor", {})), status


@bp.route("/rendez-vous/<int:request_id>")
@signed_in
def appointment_sent(account, request_id):
    item = own_request(AppointmentRequest, request_id, account)
    return render_template("appointment_sent.html", item=item, account=account, labels=LABELS,
                           advisor=seed.data()["dossier"].get("advisor", {}))
