"""The 4-digit code that confirms the email of a new Microsoft account: issued hashed, checked, mailed.

A code allows MAX_ATTEMPTS tries; the account and the flow allow attempts.CODE_LIMIT wrong codes in all,
whatever the number of codes sent (attempts.py), so sending a new code never brings back tries.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..i18n import N_
from ..models import OneTimeCode
from ..trainer import demo
from . import attempts
from .messages import send_email

PURPOSE = "email_verify"
LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 3
DIGITS = 4
# Translated when sent, in the journey's language.
SENDER = N_("Équipe des comptes Microsoft <account-security-noreply@accountprotection.microsoft.com>")
SUBJECT = N_("Vérifiez votre adresse e-mail")


def _hash(flow_id, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{PURPOSE}:{flow_id}:{code}".encode(), hashlib.sha256).hexdigest()


def current(flow):
    """Return the newest email code issued for this flow, or None."""
    return db.session.scalar(
        select(OneTimeCode).where(OneTimeCode.flow_id == flow.id, OneTimeCode.purpose == PURPOSE)
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1)
    )


def issue(flow):
    """Create a new code for the flow's email (the previous one stops counting) and mail it.

    Raises attempts.Throttled when this account or flow has asked for too many codes, or is cooling down
    after too many wrong ones.
    """
    attempts.require("email_send", attempts.subjects(flow=flow), also_cooling="email_code")
    code = demo.email_code() or f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
    now = clock.now()
    db.session.add(OneTimeCode(flow_id=flow.id, user_id=flow.user_id, purpose=PURPOSE, destination=flow.email,
                               code_hash=_hash(flow.id, code), created_at=now, expires_at=now + LIFETIME))
    html = render_template("signup/email_verify_mail.html", code=code)
    text = render_template("signup/email_verify_mail.txt", code=code)
    send_email(flow.email, _(SUBJECT), text, html=html, sender=_(SENDER), code=code, flow_id=flow.id, links=[])
    db.session.flush()
    return code


def verify(flow, typed):
    """Check a typed code; return "ok", "wrong", "expired", "too_many", "missing" or "throttled"."""
    row = current(flow)
    if row is None or row.used_at is not None:
        return "missing"
    if row.attempts >= MAX_ATTEMPTS:
        return "too_many"
    if row.expires_at <= clock.now():
        return "expired"

    def compare():
        if hmac.compare_digest(row.code_hash, _hash(flow.id, typed)):
            return "ok" if OneTimeCode.spend(row.id) else "missing"
        return "too_many" if OneTimeCode.count_wrong(row.id) >= MAX_ATTEMPTS else "wrong"

    return attempts.guarded("email_code", attempts.subjects(flow=flow), compare)[0]
