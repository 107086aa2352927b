"""What every journey screen shares: its template, its forms, and the guard against skipping steps.

Which screen comes next is the journey's business (idp.journey): a screen's view calls `go_next` after its input.
"""
import functools

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import StringField

from ..journey.flow import ENTERING, evaluate, go_next, load_flow
from ..journey.browser import session_account

# Screen id (journey.md) -> endpoint. One template per screen, named after the endpoint.
SCREENS = {
    "account-picker": "login.account_picker",
    "email": "login.email",
    "password": "login.password",
    "kmsi": "login.kmsi",
    "app-consent": "login.app_consent",
    "signup-password": "signup.password",
    "signup-profile": "signup.profile",
    "signup-verify-email": "signup.verify_email",
    "captcha-intro": "signup.captcha_intro",
    "captcha": "signup.captcha",
    "tenant-consent": "signup.tenant_consent",
    "proofup-interrupt": "proofup.interrupt",
    "proofup-app-intro": "proofup.app_intro",
    "proofup-method-choice": "proofup.method_choice",
    "proofup-app-setup": "proofup.app_setup",
    "proofup-app-qr": "proofup.app_qr",
    "proofup-app-try": "proofup.app_try",
    "proofup-app-approved": "proofup.app_approved",
    "proofup-totp-qr": "proofup.totp_qr",
    "proofup-sms-phone": "proofup.sms_phone",
    "proofup-sms-code": "proofup.sms_code",
    "proofup-sms-verified": "proofup.sms_verified",
    "proofup-success": "proofup.success",
    "mfa-push": "mfa.push",
    "mfa-otp": "mfa.otp",
    "mfa-method-choice": "mfa.method_choice",
}


class ActionForm(FlaskForm):
    """A screen whose buttons each submit their `action` (next, back, other-method, resend, …)."""

    action = StringField()


class CodeForm(ActionForm):
    """A screen that asks for a one-time code (`otc`), beside its buttons."""

    otc = StringField()


def screen(screen_id, entering=None):
    """Decorate a view of one journey screen: load its flow and refuse steps the journey is not at.

    The screen's GET writes nothing: the journey recorded it when it sent the browser there (go_next), and
    `entering(flow)`, if given, does then what the screen needs done once on arrival (send a notification).
    """
    if entering is not None:
        ENTERING[screen_id] = entering

    def decorator(view):
        @functools.wraps(view)
        def wrapper(flow_id, **kwargs):
            flow = load_flow(flow_id)
            check, expected = evaluate(flow, session_account(flow))
            if expected != screen_id:
                # A later step's URL (or an earlier one, after the back button) resumes where the flow is; a GET
                # only redirects there (the screen was recorded when the flow reached it).
                return go_next(flow, arriving=request.method != "GET", evaluated=(check, expected))
            return view(flow, **kwargs)

        wrapper.screen_id = screen_id
        return wrapper

    return decorator


def render_screen(template, flow, form=None, error=None, status=200, **context):
    """Render one screen's template with what the base layout needs."""
    return render_template(template, flow=flow, form=form, error=error, tenant=flow.tenant,
                           user=flow.user, **context), status
