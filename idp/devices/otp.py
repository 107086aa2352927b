"""One-time codes of the MFA methods: TOTP (checked against the emulator clock, never twice) and SMS codes.

No Flask request in here: the proof-up and MFA screens, the phone and the control API share it.
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from flask_babel import gettext
from sqlalchemy import select, update

from .. import clock
from ..extensions import db
from ..i18n import N_
from ..models import OneTimeCode
from ..trainer import demo
from . import messages

INTERVAL = 30
DIGITS = 6
SMS_LIFETIME = timedelta(minutes=10)
SMS_MAX_ATTEMPTS = 5
# Translated when sent, in the journey's language.
SMS_TEXT = N_("Utilisez le code de vérification %(code)s pour l'authentification Microsoft.")


# --- TOTP (RFC 6238: 6 digits, 30 s, SHA-1) ---------------------------------------------------------

def totp(secret):
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)


def totp_now(secret, at=None):
    """Return (code, seconds left) of a secret at the emulator's time."""
    ts = clock.timestamp() if at is None else at
    return totp(secret).at(ts), INTERVAL - ts % INTERVAL


def provisioning_uri(secret, email, issuer):
    return totp(secret).provisioning_uri(name=email, issuer_name=issuer)


def check_totp(user, secret, code):
    """Check a TOTP code (±1 step) for a user: "ok", "wrong", "reused" or "invalid" (not 6 digits).

    The time step of an accepted code is kept in user.extra so the same code never works twice.
    """
    code = (code or "").replace(" ", "")
    if not secret:
        return "wrong"
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return "invalid"
    generator = totp(secret)
    now_step = generator.timecode(clock.timestamp())
    last = int((user.extra or {}).get("totp_last_step", -1))
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(code, generator.generate_otp(step)):
            if step <= last:
                return "reused"
            user.extra = {**(user.extra or {}), "totp_last_step": step}
            return "ok"
    return "wrong"


# --- SMS codes ------------------------------------------------------------------------------------

def _hash(code, salt):
    return f"{salt}${hashlib.sha256((salt + code).encode()).hexdigest()}"


def _matches(code, stored):
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_hash(code, salt), stored)


def send_sms_code(flow, number, purpose, user=None):
    """Send a new 6-digit code by SMS to `number` for this flow (older codes for the same purpose stop working).

    Only a hash is stored. Returns the Message, or None when the sms fault drops it.
    """
    now = clock.now()
    db.session.execute(update(OneTimeCode).where(
        OneTimeCode.flow_id == flow.id, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None),
    ).values(used_at=now))
    code = demo.sms_code() or f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
    db.session.add(OneTimeCode(flow_id=flow.id, user_id=user.id if user else flow.user_id, purpose=purpose,
                               destination=number, code_hash=_hash(code, secrets.token_hex(8)), created_at=now,
                               expires_at=now + SMS_LIFETIME))
    return messages.send_sms(number, gettext(SMS_TEXT, code=code), code=code, flow_id=flow.id)


def check_sms_code(flow, purpose, code):
    """Check the code typed for this flow: "ok", "wrong", "expired", "locked", "invalid" or "missing"."""
    code = (code or "").replace(" ", "")
    row = db.session.scalar(select(OneTimeCode).where(
        OneTimeCode.flow_id == flow.id, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None),
    ).order_by(OneTimeCode.id.desc()))
    if row is None:
        return "missing"
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return "invalid"
    if row.expires_at <= clock.now():
        return "expired"
    if row.attempts >= SMS_MAX_ATTEMPTS:
        return "locked"
    if not _matches(code, row.code_hash):
        row.attempts += 1
        return "locked" if row.attempts >= SMS_MAX_ATTEMPTS else "wrong"
    row.used_at = clock.now()
    return "ok"


def masked(number):
    """Hide all but the country code and the last two digits, as Microsoft shows the number a code went to."""
    if not number or len(number) < 6:
        return number or ""
    return f"{number[:3]} {'X' * (len(number) - 5)}{number[-2:]}"
