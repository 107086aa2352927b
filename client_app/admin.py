"""The firm's admin page: invite a client by email through the IdP's invitations API."""
import hmac
import math
from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from . import graph
from .extensions import db
from .config import admin_password_hash
from .models import AdminThrottle, SentInvitation, now
from .portal import EMAIL, REQUIRED

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Graph's invitation statuses (English API values) as the French page shows them.
STATUS_LABELS = {
    "PendingAcceptance": "En attente d'acceptation",
    "InProgress": "En cours",
    "Completed": "Acceptée",
    "Error": "Erreur",
}


@bp.app_template_filter("invitation_status")
def invitation_status(status):
    """Return the French label of a Graph invitation status (an unknown one as Graph sent it)."""
    return STATUS_LABELS.get(status, status)


class AdminLoginForm(FlaskForm):
    password = PasswordField("Mot de passe administrateur", validators=[DataRequired(REQUIRED)])
    submit = SubmitField("Accéder")


class InviteForm(FlaskForm):
    email = StringField("Adresse e-mail du client", validators=[DataRequired(REQUIRED), Regexp(EMAIL, message="Adresse e-mail invalide.")])
    display_name = StringField("Nom affiché (facultatif)", validators=[Optional(), Length(max=120, message="120 caractères au plus.")])
    submit = SubmitField("Envoyer l'invitation")


# Wrong admin passwords: a few are free (typos), then each one doubles the wait, up to 15 minutes.
FREE_FAILURES = 3
MAX_WAIT_SECONDS = 15 * 60
# How long a claimed check holds off other tries: a password check takes far less.
CHECK_SECONDS = 2


def wait_after(failures):
    """Seconds before the next try after `failures` wrong passwords in a row: 0, 0, 0, 2, 4, 8, … 900."""
    return 0 if failures < FREE_FAILURES else min(2 ** (failures - FREE_FAILURES + 1), MAX_WAIT_SECONDS)


def _throttle_row():
    if db.session.get(AdminThrottle, 1) is None:
        try:
            db.session.add(AdminThrottle(id=1, failures=0, next_try_at=now()))
            db.session.commit()
        except IntegrityError:  # another request made it first
            db.session.rollback()


def claim_check():
    """Claim the right to check one password now (one UPDATE: two tries at once never both get it).

    Return 0 when claimed, else the seconds to wait.
    """
    _throttle_row()
    moment = now()
    claimed = db.session.execute(update(AdminThrottle).where(AdminThrottle.id == 1, AdminThrottle.next_try_at <= moment)
                                 .values(next_try_at=moment + timedelta(seconds=CHECK_SECONDS))).rowcount
    db.session.commit()
    if claimed:
        return 0
    row = db.session.get(AdminThrottle, 1)
    return max(1, math.ceil((row.next_try_at - moment).total_seconds()))


def record_check(right):
    """After a claimed check: a right password clears the count, a wrong one makes the next wait longer."""
    row = db.session.get(AdminThrottle, 1)
    db.session.refresh(row)
    row.failures = 0 if right else row.failures + 1
    row.next_try_at = now() + timedelta(seconds=wait_after(row.failures))
    db.session.commit()


def password_is_right(given):
    """CLIENT_ADMIN_PASSWORD when set, else the hash of the password made at first start."""
    expected = current_app.config.get("CLIENT_ADMIN_PASSWORD")
    if expected:
        return hmac.compare_digest(given.encode(), expected.encode())
    stored = admin_password_hash(current_app.config["CLIENT_DATA_DIR"])
    return bool(stored) and check_password_hash(stored, given)


def _sent():
    return db.session.scalars(select(SentInvitation).order_by(SentInvitation.created_at.desc()).limit(50)).all()


@bp.route("/invitations", methods=["GET", "POST"])
def invitations():
    if not session.get("admin"):
        form = AdminLoginForm()
        error = None
        status = 200
        if form.validate_on_submit():
            wait = claim_check()
            if wait:
                error, status = f"Trop de tentatives incorrectes. Réessayez dans {wait} secondes.", 429
            else:
                right = password_is_right(form.password.data)
                record_check(right)
                if right:
                    session["admin"] = True
                    return redirect(url_for("admin.invitations"))
                error = "Mot de passe incorrect."
        if status == 200 and (error or form.errors):
            status = 400
        return render_template("admin/login.html", form=form, error=error), status
    form = InviteForm()
    error = result = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        try:
            result = graph.invite(email, (form.display_name.data or "").strip())
        except graph.InvitationFailed as exc:
            error = str(exc)
        else:
            db.session.add(SentInvitation(invitation_id=result.get("id", ""), email=email,
                                          display_name=result.get("invitedUserDisplayName") or "",
                                          redeem_url=result.get("inviteRedeemUrl", ""), status=result.get("status", "")))
            db.session.commit()
    status = 400 if (error or form.errors) else 200
    return render_template("admin/invitations.html", form=form, error=error, result=result, sent=_sent()), status


@bp.route("/deconnexion", methods=["POST"])
def logout():
    session.pop("admin", None)
    return redirect(url_for("admin.invitations"))
