"""Microsoft Authenticator notifications (number matching) as rows: find the pending one, answer it, and what
each place says of its status.

Shared by the screens, the virtual phone and the control API; no Flask request in here.
"""
from flask_babel import gettext
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..i18n import N_
from ..journey.recorder import record
from ..models import PushRequest
from . import attempts

# What each place says of a notification, by status: the sign-in screen (mfa-push), the proof-up screen
# (proofup-app-try) and the phone's app after an answer (phone-notification; "none": nothing was waiting).
# A screen's "pending" text is shown only once the person says they approved (error(…, submitted=True)).
TEXTS = {
    "pending": {
        "mfa-push": N_("Nous n'avons pas encore reçu votre approbation. Entrez le nombre affiché dans l'application "
                       "Microsoft Authenticator et approuvez la demande."),
        "proofup-app-try": N_("Nous n'avons pas encore reçu votre approbation. Approuvez la notification dans "
                              "l'application Microsoft Authenticator, puis cliquez sur « Suivant »."),
    },
    "approved": {"phone-notification": N_("Connexion approuvée.")},
    "denied": {
        "mfa-push": N_("Vous avez refusé la demande de connexion dans l'application. Envoyez une nouvelle demande "
                       "pour réessayer."),
        "proofup-app-try": N_("Vous avez refusé la notification. Renvoyez-la, puis approuvez-la dans l'application."),
        "phone-notification": N_("Demande refusée."),
    },
    "wrong_number": {
        "mfa-push": N_("Le nombre saisi dans l'application ne correspond pas à celui affiché ici. Envoyez une "
                       "nouvelle demande pour réessayer."),
        "proofup-app-try": N_("Le nombre saisi dans l'application ne correspond pas. Renvoyez la notification et "
                              "entrez le nombre affiché à l'écran."),
        "phone-notification": N_("Le nombre ne correspond pas à celui affiché sur l'écran de connexion. La demande "
                                 "a été refusée."),
    },
    "expired": {
        "mfa-push": N_("La demande de connexion a expiré sans réponse. Envoyez une nouvelle demande pour réessayer."),
        "proofup-app-try": N_("La notification a expiré sans réponse. Renvoyez-la, puis approuvez-la dans "
                              "l'application."),
        "phone-notification": N_("Cette demande a expiré."),
    },
    "missing": {
        "mfa-push": N_("Aucune demande n'est en attente. Envoyez une nouvelle demande."),
        "proofup-app-try": N_("Aucune notification n'est en attente. Renvoyez la notification."),
    },
    # Too many wrong numbers for this account (attempts.py): refused, and none is sent for a while. The screens
    # say it in attempts.message()'s words.
    "throttled": {"phone-notification": N_("Trop de nombres incorrects : la demande a été refusée. Réessayez plus "
                                           "tard.")},
    "none": {"phone-notification": N_("Aucune demande en attente.")},
}


def text(status, place, submitted=False):
    """Return what `place` (a screen id) says of a notification's status, translated, or None.

    `submitted`: the person clicked to go on, so a notification still pending is "not yet approved".
    """
    if status == "throttled" and place != "phone-notification":
        return attempts.message()
    if status == "pending" and not submitted:
        return None
    found = TEXTS.get(status, {}).get(place)
    return gettext(found) if found else None


def pending(user):
    """Return the user's newest pending notification that has not expired, or None (reading writes nothing)."""
    return db.session.scalars(select(PushRequest).where(PushRequest.user_id == user.id, PushRequest.status == "pending",
                                                        PushRequest.expires_at > clock.now())
                              .order_by(PushRequest.created_at.desc(), PushRequest.id.desc()).limit(1)).first()


def answer(push, approve, number=None):
    """Approve (with the number typed in the app) or deny a notification; return its new status.

    Numbers typed are counted per account (attempts.py): after a few wrong ones the notification is refused
    ("throttled") and no new one is sent until the cool-down ends.
    """
    now = clock.now()
    if push.expires_at <= now:
        push.status = "expired"
    elif not approve:
        push.status = "denied"
    elif number is not None:
        outcome = attempts.guarded("push_number", attempts.subjects(user_id=push.user_id),
                                   lambda: "ok" if int(number) == push.number else "wrong")[0]
        push.status = {"ok": "approved", "throttled": "throttled"}.get(outcome, "wrong_number")
    else:
        push.status = "approved"
    push.answered_at = clock.now()
    record(push.flow_id, "device", "push-" + push.status.replace("_", "-"))
    return push.status
