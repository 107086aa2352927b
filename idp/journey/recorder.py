"""The journey recorder: a timeline per flow (screens, inputs without secrets, messages, tokens).

Events wait in the session and are written in one INSERT when the surrounding transaction commits
(a rollback drops them with the rest), so recording costs a request no extra round trip.
"""
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from ..models import FlowEvent

SECRET_FIELDS = {"passwd", "password", "new-password", "new_password", "otc", "code", "csrf_token",
                 "client_secret", "code_verifier", "refresh_token", "number"}

# Built once: the statement's cache key is then computed once, not at every commit.
_INSERT = FlowEvent.__table__.insert()


def record(flow_id, kind, name, data=None):
    """Add one event to a flow's timeline (written when the surrounding transaction commits)."""
    if not flow_id:
        return
    clean = {k: ("•••" if k in SECRET_FIELDS else v) for k, v in (data or {}).items()}
    row = {"flow_id": flow_id, "at": clock.now(), "kind": kind, "name": name, "data": clean}
    db.session.info.setdefault("flow_events", []).append(row)


def write_pending(session=None):
    """Write the events recorded in this transaction now (readers of the timeline call this first)."""
    session = session or db.session()
    rows = session.info.pop("flow_events", None)
    if rows:
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "before_commit")
def _write_on_commit(session):
    write_pending(session)


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session):
    session.info.pop("flow_events", None)
