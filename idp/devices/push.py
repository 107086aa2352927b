"""Microsoft Authenticator notifications (number matching) as rows: find the pending one, answer it.

Shared by the virtual phone and the control API; no Flask request in here.
"""
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..journey.recorder import record
from ..models import PushRequest
from . import attempts


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
