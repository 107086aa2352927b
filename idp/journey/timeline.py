"""The recorder's timeline of a journey, for the recorder page and the control API: no secret in it.

Events come from FlowEvent rows (secret fields already masked by `record`), messages from the
Message rows the flow sent (without their body or code), tokens from the codes and refresh tokens
the flow led to (dates and scopes only, never a token or a hash).
"""
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import AuthorizationCode, Client, Flow, FlowEvent, Message, RefreshToken
from .flow import next_screen
from .recorder import SECRET_FIELDS, write_pending

MASK = "•••"


def iso(moment):
    return moment.isoformat(timespec="milliseconds") + "Z" if moment is not None else None


def current_screen(flow):
    """Return the screen an open flow is at now (None when complete or finished)."""
    if flow.completed_at is not None:
        return None
    return next_screen(flow)


def _clean(data):
    """Mask secret fields again, at any depth (events written by any screen, now or later)."""
    if isinstance(data, dict):
        return {k: (MASK if k in SECRET_FIELDS else _clean(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_clean(v) for v in data]
    return data


def events(flow):
    write_pending()
    rows = db.session.scalars(select(FlowEvent).where(FlowEvent.flow_id == flow.id).order_by(FlowEvent.id)).all()
    return [{"at": iso(e.at), "kind": e.kind, "name": e.name, "data": _clean(e.data or {})} for e in rows]


def messages(flow):
    rows = db.session.scalars(select(Message).where(Message.flow_id == flow.id).order_by(Message.id)).all()
    now = clock.now()
    return [{"at": iso(m.created_at), "channel": m.channel, "to": m.to, "subject": m.subject,
             "delivered_at": iso(m.deliver_at), "delivered": m.deliver_at <= now, "has_code": m.code is not None}
            for m in rows]


def tokens(flow):
    """Authorization codes issued by the flow and the refresh tokens they led to (dates only)."""
    out = []
    codes = db.session.scalars(select(AuthorizationCode).where(AuthorizationCode.flow_id == flow.id)
                               .order_by(AuthorizationCode.id)).all()
    for code in codes:
        out.append({"type": "authorization_code", "at": iso(code.created_at), "client_id": code.client_id,
                    "scope": code.scope, "expires_at": iso(code.expires_at), "redeemed_at": iso(code.redeemed_at)})
        if code.sid is None:
            continue
        refresh = db.session.scalars(select(RefreshToken).where(
            RefreshToken.user_id == code.user_id, RefreshToken.client_id == code.client_id,
            RefreshToken.sid == code.sid, RefreshToken.issued_at >= code.created_at,
        ).order_by(RefreshToken.id)).all()
        for row in refresh:
            out.append({"type": "refresh_token", "at": iso(row.issued_at), "client_id": row.client_id,
                        "scope": row.scope, "family": row.family, "expires_at": iso(row.expires_at),
                        "revoked_at": iso(row.revoked_at)})
    return out


def summary(flow):
    write_pending()
    screens = [e.name for e in db.session.scalars(select(FlowEvent).where(FlowEvent.flow_id == flow.id,
                                                                             FlowEvent.kind == "screen")
                                                      .order_by(FlowEvent.id))]
    return {
        "id": flow.id,
        "email": flow.email,
        "client_id": flow.client_id,
        "kind": "authorization" if flow.params else "invitation",
        "status": "complete" if flow.completed_at is not None else "open",
        "screen": current_screen(flow),
        "screens": screens,
        "created_at": iso(flow.created_at),
        "updated_at": iso(flow.updated_at),
        "completed_at": iso(flow.completed_at),
    }


def export(flow):
    """Return the whole timeline of a flow as JSON-ready data (what the recorder page shows)."""
    client = db.session.get(Client, flow.client_id) if flow.client_id else None
    data = summary(flow)
    data.update({
        "client": {"client_id": client.client_id, "name": client.name} if client else None,
        "tenant": flow.tenant.domain if flow.tenant else None,
        "user": {"email": flow.user.email, "state": flow.user.state} if flow.user else None,
        "request": {k: flow.params[k] for k in ("redirect_uri", "scope", "response_mode", "prompt", "login_hint")
                    if k in (flow.params or {})},
        "events": events(flow),
        "messages": messages(flow),
        "tokens": tokens(flow),
    })
    return data


def recent(limit=20, email=None):
    """Return summaries of the newest journeys (optionally of one email)."""
    query = select(Flow).order_by(Flow.created_at.desc(), Flow.id).limit(limit)
    if email:
        query = query.where(Flow.email == email.strip().lower())
    return [summary(f) for f in db.session.scalars(query)]
