"""The dev mailbox: every email the system sent (and mail received over loopback SMTP), newest first."""
from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import select

from .. import clock
from ..devices.messages import delivered
from ..extensions import db
from ..models import Message

bp = Blueprint("mailbox", __name__, url_prefix="/_emulator/mailbox")

PAGE_SIZE = 200
# The page around the mail: only our own stylesheet; the mail itself sits in a sandboxed frame.
PAGE_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
# The mail's HTML: no scripts, no network, no forms; styles inline only.
RAW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"


def _emails():
    return delivered(select(Message).where(Message.channel == "email"))


@bp.route("", strict_slashes=False)
def index():
    to = (request.args.get("to") or "").strip().lower()
    query = _emails()
    if to:
        query = query.where(Message.to == to)
    messages = db.session.scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(PAGE_SIZE)).all()
    response = make_response(render_template("mailbox/index.html", messages=messages, to=to))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _message(message_id):
    message = db.session.scalar(_emails().where(Message.id == message_id))
    if message is None:
        abort(404)
    return message


@bp.route("/<int:message_id>")
def message(message_id):
    message = _message(message_id)
    if message.read_at is None:
        message.read_at = clock.now()
        db.session.commit()
    response = make_response(render_template("mailbox/message.html", message=message))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@bp.route("/<int:message_id>/raw")
def raw(message_id):
    """The mail's HTML part alone, for the sandboxed frame of the message page."""
    message = _message(message_id)
    if message.body_html:
        response = make_response(message.body_html)
        response.mimetype = "text/html"
    else:
        response = make_response(message.body_text or "")
        response.mimetype = "text/plain"
    response.headers["Content-Security-Policy"] = RAW_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
