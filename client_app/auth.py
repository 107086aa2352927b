"""Sign-in through the IdP (authorization code, PKCE S256, nonce, state), the CGU, sign-out through the IdP."""
import functools

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from joserfc.errors import JoseError
from sqlalchemy import select
from wtforms import SubmitField

from . import OAUTH, error_page, seed
from .extensions import db
from .models import Account, now

bp = Blueprint("auth", __name__)


def idp():
    """Return the authlib client of the IdP for this app."""
    return current_app.extensions[OAUTH].idp


def redirect_uri():
    return current_app.config["CLIENT_BASE_URL"] + "/auth/callback"


def current_account():
    account_id = session.get("account_id")
    return db.session.get(Account, account_id) if account_id else None


def cgu_version():
    return str(seed.data()["cgu"].get("version", "1"))


def signed_in(view):
    """Require a signed-in client who accepted the current CGU."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        account = current_account()
        if account is None:
            session.pop("account_id", None)
            return redirect(url_for("portal.connect"))
        if account.needs_cgu(cgu_version()):
            return redirect(url_for("auth.cgu"))
        return view(account, *args, **kwargs)

    return wrapper


def unavailable(exc):
    current_app.logger.warning("identity provider unreachable: %s", exc)
    return error_page(503, "Service de connexion indisponible",
                      "Le service de connexion ne répond pas pour le moment. Réessayez dans quelques instants.")


@bp.route("/login")
def login():
    """ "Se connecter": send the browser to the IdP's authorization endpoint."""
    if current_account() is not None:
        return redirect(url_for("portal.dashboard"))
    extra = {k: request.args[k] for k in ("login_hint", "prompt") if request.args.get(k)}
    try:
        return idp().authorize_redirect(redirect_uri(), **extra)
    except (requests.RequestException, ValueError) as exc:
        return unavailable(exc)


def callback_refused(title, message):
    return error_page(400, title, message, retry=True)


@bp.route("/auth/callback")
def callback():
    """The IdP's answer: refuse anything but a fresh code for a state this browser started."""
    args = request.args
    state = args.get("state")
    if args.get("error"):
        if state:
            idp().framework.clear_state_data(session, state)
        description = (args.get("error_description") or "").split("\r\n")[0].split("\n")[0]
        if args["error"] == "access_denied":
            return callback_refused("Connexion annulée",
                                    "Vous avez annulé la connexion ou refusé les autorisations demandées. "
                                    "Vous pouvez recommencer quand vous le souhaitez.")
        return callback_refused("Connexion impossible",
                                f"Le service de connexion a refusé la demande ({args['error']}). {description}".strip())
    if not args.get("code"):
        return callback_refused("Réponse de connexion incomplète",
                                "La réponse du service de connexion ne contient pas de code d'autorisation. "
                                "Recommencez la connexion depuis l'Espace Client.")
    if not state or idp().framework.get_state_data(session, state) is None:
        return callback_refused("Demande de connexion inconnue ou déjà utilisée",
                                "Cette réponse de connexion ne correspond à aucune demande en cours de ce navigateur "
                                "(elle a déjà été utilisée, a expiré, ou ne vient pas de l'Espace Client). "
                                "Recommencez la connexion.")
    try:
        token = idp().authorize_access_token()
    except MismatchingStateError:
        return callback_refused("Demande de connexion inconnue ou déjà utilisée",
                                "Cette réponse de connexion ne correspond à aucune demande en cours. Recommencez la connexion.")
    except OAuthError as exc:
        return callback_refused("Connexion impossible",
                                f"Le service de connexion a refusé le code ({exc.error}). Recommencez la connexion.")
    except (JoseError, AuthlibBaseError, ValueError) as exc:
        current_app.logger.warning("ID token refused: %s", exc)
        return callback_refused("Connexion impossible",
                                "Le jeton d'identité reçu n'est pas valide. Recommencez la connexion.")
    except requests.RequestException as exc:
        return unavailable(exc)
    claims = token.get("userinfo") or {}
    if not claims.get("oid") and not claims.get("sub"):
        return callback_refused("Connexion impossible", "Le jeton d'identité reçu ne désigne aucun utilisateur.")
    account = remember(claims)
    session.clear()
    session["account_id"] = account.id
    session["id_token"] = token.get("id_token")
    if account.needs_cgu(cgu_version()):
        return redirect(url_for("auth.cgu"))
    return redirect(url_for("portal.dashboard"))


def remember(claims):
    """Find or create the client of these ID token claims (oid within tid, as Microsoft advises)."""
    tenant_id = claims.get("tid") or claims.get("iss", "")
    oid = claims.get("oid") or claims["sub"]
    account = db.session.scalar(select(Account).where(Account.tenant_id == tenant_id, Account.oid == oid))
    email = (claims.get("email") or claims.get("preferred_username") or "").lower()
    if account is None:
        known = seed.known_client(email)
        account = Account(tenant_id=tenant_id, oid=oid, company=known.get("company", ""))
        accepted = seed.accepted_on(known)
        if accepted is not None:
            # A client the firm already had: the CGU were accepted before the new sign-in.
            account.cgu_accepted_at, account.cgu_version = accepted, cgu_version()
        db.session.add(account)
    account.email = email or account.email
    account.name = claims.get("name") or account.name or email
    account.last_login_at = now()
    db.session.commit()
    return account


class CguForm(FlaskForm):
    accept = SubmitField("J'accepte")


@bp.route("/cgu", methods=["GET", "POST"])
def cgu():
    """The CGU, accepted once per version by new clients."""
    account = current_account()
    if account is None:
        return redirect(url_for("portal.connect"))
    version = cgu_version()
    if not account.needs_cgu(version):
        return redirect(url_for("portal.dashboard"))
    form = CguForm()
    if form.validate_on_submit():
        account.cgu_version, account.cgu_accepted_at = version, now()
        db.session.commit()
        return redirect(url_for("portal.dashboard"))
    return render_template("cgu.html", form=form, account=account, cgu=seed.data()["cgu"])


@bp.route("/deconnexion", methods=["POST"])
def logout():
    """Sign out here, then at the IdP (end_session_endpoint), and come back to the home page."""
    id_token = session.get("id_token")
    session.clear()
    try:
        return idp().logout_redirect(post_logout_redirect_uri=current_app.config["CLIENT_BASE_URL"] + "/",
                                     id_token_hint=id_token)
    except (requests.RequestException, RuntimeError, ValueError) as exc:
        current_app.logger.warning("IdP logout unavailable: %s", exc)
        return redirect(url_for("portal.connect", deconnecte=1))
