"""What every journey screen shares: the browser session, the flow, the guard against skipping steps."""
import functools

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import lazyload
from werkzeug.routing import BuildError
from wtforms import StringField

from .. import clock
from ..extensions import db
from ..journey import next_screen
from ..journey.recorder import record
from ..models import BrowserSession, Flow, SessionAccount, new_guid
from ..oidc import authorize

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


def current_browser(create=False):
    """Return this browser's session row (the ESTSAUTH cookie), creating it if asked."""
    browser_id = session.get("bsid")
    browser = db.session.get(BrowserSession, browser_id) if browser_id else None
    if browser is None and create:
        browser = BrowserSession(accounts=[])
        db.session.add(browser)
        session["bsid"] = browser.id
    if browser is not None:
        # The browser's accounts are loaded with it: session_account() needs no query in this request.
        g.session_accounts = {(browser.id, a.user_id): a for a in browser.accounts}
        g.accounts_of = browser.id
    return browser


def session_account(flow):
    """Return the SessionAccount of the flow's user in this browser, or None (looked up once per request)."""
    if flow.user_id is None:
        return None
    key = (flow.browser_id, flow.user_id)
    cache = g.setdefault("session_accounts", {})
    if key not in cache:
        if g.get("accounts_of") == flow.browser_id:
            return None  # every account of this browser is in the cache
        cache[key] = db.session.query(SessionAccount).filter_by(browser_id=flow.browser_id, user_id=flow.user_id).first()
    return cache[key]


def renew_browser(flow):
    """Give this browser a new session id at sign-in; the old id no longer names anything (session fixation).

    An ESTSAUTH cookie planted in a victim's browser would otherwise carry the victim's sign-in to whoever
    planted it (prompt=none then yields a code for the victim). The accounts and open flows of the old id
    move to the new one, so the account picker and other tabs carry on.
    """
    old = flow.browser_id
    browser = BrowserSession(accounts=[])
    db.session.add(browser)
    db.session.flush()  # the new row exists before rows point to it
    moved = {"synchronize_session": "evaluate"}  # the flow and accounts already loaded follow
    db.session.execute(update(SessionAccount).where(SessionAccount.browser_id == old).values(browser_id=browser.id),
                       execution_options=moved)
    db.session.execute(update(Flow).where(Flow.browser_id == old).values(browser_id=browser.id), execution_options=moved)
    db.session.execute(delete(BrowserSession).where(BrowserSession.id == old), execution_options=moved)
    session["bsid"] = browser.id
    cache = g.get("session_accounts", {})
    g.session_accounts = {(browser.id if b == old else b, u): a for (b, u), a in cache.items()}
    if g.get("accounts_of") == old:
        g.accounts_of = browser.id
    return browser


def sign_in(flow, amr="pwd"):
    """Mark the flow's user as signed in on this browser (password or account creation), under a new session id."""
    renew_browser(flow)
    account = session_account(flow)
    now = clock.now()
    if account is None:
        # The sid now rather than at the commit's flush, should the journey end in this request (the code carries it).
        account = SessionAccount(browser_id=flow.browser_id, user_id=flow.user_id, sid=new_guid())
        db.session.add(account)
    account.signed_in = True
    account.auth_time = now
    account.last_used_at = now
    account.amr = [amr]
    # A new sign-in: an MFA proved (or a method registered) in an earlier one no longer counts.
    account.mfa_at = None
    account.mfa_registered_at = None
    g.setdefault("session_accounts", {})[(flow.browser_id, flow.user_id)] = account
    return account


@functools.cache
def _flow_with_account():
    """The flow and its user's account in this browser, in one query (session_account() then needs none).

    Built once: every screen request runs it, and building the statement cost more than running it.
    """
    return (select(Flow, SessionAccount)
            .outerjoin(SessionAccount, and_(SessionAccount.browser_id == Flow.browser_id,
                                            SessionAccount.user_id == Flow.user_id))
            .where(Flow.id == bindparam("flow_id"))
            # The account's user and the flow's tenant are the flow's user and their tenant: from the identity map.
            .options(lazyload(SessionAccount.user), lazyload(Flow.tenant)))


def load_flow(flow_id):
    """Return the flow, if it belongs to this browser and is still open; else abort with the error page."""
    row = db.session.execute(_flow_with_account(), {"flow_id": flow_id}).first()
    flow = row[0] if row else None
    if flow is not None and flow.user_id is not None:
        g.setdefault("session_accounts", {})[(flow.browser_id, flow.user_id)] = row[1]
    if flow is None or flow.browser_id != session.get("bsid"):
        abort(404)
    if flow.completed_at is not None:
        abort(410)
    return flow


def go_next(flow):
    """Send the browser to the screen the journey needs now, or finish the flow."""
    account = session_account(flow)
    screen = next_screen(flow, account)
    if screen is None:
        return finish(flow, account)
    db.session.commit()
    return redirect(screen_url(screen, flow))


def screen_url(screen, flow):
    try:
        return url_for(SCREENS[screen], flow_id=flow.id)
    except BuildError:
        current_app.logger.error("screen %s is not served", screen)
        abort(501)


def finish(flow, account):
    """The journey is complete: resume the authorization request, or go where the invitation said."""
    record(flow.id, "journey", "complete")
    if flow.params:
        response = authorize.resume(flow, account)
        record(flow.id, "code", "authorization_code", {"redirect_uri": flow.params.get("redirect_uri")})
        db.session.commit()
        return response
    flow.completed_at = clock.now()
    db.session.commit()
    return redirect(flow.return_url or url_for("emulator.home"))


def screen(screen_id):
    """Decorate a view of one journey screen: load its flow and refuse steps the journey is not at."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(flow_id, **kwargs):
            flow = load_flow(flow_id)
            expected = next_screen(flow, session_account(flow))
            if expected != screen_id:
                # A later step's URL (or an earlier one, after the back button) resumes where the flow is.
                return go_next(flow)
            if request.method == "GET":
                record(flow.id, "screen", screen_id)
                db.session.commit()
            return view(flow, **kwargs)

        wrapper.screen_id = screen_id
        return wrapper

    return decorator


def render_screen(template, flow, form=None, error=None, status=200, **context):
    """Render one screen's template with what the base layout needs."""
    return render_template(template, flow=flow, form=form, error=error, tenant=flow.tenant,
                           user=flow.user, **context), status
