"""What the Espace Client keeps: its clients (CGU acceptance), contact and appointment requests, invitations sent."""
from datetime import UTC, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def now():
    return datetime.now(UTC).replace(tzinfo=None)


class Account(db.Model):
    """A client of the firm, known by the IdP's object id (oid) within its tenant (tid)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    oid: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    company: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    cgu_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cgu_accepted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (UniqueConstraint("tenant_id", "oid"),)

    def needs_cgu(self, version):
        return self.cgu_version != version


class ContactRequest(db.Model):
    """ "Être recontacté": the client asks the firm to call them back."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    account = relationship(Account)


class AppointmentRequest(db.Model):
    """ "Demander un rendez-vous" with the client's advisor."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    day: Mapped[object] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    account = relationship(Account)


class Deposit(db.Model):
    """A document the client sent through DÉPÔT DOC (the file is kept in the data folder)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_as: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class AdminThrottle(db.Model):
    """Wrong admin passwords (one row): each check first claims `next_try_at` in one UPDATE, so concurrent tries
    are not all checked; each failure pushes the next try further away (client_app.admin)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class SentInvitation(db.Model):
    """An invitation sent from the admin page through the IdP's (Graph) invitations API."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    redeem_url: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
