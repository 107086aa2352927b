"""Creating the Microsoft account of an invited client: password, profile, email code, captcha (its request, then
the puzzle), tenant consent."""
import re
from datetime import date

from babel.dates import get_month_names
from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.security import generate_password_hash
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import Length

from .. import clock, settings as qa
from ..countries import DEFAULT as DEFAULT_COUNTRY, countries, is_country
from ..devices import attempts, email_codes
from ..i18n import current_locale
from ..journey import captcha
from ..journey.recorder import record
from ..oidc.errors import AADError
from ..trainer import demo
from ..journey.browser import sign_in
from ..journey.flow import deny, go_next
from .screens import render_screen, screen

bp = Blueprint("signup", __name__, url_prefix="/signup")

MIN_PASSWORD = 8
MAX_PASSWORD = 256
MIN_AGE = 13
MIN_YEAR = 1900
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
# The subject the firm's support desk (French) expects, as the guide prints it: not translated.
CAPTCHA_SUPPORT_SUBJECT = "Connexion Espace client - Problème de Capcha"


def month_names(locale):
    """The birth-date month names: the guide's French ones, else CLDR's (babel) for the language."""
    if locale == "fr":
        return MONTHS
    names = get_month_names("wide", locale=locale)
    return tuple(names[month] for month in range(1, 13))


class PasswordForm(FlaskForm):
    new_password = PasswordField(name="new-password", validators=[Length(max=MAX_PASSWORD)])
    show_password = BooleanField(name="show-password")
    # Without JavaScript, "Afficher" re-draws the page with the password in clear.
    apply_show = SubmitField(name="apply-show")


class ProfileForm(FlaskForm):
    country = StringField(name="country", default=DEFAULT_COUNTRY)
    birth_day = StringField(name="birth-day")
    birth_month = StringField(name="birth-month")
    birth_year = StringField(name="birth-year")


class VerifyEmailForm(FlaskForm):
    otc = StringField(name="otc")
    marketing_opt_in = BooleanField(name="marketing-opt-in")


class CaptchaForm(FlaskForm):
    choice = StringField(name="choice")


class TenantConsentForm(FlaskForm):
    accept = SubmitField()
    cancel = SubmitField()


def _signup(flow):
    return dict(flow.get("signup") or {})


# --- signup-password -------------------------------------------------------------------------

def password_problem(password, email):
    """Return the inline error for a new password, or None when Microsoft's rules accept it."""
    if not password:
        return _("Un mot de passe est requis.")
    if len(password) > MAX_PASSWORD:
        return _("Les mots de passe ne peuvent pas comporter plus de %(n)s caractères.", n=MAX_PASSWORD)
    kinds = sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if len(password) < MIN_PASSWORD or kinds < 2:
        return _("Les mots de passe doivent comporter au moins 8 caractères et contenir au moins deux des éléments "
                 "suivants : majuscules, minuscules, chiffres et symboles.")
    email = (email or "").lower()
    local = email.split("@", 1)[0]
    lowered = password.lower()
    if lowered == email or (len(local) >= 3 and local in lowered):
        return _("Votre mot de passe ne peut pas contenir votre adresse e-mail. Choisissez-en un autre.")
    return None


@bp.route("/<flow_id>/password", methods=["GET", "POST"])
@screen("signup-password")
def password(flow):
    form = PasswordForm()
    error = None
    show = bool(form.show_password.data)
    typed = ""
    if form.is_submitted():
        form.validate()
        typed = form.new_password.data or ""
        if form.apply_show.data:
            # Only the "Afficher" button of the page without JavaScript: show what was typed, check nothing yet.
            return render_screen("signup/password.html", flow, form, show=show, typed=typed if show else "")
        record(flow.id, "input", "signup-password", {"new-password": ""})
        error = password_problem(typed, flow.email)
        if error is None:
            method = current_app.config["IDP_PASSWORD_HASH"]
            flow.set(signup={**_signup(flow), "password_hash": generate_password_hash(typed, method=method)})
            return go_next(flow)
        record(flow.id, "error", "signup-password", {"reason": "weak"})
    # Keep the typed password only when the person asked to see it.
    return render_screen("signup/password.html", flow, form, error=error, show=show, typed=typed if show else "")


# --- signup-profile --------------------------------------------------------------------------

def birth_date_problem(day, month, year, today):
    """Return (error kind, message) for a typed birth date, or (None, the date)."""
    day, month, year = (str(v or "").strip() for v in (day, month, year))
    if not (day and month and year):
        return "missing", _("Entrez votre date de naissance complète : jour, mois et année.")
    if not (re.fullmatch(r"[0-9]{1,2}", day) and re.fullmatch(r"[0-9]{1,2}", month) and re.fullmatch(r"[0-9]{4}", year)):
        return "invalid", _("Entrez une date de naissance valide.")
    day, month, year = int(day), int(month), int(year)
    if year < MIN_YEAR:
        return "too_old", _("Entrez une année de naissance valide (%(year)s ou après).", year=MIN_YEAR)
    try:
        born = date(year, month, day)
    except (ValueError, OverflowError):
        return "impossible", _("Cette date n'existe pas. Vérifiez le jour et le mois de votre date de naissance.")
    if born > today:
        return "future", _("Votre date de naissance ne peut pas être dans le futur.")
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE:
        return "too_young", _("Vous devez avoir au moins %(age)s ans pour créer un compte Microsoft. En dessous de "
                              "cet âge, l'accord d'un parent ou tuteur est nécessaire, ce que ce parcours ne permet "
                              "pas : demandez à un parent de vous accompagner ou contactez le support.", age=MIN_AGE)
    return None, born


@bp.route("/<flow_id>/profile", methods=["GET", "POST"])
@screen("signup-profile")
def profile(flow):
    form = ProfileForm()
    error = kind = None
    if form.is_submitted():
        form.validate()
        record(flow.id, "input", "signup-profile", {"country": form.country.data})
        if not is_country(form.country.data or ""):
            kind, error = "country", _("Sélectionnez votre pays ou région.")
        else:
            kind, result = birth_date_problem(form.birth_day.data, form.birth_month.data, form.birth_year.data,
                                              clock.now().date())
            if kind is None:
                flow.set(signup={**_signup(flow), "country": form.country.data, "birth_date": result.isoformat()})
                try:
                    email_codes.issue(flow)
                except attempts.Throttled:
                    pass  # the next screen, finding no code, says to try later
                return go_next(flow)
            error = result
        record(flow.id, "error", "signup-profile", {"reason": kind})
    elif not form.country.data:
        form.country.data = DEFAULT_COUNTRY
    locale = current_locale()
    return render_screen("signup/profile.html", flow, form, error=error, error_kind=kind, countries=countries(locale),
                         months=month_names(locale))


# --- signup-verify-email ---------------------------------------------------------------------

CODE_ERRORS = {
    "format": lambda: _("Entrez le code à 4 chiffres que nous vous avons envoyé par e-mail."),
    "wrong": lambda: _("Ce code ne fonctionne pas. Vérifiez-le et réessayez."),
    "expired": lambda: _("Ce code a expiré. Cliquez sur « réessayez » pour recevoir un nouveau code."),
    "too_many": lambda: _("Trop de tentatives incorrectes : ce code n'est plus valable. Cliquez sur « réessayez » "
                          "pour recevoir un nouveau code."),
    "missing": lambda: _("Aucun code valable n'est en attente. Cliquez sur « réessayez » pour recevoir un "
                         "nouveau code."),
    "throttled": lambda: attempts.message(),
}


@bp.route("/<flow_id>/verify-email", methods=["GET", "POST"])
@screen("signup-verify-email")
def verify_email(flow):
    form = VerifyEmailForm()
    error = kind = None
    if request.method == "GET" and email_codes.current(flow) is None:
        # Resumed at this step without a code (never sent): send one now.
        try:
            email_codes.issue(flow)
        except attempts.Throttled:
            kind, error = "throttled", attempts.message()
    if form.is_submitted():
        form.validate()
        typed = (form.otc.data or "").strip()
        record(flow.id, "input", "signup-verify-email", {"otc": "", "marketing-opt-in": bool(form.marketing_opt_in.data)})
        kind = email_codes.verify(flow, typed) if re.fullmatch(r"[0-9]{4}", typed) else "format"
        if kind == "ok":
            flow.set(signup={**_signup(flow), "email_verified": True,
                             "marketing_opt_in": bool(form.marketing_opt_in.data)})
            return go_next(flow)
        error = CODE_ERRORS[kind]()
        record(flow.id, "error", "signup-verify-email", {"reason": kind})
    notice = _("Nous avons envoyé un nouveau code à %(email)s.", email=flow.email) if request.args.get("resent") else None
    return render_screen("signup/verify_email.html", flow, form, error=error, error_kind=kind, notice=notice)


@bp.route("/<flow_id>/verify-email/resend", methods=["POST"])
@screen("signup-verify-email")
def resend_code(flow):
    form = FlaskForm()
    if form.validate_on_submit():
        record(flow.id, "input", "resend-code", {})
        try:
            email_codes.issue(flow)
        except attempts.Throttled:
            record(flow.id, "error", "signup-verify-email", {"reason": "throttled"})
            return render_screen("signup/verify_email.html", flow, VerifyEmailForm(), error=attempts.message(),
                                 error_kind="throttled", notice=None)
        return redirect(url_for("signup.verify_email", flow_id=flow.id, resent=1))
    return redirect(url_for("signup.verify_email", flow_id=flow.id))


# --- captcha ---------------------------------------------------------------------------------

class CaptchaIntroForm(FlaskForm):
    """"Créer un compte": the guide's request to solve the puzzle, with only Suivant."""


@bp.route("/<flow_id>/captcha-intro", methods=["GET", "POST"])
@screen("captcha-intro")
def captcha_intro(flow):
    form = CaptchaIntroForm()
    if form.validate_on_submit():
        flow.set(signup={**_signup(flow), "captcha_intro_seen": True})
        record(flow.id, "input", "captcha-intro", {"action": "next"})
        return go_next(flow)
    return render_screen("signup/captcha_intro.html", flow, form)


# Endpoint "signup.captcha" (screens.SCREENS); the function's name keeps the captcha module visible.
@bp.route("/<flow_id>/captcha", methods=["GET", "POST"], endpoint="captcha")
@screen("captcha")
def captcha_view(flow):
    form = CaptchaForm()
    mode = qa.captcha_mode()
    state = flow.get(captcha.STATE_KEY)
    if not state or "seed" not in state:
        state = captcha.new_state(rounds=qa.captcha_rounds(), rng=demo.captcha_rng())
        flow.set(**{captcha.STATE_KEY: state})
    error = kind = None
    if form.is_submitted():
        form.validate()
        value = (form.choice.data or "").strip() or None
        if mode == "puzzle" and value is None:
            kind, error = "no_choice", _("Sélectionnez une image pour répondre à l'énigme.")
        else:
            outcome, state = captcha.check(state, value, mode)
            flow.set(**{captcha.STATE_KEY: state})
            record(flow.id, "input", "captcha", {"mode": mode, "outcome": outcome, "round": state["round"]})
            if outcome == "passed":
                create_account(flow)
                return go_next(flow)
            if outcome == "next":
                return redirect(url_for("signup.captcha", flow_id=flow.id))
            kind = outcome
            error = (_("Ce n'est pas la bonne réponse. Une énigme supplémentaire a été ajoutée : veuillez réessayer.")
                     if outcome == "wrong" else
                     _("Nous n'avons pas pu vérifier votre réponse. Veuillez résoudre cette nouvelle énigme."))
    puzzle = captcha.build(state["seed"])
    choices = [(c.value, c.data_uri) for c in puzzle.choices]
    support = captcha_support(flow.tenant) if captcha.show_support(state, mode) else None
    return render_screen("signup/captcha.html", flow, form, error=error, error_kind=kind, mode=mode, state=state,
                         puzzle=puzzle, choices=choices, support=support)


def captcha_support(tenant):
    """The guide's advice when the puzzle "tourne en boucle": who to write to, with which subject (seed data)."""
    extra = tenant.extra or {}
    return {
        "brand": extra.get("brand", tenant.name),
        "email": extra.get("support_email"),
        "phone": extra.get("support_phone"),
        "subject": extra.get("captcha_support_subject", CAPTCHA_SUPPORT_SUBJECT),
    }


def create_account(flow):
    """The captcha passed: the invited person now has a personal Microsoft account (a guest of the tenant)."""
    signup = _signup(flow)
    user = flow.user
    user.password_hash = signup["password_hash"]
    user.country = signup.get("country")
    user.birth_date = date.fromisoformat(signup["birth_date"])
    user.email_verified = True
    user.marketing_opt_in = bool(signup.get("marketing_opt_in"))
    user.idp = "live.com"
    user.failed_logins = 0
    flow.set(account_created=True)
    sign_in(flow, "pwd")
    flow.drop("signup", captcha.STATE_KEY)
    record(flow.id, "account", "created", {"email": user.email, "idp": "live.com"})


# --- tenant-consent --------------------------------------------------------------------------

@bp.route("/<flow_id>/tenant-consent", methods=["GET", "POST"])
@screen("tenant-consent")
def tenant_consent(flow):
    form = TenantConsentForm()
    if form.validate_on_submit():
        if form.cancel.data and not form.accept.data:
            record(flow.id, "input", "tenant-consent", {"answer": "cancel"})
            error = AADError("access_denied", 65004)
            if flow.params:
                return deny(flow, error)
            from .oauth import error_page

            flow.completed_at = clock.now()
            return error_page(error)
        flow.user.tenant_consent_at = clock.now()
        record(flow.id, "input", "tenant-consent", {"answer": "accept"})
        return go_next(flow)
    return render_screen("signup/tenant_consent.html", flow, form)
