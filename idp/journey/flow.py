"""The journey of one flow in a request: its facts, the screen that comes next, and how it ends.

`load_flow` finds the browser's open flow; `go_next` runs the checks over the flow's facts and sends the
browser to the screen the first failing check names (recording that check), or `finish`es the journey:
the authorization request resumes and its code goes back to the client. `deny` ends it with an error
for the client; `silent` is prompt=none, where a failing check's own error goes back instead of a screen.
"""
import functools

from flask import abort, current_app, g, redirect, session, url_for
from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.orm import lazyload
from werkzeug.routing import BuildError

from .. import clock
from ..extensions import db
from ..models import AuthenticatorAccount, Client, Consent, Flow, SessionAccount
from .browser import session_account
from .checks import Facts, failing_check
from .recorder import record


def _policy(user):
    """The tenant's MFA policy, unless QA overrode it (PUT /_emulator/api/settings {"mfa": …})."""
    from ..settings import mfa_override

    return mfa_override() or user.tenant.mfa


@functools.cache
def _rows_statement():
    """(the user consented to the app, the user has an Authenticator account), built once (see _flow_with_account).

    Without an app (client_id None) `client_id = NULL` matches no consent.
    """
    consent = exists().where(Consent.user_id == bindparam("user_id"), Consent.client_id == bindparam("client_id"))
    authenticator = exists().where(AuthenticatorAccount.user_id == bindparam("user_id"))
    return select(consent, authenticator)


def _rows(user_id, client_id):
    """(the user consented to the app, the user's app has an account): one query, once per request and user."""
    cache = g.setdefault("journey_rows", {})
    key = (user_id, client_id)
    if key not in cache:
        # On the connection, so no autoflush: a consent given in this flow is in its state; what waits to be
        # written can wait for the commit.
        row = db.session.connection().execute(_rows_statement(), {"user_id": user_id, "client_id": client_id}).one()
        cache[key] = (bool(row[0]) and client_id is not None, bool(row[1]))
    return cache[key]


def load_facts(flow, account, rows=True):
    """The facts the checks decide from: the flow's state and user, this browser's account, and (`rows`) the
    facts of other rows, which cost a query (the first pass of `evaluate` does without them)."""
    user = flow.user
    state = flow.state or {}
    if user is None:
        return Facts(state=state, client_id=flow.client_id)
    consent, authenticator = _rows(user.id, flow.client_id) if rows else (False, False)
    signed_in = account is not None and account.signed_in
    return Facts(
        state=state, client_id=flow.client_id, user_known=True, has_account=user.has_account, invited=user.invited,
        tenant_consent=user.tenant_consent_at is not None, mfa_method=user.mfa_method,
        has_authenticator=bool(authenticator), mfa_policy=_policy(user), signed_in=signed_in,
        mfa_at=account.mfa_at if signed_in else None,
        mfa_registered_at=account.mfa_registered_at if signed_in else None, app_consent=bool(consent))


def evaluate(flow, account=None):
    """Return (failing check, screen) for the flow now, or (None, None) when the journey is complete.

    The facts of other rows are loaded only if the first failing check reads them: the checks before it do not.
    """
    if account is None:
        account = session_account(flow)
    check, screen = failing_check(load_facts(flow, account, rows=False))
    if check is not None and check.reads_rows:
        check, screen = failing_check(load_facts(flow, account))
    return check, screen


def next_screen(flow, account=None):
    """Return the screen the flow must show now, or None when the journey is complete."""
    return evaluate(flow, account)[1]


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


# Screen id -> what arriving there does once (idp.blueprints.screens.screen(…, entering=…)).
ENTERING = {}


def go_next(flow, arriving=True, evaluated=None):
    """Send the browser to the screen the journey needs now, or finish the flow.

    Arriving at a screen is recorded here, with the check that names it, in the request that moved the flow
    (so the screen's own GET writes nothing), and does what the screen needs on arrival. `arriving=False`:
    a GET that only redirects to where the flow already is. `evaluated`: the (check, screen) `evaluate` gave
    for the flow as it is now (the screen guard's), not evaluated again.
    """
    account = session_account(flow)
    check, screen = evaluated or evaluate(flow, account)
    if screen is None:
        return finish(flow, account)
    if arriving:
        record(flow.id, "screen", screen, {"check": check.name})
        if screen in ENTERING:
            ENTERING[screen](flow)
    return redirect(screen_url(screen, flow))


def screen_url(screen, flow):
    from ..blueprints.screens import SCREENS

    try:
        return url_for(SCREENS[screen], flow_id=flow.id)
    except (KeyError, BuildError):
        current_app.logger.error("screen %s is not served", screen)
        abort(501)


def finish(flow, account):
    """The journey is complete: resume the authorization request, or go where the invitation said."""
    from ..oidc import authorize

    record(flow.id, "journey", "complete")
    if flow.params:
        response = authorize.resume(flow, account)
        record(flow.id, "code", "authorization_code", {"redirect_uri": flow.params.get("redirect_uri")})
        return response
    flow.completed_at = clock.now()
    return redirect(flow.return_url or url_for("emulator.home"))


def deny(flow, error):
    """End a flow with an error sent back to the client (consent declined, prompt=none failures)."""
    from ..oidc import authorize, grants

    if flow.get("device_code"):
        grants.decline_device(flow)
        return redirect(url_for("device.done", flow_id=flow.id))
    params = dict(flow.params)
    error.redirect_uri = params.get("redirect_uri") or db.session.get(Client, flow.client_id).get_default_redirect_uri()
    error.state = params.get("state")
    flow.completed_at = clock.now()
    return authorize.error_response(error, params)


def prompt_none_error(check, flow):
    """The error a prompt=none request gets when `check` fails: the one the check names, with AAD's details."""
    from ..oidc.errors import AADError

    if check.error == "consent_required":
        return AADError(check.error, check.code, suberror="consent_required", client_id=flow.client_id,
                        client_name=db.session.get(Client, flow.client_id).name)
    if check.error == "interaction_required":
        return AADError(check.error, check.code, resource=flow.client_id)
    return AADError(check.error, check.code)


def silent(flow):
    """prompt=none: finish at once if no check fails, else send the client the failing check's error."""
    account = session_account(flow)
    check, screen = evaluate(flow, account)
    if screen is None:
        return finish(flow, account)
    record(flow.id, "journey", "prompt-none", {"check": check.name, "error": check.error, "aadsts": check.code})
    return deny(flow, prompt_none_error(check, flow))
