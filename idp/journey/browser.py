"""This browser's session (the ESTSAUTH cookie): its row, its signed-in accounts, a new id at each sign-in."""
import functools

from flask import g, session
from sqlalchemy import bindparam, delete, insert, inspect, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..extensions import db
from ..models import BrowserSession, Flow, SessionAccount, new_guid, new_id


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


@functools.cache
def _renewal():
    """The four statements that move a browser to a new id (built once: building them cost more than running them)."""
    browsers, accounts, flows = BrowserSession.__table__, SessionAccount.__table__, Flow.__table__
    return (insert(browsers).values(id=bindparam("new"), created_at=bindparam("now")),
            update(accounts).where(accounts.c.browser_id == bindparam("old")).values(browser_id=bindparam("new")),
            update(flows).where(flows.c.browser_id == bindparam("old"))
            .values(browser_id=bindparam("new"), updated_at=bindparam("now")),
            delete(browsers).where(browsers.c.id == bindparam("old")))


def renew_browser(flow):
    """Give this browser a new session id at sign-in; the old id no longer names anything (session fixation).

    An ESTSAUTH cookie planted in a victim's browser would otherwise carry the victim's sign-in to whoever
    planted it (prompt=none then yields a code for the victim). The accounts and open flows of the old id
    move to the new one, so the account picker and other tabs carry on. Returns the new id.
    """
    old, new, now = flow.browser_id, new_id(), clock.now()
    if db.session.new:
        db.session.flush()  # rows added in this request (a browser, a flow) exist before they move
    connection = db.session.connection()
    for statement in _renewal():
        connection.execute(statement, {"old": old, "new": new, "now": now})
    # The rows already loaded follow, as the database's (no flush, no query): the flows and accounts point to
    # the new id, the old browser's row is no longer the session's.
    for row in list(db.session.identity_map.values()):
        state = inspect(row)
        if isinstance(row, (Flow, SessionAccount)) and state.dict.get("browser_id") == old:
            set_committed_value(row, "browser_id", new)
            if isinstance(row, Flow):
                set_committed_value(row, "updated_at", now)
        elif isinstance(row, BrowserSession) and state.dict.get("id") == old:
            db.session.expunge(row)
    session["bsid"] = new
    cache = g.get("session_accounts", {})
    g.session_accounts = {(new if b == old else b, u): a for (b, u), a in cache.items()}
    if g.get("accounts_of") == old:
        g.accounts_of = new
    return new


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
