"""The firm's admin page: invite a client by email through the IdP's invitations API."""
import hmac

from flask import Blueprint, current_app, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from . import graph
from .extensions import db
from .models import SentInvitation
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


def _sent():
    return db.session.scalars(select(SentInvitation).order_by(SentInvitation.created_at.desc()).limit(50)).all()


@bp.route("/invitations", methods=["GET", "POST"])
def invitations():
    if not session.get("admin"):
        form = AdminLoginForm()
        error = None
        if form.validate_on_submit():
            expected = current_app.config["CLIENT_ADMIN_PASSWORD"]
            if hmac.compare_digest(form.password.data.encode(), expected.encode()):
                session["admin"] = True
                return redirect(url_for("admin.invitations"))
            error = "Mot de passe incorrect."
        status = 400 if (error or form.errors) else 200
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
