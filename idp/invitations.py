"""Invite a client into the tenant: the user, the Invitation row, the branded invitation email."""
import logging
import os
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import gettext

from . import clock
from .database import insert_missing
from .extensions import db
from .models import Invitation, User

log = logging.getLogger(__name__)


def redeem_url(base, invitation):
    """Return the link of the email's button: it starts the invitation journey in the IdP."""
    return f"{base}/redeem?tenant={invitation.tenant_id}&invitation={invitation.id}"


def invite(tenant, email, redirect_url, display_name="", invited_by=None):
    """Create or update the invited user (no password until they sign up) and a new Invitation."""
    email = email.strip().lower()
    # Two invitations of one new address at once: the database keeps one user, never a 500.
    created = insert_missing(User, ("email",), email=email, tenant_id=tenant.id, name=display_name or email.split("@")[0])
    user = User.by_email(email)
    if display_name and not user.has_account and not created:
        user.name = display_name
    # A new address becomes an invited guest; an existing member of the tenant stays a member (Microsoft sends
    # them the invitation, it does not turn them into a guest who must consent to the tenant again).
    user.invited = user.invited or bool(created)
    invitation = Invitation(tenant_id=tenant.id, email=email, redirect_url=redirect_url,
                            display_name=display_name or user.name, invited_by=invited_by)
    db.session.add(invitation)
    db.session.flush()
    return user, invitation


def redeemed_by(flow, user):
    """The person at an invitation's sign-in page typed `user`'s address: True if the invitation was sent to it.

    Only then does the journey go on (and the invitation count as redeemed): nobody redeems another person's
    invitation by typing their own address.
    """
    invitation = db.session.get(Invitation, flow.invitation_id)
    if invitation is None or invitation.email != user.email:
        return False
    if invitation.redeemed_at is None:
        invitation.redeemed_at = clock.now()
    return True


def branding(tenant):
    """Return the tenant's branding and support details (seed data), with neutral fallbacks."""
    extra = tenant.extra or {}
    brand = extra.get("brand") or tenant.name
    return {
        "brand": brand,
        "sender_name": extra.get("sender_name") or f"Espace client {brand}",
        "sender_email": extra.get("sender_email") or f"no-reply@{tenant.domain}",
        "support_phone": extra.get("support_phone") or "",
        "support_email": extra.get("support_email") or "",
        "website": extra.get("website") or "",
        # The guide's links in the invitation email (the user guide, the F.A.Q).
        "guide_url": extra.get("guide_url") or "",
        "faq_url": extra.get("faq_url") or "",
    }


def invitation_email(tenant, invitation, url):
    """Return (subject, text, html, brand) of the guide's invitation email."""
    brand = branding(tenant)
    subject = gettext("%(brand)s – Configurez votre nouvel accès à votre Espace Client", brand=brand["brand"])
    context = dict(brand=brand, url=url, invitation=invitation, tenant=tenant)
    text = render_template("graph/invitation_email.txt", **context)
    html = render_template("graph/invitation_email.html", **context)
    return subject, text, html, brand


def send_invitation(tenant, invitation, url):
    """Send the invitation email over SMTP to the dev mailbox, or straight into it if nothing listens."""
    subject, text, html, brand = invitation_email(tenant, invitation, url)
    sender = f"{brand['sender_name']} <{brand['sender_email']}>"
    # Commit first: the SMTP server writes the message with its own connection.
    db.session.commit()
    if not current_app.testing:
        host = current_app.config.get("IDP_SMTP_HOST") or os.environ.get("IDP_SMTP_HOST", "127.0.0.1")
        port = int(current_app.config.get("IDP_SMTP_PORT") or 8425)
        message = EmailMessage()
        message["From"] = Address(brand["sender_name"], addr_spec=brand["sender_email"])
        message["To"] = invitation.email
        message["Subject"] = subject
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(host, port, timeout=5) as smtp:
                smtp.send_message(message)
            log.info("invitation email to %s sent over SMTP (%s:%s)", invitation.email, host, port)
            return "smtp"
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("no SMTP server at %s:%s (%s); invitation email delivered straight to the mailbox",
                        host, port, exc)
    from .devices.messages import send_email

    send_email(invitation.email, subject, text, html=html, sender=sender, links=[url])
    return "mailbox"
