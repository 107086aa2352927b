"""The purge of what nobody will use again: abandoned journeys, empty browser sessions, expired codes.

Every authorize from a browser without cookie leaves a Flow and a BrowserSession; every code, device
code and client assertion leaves a row. Without a purge the database only grows. Each process runs the
purge at most once a minute of the emulator's clock (so QA moving the clock forward runs it), before a
request (not discovery's nor JWKS'), in its own short transaction, a bounded batch at a time.
"""
import logging
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import delete, exists, select

from . import clock
from .extensions import db
from .oidc.published import PUBLISHED

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=1)
# An unfinished journey untouched for a day is abandoned (its page then says the request is over);
# a finished one stays a week in the journey recorder (control API /journeys, emulator home).
UNFINISHED_FLOW_IDLE = timedelta(days=1)
FINISHED_FLOW_KEPT = timedelta(days=7)
# A browser session that never signed anyone in, with no journey left.
EMPTY_BROWSER_IDLE = timedelta(hours=1)
# Expired codes stay a day: an "expired" answer reads better than "unknown" to whoever retries at once.
EXPIRED_KEPT = timedelta(days=1)
# Attempt counts (idp.devices.attempts) idle this long, and not cooling down, start again from nothing.
ATTEMPTS_KEPT = timedelta(days=7)
BATCH = 5000

_last_run = {}  # database URI -> emulator time of this process's last purge


def init_app(app):
    app.before_request(_maybe_purge)


def _maybe_purge():
    if request.endpoint in (None, "static"):
        return
    # Discovery and JWKS (idp.oidc.published) create nothing to purge, and a server's start waits for the first
    # one: the next request of another kind runs the purge.
    if request.method == "GET" and PUBLISHED.match(request.path):
        return
    key = current_app.config["SQLALCHEMY_DATABASE_URI"]
    now = clock.now()
    last = _last_run.get(key)
    if last is not None and abs(now - last) < EVERY:
        return
    _last_run[key] = now
    try:
        purge(now)
        db.session.commit()
    except Exception:  # never fail the request that happened to run the purge
        log.exception("purge failed")
        db.session.rollback()


def purge(now=None):
    """Delete abandoned flows (with their recorder events), empty browser sessions and long-expired codes."""
    from .models import (AttemptCounter, AuthorizationCode, BrowserSession, DeviceCode, Flow, FlowEvent, OneTimeCode,
                         PushRequest, SessionAccount, UsedAssertion)

    now = now or clock.now()
    flow_ids = db.session.scalars(select(Flow.id).where(
        ((Flow.completed_at.is_(None)) & (Flow.updated_at < now - UNFINISHED_FLOW_IDLE))
        | (Flow.completed_at < now - FINISHED_FLOW_KEPT)).limit(BATCH)).all()
    if flow_ids:
        db.session.execute(delete(FlowEvent).where(FlowEvent.flow_id.in_(flow_ids)))
        db.session.execute(delete(Flow).where(Flow.id.in_(flow_ids)))
    empty = db.session.scalars(select(BrowserSession.id).where(
        BrowserSession.created_at < now - EMPTY_BROWSER_IDLE,
        ~exists().where(SessionAccount.browser_id == BrowserSession.id),
        ~exists().where(Flow.browser_id == BrowserSession.id)).limit(BATCH)).all()
    if empty:
        db.session.execute(delete(BrowserSession).where(BrowserSession.id.in_(empty)))
    for model in (AuthorizationCode, DeviceCode, OneTimeCode, PushRequest):
        db.session.execute(delete(model).where(model.expires_at < now - EXPIRED_KEPT))
    db.session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
    db.session.execute(delete(AttemptCounter).where(
        AttemptCounter.last_at < now - ATTEMPTS_KEPT,
        AttemptCounter.locked_until.is_(None) | (AttemptCounter.locked_until < now)))
    return len(flow_ids), len(empty)
