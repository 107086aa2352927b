"""The journey recorder: a timeline per flow (screens, inputs without secrets, messages, tokens)."""
from ..extensions import db
from ..models import FlowEvent

SECRET_FIELDS = {"passwd", "password", "new-password", "new_password", "otc", "code", "csrf_token",
                 "client_secret", "code_verifier", "refresh_token", "number"}


def record(flow_id, kind, name, data=None):
    """Add one event to a flow's timeline (committed with the surrounding transaction)."""
    if not flow_id:
        return
    clean = {k: ("•••" if k in SECRET_FIELDS else v) for k, v in (data or {}).items()}
    db.session.add(FlowEvent(flow_id=flow_id, kind=kind, name=name, data=clean))
