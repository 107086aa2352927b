"""The Microsoft Authenticator app of the virtual phone: activation by QR code, notifications with number matching.

Plain functions over the models (no Flask request): the phone pages, the proof-up and MFA screens and the
control API call them.
"""
import secrets

import pyotp
from sqlalchemy import select

from .. import clock
from .. import settings as qa
from ..extensions import db
from ..journey.checks import proofup_screen
from ..journey.recorder import record
from ..models import AuthenticatorAccount, Flow, PushRequest
from ..trainer import demo
from . import attempts, push

QR_SCREEN = "proofup-app-qr"
# A notification the push fault "timeout" keeps from the phone: it only expires.
UNDELIVERED = "undelivered"


# --- activation (proofup-app-qr) ------------------------------------------------------------------

def new_activation(user=None):
    """Return a fresh activation: the token the QR carries and the 9-digit code shown under it.

    In demo mode it is fixed per user and per app account already added, so the QR code looks the same in
    every run from the same seed, and a second registration still gets a QR code of its own.
    """
    fixed = demo.activation(user.email, len(accounts(user))) if user is not None else None
    return fixed or {"activation": secrets.token_urlsafe(18), "code": f"{secrets.randbelow(10 ** 9):09d}"}


def activation_url(base_url, activation):
    return f"{base_url}/_emulator/phone/activate/{activation}"


def activation_uri(base_url, activation, code):
    """The string the QR code of proofup-app-qr encodes (Microsoft's form: phonefactor://activate_account)."""
    return f"phonefactor://activate_account?code={code}&url={activation_url(base_url, activation)}"


def open_flow_at_qr(user):
    """Return the user's open flow that shows the activation QR code right now, or None."""
    flows = db.session.scalars(select(Flow).where(Flow.user_id == user.id, Flow.completed_at.is_(None))
                               .order_by(Flow.updated_at.desc(), Flow.created_at.desc())).all()
    for flow in flows:
        proofup = flow.get("proofup") or {}
        if proofup and proofup_screen(proofup) == QR_SCREEN and proofup.get("activation"):
            return flow
    return None


def account_for_activation(activation):
    if not activation:
        return None
    return db.session.scalar(select(AuthenticatorAccount).where(AuthenticatorAccount.activation == activation))


def add_account(user, activation):
    """Add the account of an activation to the user's app (idempotent); return it."""
    account = account_for_activation(activation)
    if account is None:
        account = AuthenticatorAccount(user_id=user.id, activation=activation, totp_secret=pyotp.random_base32(),
                                       added_at=clock.now())
        db.session.add(account)
        db.session.flush()
    return account


def add_account_from_qr(user):
    """The phone's camera sees the QR shown to this user on proofup-app-qr: add that account, or None if no QR."""
    flow = open_flow_at_qr(user)
    if flow is None:
        return None
    account = add_account(user, flow.get("proofup")["activation"])
    record(flow.id, "device", "authenticator-account-added")
    return account


def activate(activation, code):
    """What the real app does with the QR's URL: add the account if the activation and its code match."""
    flows = db.session.scalars(select(Flow).where(Flow.completed_at.is_(None))
                               .order_by(Flow.updated_at.desc()).limit(500)).all()
    for flow in flows:
        proofup = flow.get("proofup") or {}
        if proofup.get("activation") == activation and proofup_screen(proofup) == QR_SCREEN and flow.user is not None:
            if str(code or "") != proofup.get("code"):
                return None
            return add_account(flow.user, activation)
    return None


def accounts(user):
    return db.session.scalars(select(AuthenticatorAccount).where(AuthenticatorAccount.user_id == user.id)
                              .order_by(AuthenticatorAccount.added_at, AuthenticatorAccount.id)).all()


def account_secret(account):
    return account.totp_secret or account.user.totp_secret


# --- notifications (number matching) --------------------------------------------------------------

def send_push(user, flow_id=None):
    """Send a new notification to the user's app with a 2-digit number to match; older pending ones expire.

    Raises attempts.Throttled when too many were sent, or too many wrong numbers typed, for this account.
    """
    attempts.require("push_send", attempts.subjects(user=user), also_cooling="push_number")
    now = clock.now()
    for old in db.session.scalars(select(PushRequest).where(PushRequest.user_id == user.id,
                                                            PushRequest.status.in_(("pending", UNDELIVERED)))):
        old.status = "expired"
    lost = qa.faults().get("push") == "timeout"
    request = PushRequest(user_id=user.id, flow_id=flow_id, number=demo.push_number() or 10 + secrets.randbelow(90),
                          status=UNDELIVERED if lost else "pending", created_at=now,
                          expires_at=now + PushRequest.LIFETIME)
    db.session.add(request)
    db.session.flush()
    record(flow_id, "device", "push-sent" if not lost else "push-not-delivered")
    return request


def status(request):
    """Return a notification's status: "expired" once its time is up unanswered (reading writes nothing)."""
    if request is None:
        return "missing"
    if request.status in ("pending", UNDELIVERED) and request.expires_at <= clock.now():
        return "expired"
    return "pending" if request.status == UNDELIVERED else request.status


def get_push(push_id):
    return db.session.get(PushRequest, push_id) if push_id else None


def answer_push(user, number, approve, push_id=None):
    """Answer the pending notification from the app: approve with the typed number, or deny.

    Returns the notification (status approved | denied | wrong_number | expired), or None if none waits.
    """
    request = push.pending(user)
    if request is None or (push_id is not None and str(request.id) != str(push_id)):
        return None
    typed = str(number).strip() if number is not None else ""
    push.answer(request, approve, int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 3 else -1)
    return request
