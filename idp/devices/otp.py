"""One-time codes of the MFA methods: TOTP (checked against the emulator clock, never twice) and SMS codes.

Every check and every SMS sent is counted per account and flow (attempts.py): a few wrong codes in all,
whatever the number of codes sent, then a cool-down that grows. No Flask request in here: the proof-up and
MFA screens, the phone and the control API share it.
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
from ..models import OneTimeCode, User
from ..trainer import demo
from . import attempts, messages

INTERVAL = 30
DIGITS = 6
SMS_LIFETIME = timedelta(minutes=10)
# Wrong tries per SMS code, below attempts.CODE_LIMIT (per account, across codes): a new code brings no tries.
SMS_MAX_ATTEMPTS = 3
# Translated when sent, in the journey's language.
SMS_TEXT = N_("Utilisez le code de vérification %(code)s pour l'authentification Microsoft.")

# What each screen says of a code refused, by the result of check_totp / check_sms_code: the sign-in screen
# (mfa-otp, TOTP or SMS), the proof-up screens (proofup-totp-qr, proofup-sms-code); "*": every screen.
# "throttled" is said in attempts.message()'s words.
ERRORS = {
    "invalid": {
        "mfa-otp": N_("Entrez le code à 6 chiffres."),
        "proofup-totp-qr": N_("Entrez le code à 6 chiffres affiché dans votre application d'authentification."),
        "proofup-sms-code": N_("Entrez le code à 6 chiffres reçu par SMS."),
    },
    "wrong": {
        "mfa-otp": N_("Vous n'avez pas saisi le code attendu. Réessayez."),
        "proofup-totp-qr": N_("Le code entré ne correspond pas. Vérifiez le code affiché dans votre application et "
                              "réessayez."),
        "proofup-sms-code": N_("Le code entré ne correspond pas. Vérifiez le SMS reçu et réessayez."),
    },
    "reused": {"*": N_("Ce code a déjà été utilisé. Attendez que l'application affiche un nouveau code, puis "
                       "entrez-le.")},
    "expired": {"*": N_("Ce code a expiré. Cliquez sur « Renvoyer le code » pour en recevoir un nouveau.")},
    "locked": {"*": N_("Trop de tentatives incorrectes. Cliquez sur « Renvoyer le code » pour en recevoir un "
                       "nouveau.")},
    "missing": {"*": N_("Aucun code n'est en attente. Cliquez sur « Renvoyer le code ».")},
}


def error(result, screen):
    """Return what `screen` says of a code refused with `result` (check_totp, check_sms_code), translated."""
    if result == "throttled":
        return attempts.message()
    texts = ERRORS[result]
    return gettext(texts.get(screen) or texts["*"])


# --- TOTP (RFC 6238: 6 digits, 30 s, SHA-1) ---------------------------------------------------------

def totp(secret):
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)


def totp_now(secret, at=None):
    """Return (code, seconds left) of a secret at the emulator's time."""
    ts = clock.timestamp() if at is None else at
    return totp(secret).at(ts), INTERVAL - ts % INTERVAL


def current_totp(user):
    """The code the user's authenticator app shows now, at the emulator's clock: {"code", "expires_in"}, or None.

    The secret of the method the user registered, else that of the Authenticator account added last (a
    proof-up in progress). The one reader of a user's TOTP: control API, phone, trainer, pytest plugin, tests.
    """
    from .authenticator import accounts

    secret = user.totp_secret or next((a.totp_secret for a in reversed(accounts(user)) if a.totp_secret), None)
    if not secret:
        return None
    code, left = totp_now(secret)
    return {"code": code, "expires_in": left}


def provisioning_uri(secret, email, issuer):
    return totp(secret).provisioning_uri(name=email, issuer_name=issuer)


def check_totp(user, secret, code, flow=None):
    """Check a TOTP code (±1 step) for a user: "ok", "wrong", "reused", "invalid" (not 6 digits) or "throttled".

    The time step of an accepted code is kept in user.totp_last_step, moved forward by one conditional
    UPDATE: of two sign-ins sending the same code at once, exactly one is accepted.
    """
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return "invalid"

    def compare():
        if not secret:
            return "wrong"
        generator = totp(secret)
        now_step = generator.timecode(clock.timestamp())
        for step in (now_step - 1, now_step, now_step + 1):
            if hmac.compare_digest(code, generator.generate_otp(step)):
                moved = db.session.execute(update(User).where(
                    User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
                ).values(totp_last_step=step))
                return "ok" if moved.rowcount == 1 else "reused"
        return "wrong"

    return attempts.guarded("totp", attempts.subjects(user=user, flow=flow), compare)[0]


# --- SMS codes ------------------------------------------------------------------------------------

def _hash(code, salt):
    return f"{salt}${hashlib.sha256((salt + code).encode()).hexdigest()}"


def _matches(code, stored):
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(_hash(code, salt), stored)


def send_sms_code(flow, number, purpose, user=None):
    """Send a new 6-digit code by SMS to `number` for this flow (older codes for the same purpose stop working).

    Only a hash is stored. Returns the Message, or None when the sms fault drops it. Raises attempts.Throttled
    when this account or flow asked for too many codes, or is cooling down after too many wrong ones.
    """
    attempts.require("sms_send", attempts.subjects(user=user, flow=flow), also_cooling="sms_code")
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
    """Check the code typed for this flow: "ok", "wrong", "expired", "locked", "invalid", "missing" or "throttled"."""
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

    def compare():
        if _matches(code, row.code_hash):
            return "ok" if OneTimeCode.spend(row.id) else "missing"
        return "locked" if OneTimeCode.count_wrong(row.id) >= SMS_MAX_ATTEMPTS else "wrong"

    return attempts.guarded("sms_code", attempts.subjects(flow=flow), compare)[0]


def masked(number):
    """Hide all but the country code and the last two digits, as Microsoft shows the number a code went to."""
    if not number or len(number) < 6:
        return number or ""
    return f"{number[:3]} {'X' * (len(number) - 5)}{number[-2:]}"
