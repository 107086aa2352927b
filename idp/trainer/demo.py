"""Demo mode: the printed guide's values, so that what the room sees matches the client guide.

The one place that knows them. While the setting `demo` is on (`PUT /_emulator/api/settings
{"demo": true}`, the emulator home, `up --demo` / `serve --demo`, a seed's settings.yaml), the
devices draw these values instead of random ones. Nothing else changes: each code is still
issued per journey, stored hashed, single-use and expiring; a wrong code is still refused.
Off by default, and off again as soon as the setting is cleared.

Values the guide shows: the email code 6152 (its screenshot of the mail, received at 15:37) and
the Authenticator notice "Wed, 30 Nov 2022 21:47:55 GMT". The guide shows no SMS code and no
number to match, so these are chosen here: SMS code 246810, number 42.
"""
import datetime
import hashlib
import random

from flask import current_app, has_app_context

from ..models import Setting

SETTING = "demo"
# The guide's 4-digit sign-up code (its screenshot of "Vérifiez votre adresse e-mail").
EMAIL_CODE = "6152"
# Not in the guide (its SMS screenshot hides the code): fixed here.
SMS_CODE = "246810"
# Not in the guide: the 2-digit number the sign-in page shows and the app asks for.
PUSH_NUMBER = 42
# The 9-digit code printed under the activation QR code of proofup-app-qr.
ACTIVATION_CODE = "615261526"
# One captcha round, always the same puzzle (its images, their order, the right one).
CAPTCHA_ROUNDS = 1
CAPTCHA_SEED = 61520221130
# The guide's dates: the mail's time, and the Authenticator notice on proofup-success.
MAIL_TIME = datetime.datetime(2022, 11, 30, 15, 37, 0)
AUTHENTICATOR_REGISTERED = datetime.datetime(2022, 11, 30, 21, 47, 55)
# The phone's status-bar clock and its SMS times.
PHONE_TIME = datetime.datetime(2022, 11, 30, 21, 47, 0)


def active():
    """True while demo mode is on: the setting, else how the server was started (IDP_DEMO, `--demo`)."""
    value = Setting.get(SETTING)
    if value is not None:
        return value is True
    return bool(has_app_context() and current_app.config.get("IDP_DEMO"))


def email_code():
    """The sign-up email code to issue: the guide's in demo mode, else None (draw a random one)."""
    return EMAIL_CODE if active() else None


def sms_code():
    """The SMS code to send: fixed in demo mode, else None (draw a random one)."""
    return SMS_CODE if active() else None


def push_number():
    """The number to match of a new Authenticator notification: fixed in demo mode, else None."""
    return PUSH_NUMBER if active() else None


def captcha_rng():
    """The randomness of a new captcha: seeded in demo mode (the same puzzle each time), else None."""
    return random.Random(CAPTCHA_SEED) if active() else None


def activation(email, index=0):
    """A demo activation for the QR code (the user's index-th app account), or None when demo mode is off.

    The same each run for the same user (stable screenshots), never shared between users or registrations.
    """
    if not active():
        return None
    token = hashlib.sha256(f"idp-emulator demo activation:{email}:{index}".encode()).hexdigest()[:24]
    return {"activation": "demo-" + token, "code": ACTIVATION_CODE}


def shown_time(moment, kind):
    """The time a page prints: the guide's in demo mode (kind "mail", "authenticator" or "phone"), else `moment`."""
    if not active():
        return moment
    return {"mail": MAIL_TIME, "authenticator": AUTHENTICATOR_REGISTERED, "phone": PHONE_TIME}[kind]


def current_codes(user=None):
    """What the presenter view shows beside the journey in demo mode, or None when demo mode is off.

    {"email_code", "sms_code", "push_number", "captcha_rounds"}; with a user, also "totp": the code of
    their Authenticator app right now (TOTP follows the clock, it cannot be fixed), or None.
    """
    if not active():
        return None
    codes = {"email_code": EMAIL_CODE, "sms_code": SMS_CODE, "push_number": PUSH_NUMBER,
             "captcha_rounds": CAPTCHA_ROUNDS}
    if user is not None:
        from ..devices import otp

        totp = otp.current_totp(user)
        codes["totp"] = totp["code"] if totp else None
    return codes
