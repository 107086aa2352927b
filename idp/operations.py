"""The emulator's operations shared by the control API (JSON) and the control panel of the emulator home (forms):
reset to a scenario, invite a client, change the QA settings. One implementation, two faces.

Errors are OperationError(status, message): the API answers them as JSON, the panel flashes them.
"""
import re

from flask import current_app, request, url_for
from sqlalchemy import select

from . import seeds
from . import settings as qa
from .extensions import db
from .models import Tenant, User

SCENARIO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class OperationError(Exception):
    """An operation refused: an HTTP status and a message that says what to do."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def scenarios():
    """The seed scenarios: folders under seeds/ with a tenant.yaml."""
    return sorted(p.name for p in seeds.config.SEEDS_DIR.iterdir() if (p / "tenant.yaml").is_file())


def reset(name="default"):
    """Wipe everything and load a scenario (its settings, clock and faults start again); return its tenant."""
    if not isinstance(name, str) or not SCENARIO.match(name):
        raise OperationError(400, "'scenario' must be the name of a folder under seeds/, e.g. \"default\".")
    if name not in scenarios():
        raise OperationError(404, f"No scenario {name!r}; known: {', '.join(scenarios())}.")
    folder = seeds.config.SEEDS_DIR / name
    try:
        seeds.validate(folder)
        seeds.read_settings(folder)
    except seeds.SeedError as exc:
        raise OperationError(400, f"Scenario {name!r} is not valid: {exc}") from None
    return seeds.reset(folder)  # one transaction: wiped, loaded (the clock back to real time), committed


def tenant(value=None):
    """The tenant named by id or domain, or the first one when None."""
    if value is None:
        found = db.session.scalars(select(Tenant).order_by(Tenant.domain)).first()
        if found is None:
            raise OperationError(409, "No tenant yet: load a scenario first (POST /_emulator/api/reset).")
        return found
    if not isinstance(value, str):
        raise OperationError(400, "'tenant' must be a tenant id or domain.")
    found = db.session.get(Tenant, value.lower()) or db.session.scalar(select(Tenant).where(Tenant.domain == value.lower()))
    if found is None:
        raise OperationError(400, f"No tenant {value!r}.")
    return found


def default_return_url(of_tenant):
    """Where the invitation journey ends by default: the home of the tenant's first confidential app."""
    return seeds.app_home(of_tenant) or url_for("emulator.home", _external=True)


def invite(email, name=None, redirect_url=None, send=True, tenant_name=None, invited_by="control-api"):
    """Invite a new client (and mail the invitation unless send is False), committed with the request.

    Returns (user, invitation, redeem URL, sent) where sent is the mail's result, or None when not sent.
    """
    from . import invitations

    if not isinstance(email, str) or not seeds.EMAIL.match(email.strip()):
        raise OperationError(400, "'email' is required and must be an email address.")
    for field, value in (("name", name), ("redirect_url", redirect_url)):
        if value is not None and not isinstance(value, str):
            raise OperationError(400, f"'{field}' must be a string.")
    if redirect_url is not None and not redirect_url.startswith(("http://", "https://")):
        raise OperationError(400, "'redirect_url' must be an absolute http(s) URL.")
    if send not in (True, False):
        raise OperationError(400, "'send' must be true or false.")
    user = User.by_email(email)
    if user is not None and user.has_account:
        raise OperationError(409, f"{user.email!r} already has an account; invitations are for new clients.")
    where = tenant(tenant_name)
    user, invitation = invitations.invite(where, email, redirect_url or default_return_url(where),
                                          display_name=name or "", invited_by=invited_by)
    base = current_app.config.get("IDP_BASE_URL") or request.url_root.rstrip("/")
    url = invitations.redeem_url(base, invitation)
    sent = invitations.send_invitation(where, invitation, url) if send else None
    return user, invitation, url, sent


def change_settings(values):
    """Store QA settings (captcha, captcha_rounds, mfa, demo, language; None clears); return them all."""
    try:
        qa.apply(values)
    except qa.SettingsError as exc:
        raise OperationError(400, str(exc)) from None
    return qa.current()
