"""Send mail and SMS into the dev mailbox and the virtual phone, with QA faults applied."""
import re
from datetime import timedelta

from .. import clock
from .. import settings as qa
from ..extensions import db
from ..journey.recorder import record
from ..models import Message

LINK = re.compile(r"""href=["']([^"']+)["']""")
SMS_DELAY = timedelta(seconds=90)


def send_email(to, subject, text, html=None, sender="", code=None, flow_id=None, links=None):
    """Deliver a mail to the dev mailbox; return the Message, or None when the email fault drops it."""
    record(flow_id, "message", "email", {"to": to, "subject": subject})
    if qa.faults().get("email") == "fail":
        record(flow_id, "fault", "email-not-delivered", {"to": to})
        return None
    found = links if links is not None else LINK.findall(html or "")
    message = Message(channel="email", to=to.strip().lower(), sender=sender, subject=subject, body_text=text,
                      body_html=html, code=code, links=found, flow_id=flow_id)
    db.session.add(message)
    return message


def send_sms(to, text, code=None, flow_id=None):
    """Deliver an SMS to the virtual phone of number `to` (E.164); None when the sms fault drops it."""
    record(flow_id, "message", "sms", {"to": to})
    fault = qa.faults().get("sms")
    if fault == "fail":
        record(flow_id, "fault", "sms-not-delivered", {"to": to})
        return None
    now = clock.now()
    message = Message(channel="sms", to=to, sender="Microsoft", body_text=text, code=code, flow_id=flow_id,
                      created_at=now, deliver_at=now + SMS_DELAY if fault == "delay" else now)
    db.session.add(message)
    return message


def delivered(query):
    """Restrict a Message query to what has arrived by now (a delayed SMS shows later)."""
    return query.where(Message.deliver_at <= clock.now())
