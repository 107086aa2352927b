"""The virtual phone: one per phone number or user (the same device once the user registered the number).

Plain functions over the models (no Flask request): the phone pages and the control API call them.
"""
import re
from dataclasses import dataclass

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Flow, Message, User
from . import authenticator, messages, otp

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize_number(text):
    """Return a phone number as E.164 (+33612345678) from what a person may type, or None."""
    raw = re.sub(r"[\s.\-()/]", "", text or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif raw.startswith("0") and len(raw) == 10 and raw.isascii() and raw.isdigit():
        raw = "+33" + raw[1:]  # a French national number
    return raw if E164.match(raw) else None


@dataclass
class Phone:
    key: str
    number: str | None
    user: User | None


def find(key):
    """Return the Phone of a number or of a user's email, or None if it names neither."""
    key = (key or "").strip()
    if "@" in key:
        user = User.by_email(key)
        if user is None:
            return None
        return Phone(key=user.email, number=user.phone, user=user)
    number = normalize_number(key)
    if number is None:
        return None
    user = db.session.scalar(select(User).where(User.phone == number).order_by(User.id))
    return Phone(key=number, number=number, user=user)


def sms(phone):
    """The SMS this phone has received (delivered ones only), newest first."""
    conditions = []
    if phone.number:
        conditions.append(Message.to == phone.number)
    if phone.user is not None:
        # The number a user is registering in a proof-up rings on the user's own phone.
        flow_ids = select(Flow.id).where(Flow.user_id == phone.user.id)
        conditions.append(Message.flow_id.in_(flow_ids))
    if not conditions:
        return []
    query = select(Message).where(Message.channel == "sms", or_(*conditions))
    return db.session.scalars(messages.delivered(query).order_by(Message.deliver_at.desc(), Message.id.desc())).all()


def accounts(phone):
    """The accounts of the phone's Authenticator app, each with its current code: [(account, code, seconds left)]."""
    if phone.user is None:
        return []
    rows = []
    for account in authenticator.accounts(phone.user):
        secret = authenticator.account_secret(account)
        code, left = otp.totp_now(secret) if secret else (None, None)
        rows.append((account, code, left))
    return rows
