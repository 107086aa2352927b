"""« Commencer ici »: prepare a new client whose journey is at a chosen screen, for the presenter view.

The journey decides which screen a flow shows from facts (idp/journey/checks.py); this module creates a new
invited client and an invitation flow of this browser, then gives the facts the client would have given on each
screen before the chosen one (the password, the profile, the email code, the captcha, the consents, the proof-up's
steps), through the same functions the screens use, asking `next_screen` after each one. So the screen guard
accepts the flow as if the client had clicked through, and a screen this cannot reach is refused, never faked.

The Espace Client's pages are reached through the Espace Client itself (its "Se connecter" makes its own
authorization request), once part 1 is done for this browser.
"""
import datetime
import secrets
from urllib.parse import urlencode

from flask import current_app, request, url_for
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .. import clock, invitations, seeds
from ..devices import authenticator, otp
from ..extensions import db
from ..journey.checks import proofup_rewind
from ..journey.flow import evaluate, next_screen
from ..journey.recorder import record
from ..models import Flow, Message, Tenant
from ..journey.browser import current_browser
from .steps import AUTHENTICATOR, SMS, STEPS

# The client the presenter creates: the guide's phone number (its SMS screenshot), a birth date, a password.
PASSWORD = "Formation-Guide-2026"
PHONE = {"dial": "33", "national": "675064572", "e164": "+33675064572"}
BIRTH_DATE = datetime.date(1984, 6, 14)

# The PC screen each phone screen goes with, the branch, and the phone's page.
PHONE_SCREENS = {
    "phone-home": ("proofup-app-qr", AUTHENTICATOR, "phone.home"),
    "phone-authenticator": ("proofup-app-qr", AUTHENTICATOR, "phone.authenticator_app"),
    "phone-add-account": ("proofup-app-qr", AUTHENTICATOR, "phone.add_account"),
    "phone-account-type": ("proofup-app-qr", AUTHENTICATOR, "phone.account_type"),
    "phone-scan": ("proofup-app-qr", AUTHENTICATOR, "phone.scan"),
    "phone-notification": ("proofup-app-try", AUTHENTICATOR, "phone.notification"),
    "phone-messages": ("proofup-sms-code", SMS, "phone.messages"),
}
SMS_SCREENS = {"proofup-method-choice", "proofup-sms-phone", "proofup-sms-code", "proofup-sms-verified"}
# Part 1's IdP screens a new invitation flow goes through (either branch), and part 2's Espace Client entries.
INVITATION_SCREENS = {"email", "signup-password", "signup-profile", "signup-verify-email", "captcha-intro", "captcha",
                      "tenant-consent", "proofup-interrupt", "proofup-app-intro", "proofup-app-setup",
                      "proofup-app-qr", "proofup-app-try", "proofup-app-approved", "proofup-success",
                      *SMS_SCREENS}
CLIENT_SCREENS = {"client-connect", "app-consent"}
MAIL_SCREENS = {"mail-invitation", "mail-code"}


class CannotStart(Exception):
    """The screen cannot be prepared (shown as such in the gallery)."""


def can_start(screen):
    return screen in INVITATION_SCREENS or screen in PHONE_SCREENS or screen in CLIENT_SCREENS or screen in MAIL_SCREENS


def method_of(screen):
    if screen in SMS_SCREENS:
        return SMS
    return PHONE_SCREENS[screen][1] if screen in PHONE_SCREENS else AUTHENTICATOR


def start(screen):
    """Prepare a new client at `screen` in this browser; return (email, method, PC url, phone url or None)."""
    if not can_start(screen) or screen not in STEPS:
        raise CannotStart(screen)
    tenant = _tenant()
    home = espace_client(tenant)
    if screen in CLIENT_SCREENS and not home:
        raise CannotStart(screen)
    method = method_of(screen)
    email = f"formation.{secrets.token_hex(3)}@example.fr"
    user, invitation = invitations.invite(tenant, email, home or url_for("emulator.home", _external=True),
                                          display_name="Client Formation", invited_by="presenter")
    phone_url = url_for("phone.home", key=email)
    if screen == "mail-invitation":
        base = current_app.config.get("IDP_BASE_URL") or request.url_root
        invitations.send_invitation(tenant, invitation, invitations.redeem_url(base.rstrip("/"), invitation))
        db.session.flush()
        return email, method, _mail_url(email), phone_url
    flow = _invitation_flow(invitation)
    if screen in PHONE_SCREENS:
        target, _, endpoint = PHONE_SCREENS[screen]
        advance(flow, user, target, method)
        # The SMS goes to the number typed on proofup-sms-phone: its phone, until the number is the user's.
        phone_url = url_for(endpoint, key=PHONE["e164"] if method == SMS else email)
        return email, method, _screen_url(flow, target), phone_url
    if screen == "mail-code":
        advance(flow, user, "signup-verify-email", method)
        from ..devices import email_codes

        email_codes.issue(flow)
        db.session.flush()
        return email, method, _mail_url(email), phone_url
    if screen in CLIENT_SCREENS:
        advance(flow, user, None, method)  # the whole of part 1: the client is back on the Espace Client
        pc = home if screen == "client-connect" else f"{home}login?{urlencode({'login_hint': email})}"
        return email, method, pc, phone_url
    advance(flow, user, screen, method)
    return email, method, _screen_url(flow, screen), phone_url


def espace_client(tenant):
    """The Espace Client's home ("…/"): the one `up` started beside this IdP (its instance record), else the
    home of the tenant's first confidential app (seed data), else None."""
    from .. import instances

    here = request.host_url.rstrip("/")
    try:
        for record in instances.running():
            if record.get("idp_url", "").rstrip("/") == here and record.get("client_url"):
                return record["client_url"].rstrip("/") + "/"
    except OSError:
        pass
    return seeds.app_home(tenant)


def _tenant():
    tenant = db.session.scalars(select(Tenant).order_by(Tenant.domain)).first()
    if tenant is None:
        raise CannotStart("no tenant")
    return tenant


def _invitation_flow(invitation):
    """What the invitation's link does (graph.redeem): a new flow of this browser for the invitation."""
    browser = current_browser(create=True)
    flow = Flow(browser_id=browser.id, tenant_id=invitation.tenant_id, client_id=None, params={}, state={},
                return_url=invitation.redirect_url or None, invitation_id=invitation.id)
    flow.user = None
    db.session.add(flow)
    db.session.flush()
    return flow


def _screen_url(flow, screen):
    from ..blueprints.screens import SCREENS

    return url_for(SCREENS[screen], flow_id=flow.id)


def _mail_url(email):
    message = db.session.scalars(select(Message).where(Message.to == email, Message.channel == "email")
                                 .order_by(Message.id.desc())).first()
    if message is None:  # still on its way through SMTP: the list, where it shows up
        return url_for("mailbox.index", to=email)
    return url_for("mailbox.message", message_id=message.id, to=email)


def advance(flow, user, target, method):
    """Give, screen after screen, what the client gives there, until the journey is at `target` (None: done)."""
    for _ in range(30):
        check, screen = evaluate(flow)
        if screen == target:
            if screen is not None:
                # The browser is sent there: the recorder shows it as the journey's own redirects do (go_next).
                record(flow.id, "screen", screen, {"check": check.name})
            return
        if screen is None or screen not in FACTS:
            raise CannotStart(target)
        FACTS[screen](flow, user, method)
    raise CannotStart(target)


def _signup(flow, **facts):
    flow.set(signup={**(flow.get("signup") or {}), **facts})


def _email(flow, user, method):
    flow.user_id, flow.email = user.id, user.email
    flow.user = user
    invitations.redeemed_by(flow, user)


def _password(flow, user, method):
    _signup(flow, password_hash=generate_password_hash(PASSWORD, method=current_app.config["IDP_PASSWORD_HASH"]))


def _profile(flow, user, method):
    _signup(flow, country="FR", birth_date=BIRTH_DATE.isoformat())


def _verify_email(flow, user, method):
    _signup(flow, email_verified=True, marketing_opt_in=False)


def _captcha_intro(flow, user, method):
    _signup(flow, captcha_intro_seen=True)


def _captcha(flow, user, method):
    from ..blueprints.signup import create_account

    create_account(flow)


def _tenant_consent(flow, user, method):
    user.tenant_consent_at = clock.now()


def _interrupt(flow, user, method):
    flow.set(proofup={"interrupt_seen": True})


def _progress(flow, new):
    from ..blueprints.proofup import progress

    progress(flow, new)


def _done(**facts):
    """A proof-up step whose "Suivant" only marks it done (with what it gave)."""
    def fact(flow, user, method):
        _progress(flow, {**(flow.get("proofup") or {}), **facts})
    return fact


def _app_intro(flow, user, method):
    current = flow.get("proofup") or {}
    if method == SMS:
        _progress(flow, {**current, "choosing": True, "back_to": "proofup-app-intro"})
    else:
        _progress(flow, {**current, "method": "authenticator", "intro_done": True})


def _method_choice(flow, user, method):
    _progress(flow, proofup_rewind(flow.get("proofup") or {}, "proofup-sms-phone"))


def _app_setup(flow, user, method):
    _progress(flow, {**flow.get("proofup"), "method": "authenticator", "setup_done": True,
                     **authenticator.new_activation(user)})


def _app_qr(flow, user, method):
    """The phone scans the QR code (Authenticator's "+", "Scanner un code QR"), then "Suivant" sends a notification."""
    authenticator.add_account(user, flow.get("proofup")["activation"])
    push = authenticator.send_push(user, flow.id)
    _progress(flow, {**flow.get("proofup"), "push_sent": True, "push_id": push.id})


def _app_try(flow, user, method):
    """The notification is approved on the phone with the number shown."""
    push = authenticator.get_push(flow.get("proofup")["push_id"])
    authenticator.answer_push(user, push.number, True, push.id)
    _progress(flow, {**flow.get("proofup"), "approved": True})


def _sms_phone(flow, user, method):
    from ..blueprints.proofup import SMS_PURPOSE

    otp.send_sms_code(flow, PHONE["e164"], SMS_PURPOSE)
    _progress(flow, {**flow.get("proofup"), "method": "sms", "code_sent": True, "phone": dict(PHONE)})


def _success(flow, user, method):
    """"Terminé": what the success screen does, the method registered and MFA satisfied for this sign-in."""
    from ..blueprints.mfa import mark_mfa_done

    current = flow.get("proofup") or {}
    if current.get("method") == "authenticator":
        user.totp_secret = authenticator.account_for_activation(current.get("activation")).totp_secret
    else:
        user.phone = current["phone"]["e164"]
    user.mfa_method = current.get("method")
    flow.drop("proofup")
    mark_mfa_done(flow, registered=True)
    if next_screen(flow) is None:
        flow.completed_at = clock.now()  # the invitation journey ends: the browser goes back to the Espace Client


FACTS = {
    "email": _email,
    "signup-password": _password,
    "signup-profile": _profile,
    "signup-verify-email": _verify_email,
    "captcha-intro": _captcha_intro,
    "captcha": _captcha,
    "tenant-consent": _tenant_consent,
    "proofup-interrupt": _interrupt,
    "proofup-app-intro": _app_intro,
    "proofup-method-choice": _method_choice,
    "proofup-sms-phone": _sms_phone,
    "proofup-sms-code": _done(sms_verified=True),
    "proofup-sms-verified": _done(method="sms", sms_verified_seen=True),
    "proofup-app-setup": _app_setup,
    "proofup-app-qr": _app_qr,
    "proofup-app-try": _app_try,
    "proofup-app-approved": lambda flow, user, method: _done(
        method="authenticator", approved_seen=True,
        registered_at=clock.now().isoformat(timespec="seconds"))(flow, user, method),
    "proofup-success": _success,
}
