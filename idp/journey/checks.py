"""The journey's named checks, in order (node-oidc-provider style): the first that fails names the screen.

Each check takes (flow, account) and returns a screen id, or None when it passes. `account` is the
SessionAccount of the flow's user in this browser (None before the user is known).
"""
from sqlalchemy import select

from ..extensions import db
from ..models import AuthenticatorAccount, Consent


def account_unknown(flow, account):
    """The user has not said who they are yet: pick a remembered account or type an email."""
    if flow.user is not None:
        return None
    return "account-picker" if flow.get("picker") else "email"


def needs_account(flow, account):
    """An invited user without a Microsoft account gives what it needs: password, profile, email code."""
    user = flow.user
    if user.has_account:
        return None
    signup = flow.get("signup", {})
    if "password_hash" not in signup:
        return "signup-password"
    if "birth_date" not in signup:
        return "signup-profile"
    if not signup.get("email_verified"):
        return "signup-verify-email"
    return None


def captcha_unsolved(flow, account):
    """The new account is created once the captcha is solved: first its request (guide), then the puzzle."""
    if flow.user.has_account:
        return None
    return "captcha" if flow.get("signup", {}).get("captcha_intro_seen") else "captcha-intro"


def password_required(flow, account):
    """A returning user proves who they are with their password, unless this browser is signed in."""
    if flow.get("password_ok") or flow.get("account_created"):
        return None
    if account is not None and account.signed_in and not flow.get("force_login"):
        return None
    return "password"


def tenant_consent_missing(flow, account):
    """A guest accepts, once, what the organisation may do with their profile."""
    user = flow.user
    if user.tenant_consent_at is not None or not user.invited:
        return None
    return "tenant-consent"


def mfa_registration_required(flow, account):
    """A user with no MFA method registers one ("Plus d'informations requises"), or has just done so."""
    user = flow.user
    proofup = flow.get("proofup")
    if proofup:
        return proofup.get("screen")
    # Invited clients must register a method, as the firm's tenant requires (guide, "Plus d'informations requises").
    if user.mfa_method or not user.invited or _policy(user) == "never":
        return None
    return "proofup-interrupt"


def mfa_required(flow, account):
    """A user with a registered method proves it, as the tenant's MFA policy says.

    "always": at every authorization request; "once": once per sign-in of this browser; "never": not at all.
    Whatever the policy, registering a method (proof-up) during a sign-in satisfies MFA for the rest of that
    sign-in, as at Microsoft: the guide's step 2 ("Se connecter" right after "Opération réussie") asks no MFA.
    A sign-in ends with a new password sign-in (sign_in() clears the marks), a sign-out or another browser.
    """
    user = flow.user
    if not user.mfa_method or flow.get("mfa_ok"):
        return None
    policy = flow.get("mfa_policy") or _policy(user)
    if policy == "never":
        return None
    if account is not None and account.signed_in:
        if account.mfa_registered_at is not None:
            return None
        if policy == "once" and account.mfa_at is not None:
            return None
    chosen = flow.get("mfa_screen")
    if chosen:
        return chosen
    if user.mfa_method == "authenticator" and _has_authenticator(user):
        return "mfa-push"
    return "mfa-otp"


def kmsi_unanswered(flow, account):
    """"Rester connecté ?" is asked after a password was typed in this flow."""
    if flow.get("password_ok") and "kmsi" not in flow.state:
        return "kmsi"
    return None


def app_consent_missing(flow, account):
    """The user accepts what the app asks, once per app (or again with prompt=consent)."""
    if not flow.client_id:
        return None
    if flow.get("app_consent") == "granted":
        return None
    if flow.get("force_consent"):
        return "app-consent"
    # No autoflush: a consent given in this flow is in its state (above); what waits to be written can wait for the commit.
    with db.session.no_autoflush:
        exists = db.session.scalar(
            select(Consent.id).where(Consent.user_id == flow.user_id, Consent.client_id == flow.client_id)
        )
    return None if exists else "app-consent"


def _policy(user):
    """The tenant's MFA policy, unless QA overrode it (PUT /_emulator/api/settings {"mfa": …})."""
    from ..settings import mfa_override

    return mfa_override() or user.tenant.mfa


def _has_authenticator(user):
    return db.session.scalar(select(AuthenticatorAccount.id).where(AuthenticatorAccount.user_id == user.id)) is not None


CHECKS = [
    ("account_unknown", account_unknown),
    ("needs_account", needs_account),
    ("captcha_unsolved", captcha_unsolved),
    ("password_required", password_required),
    ("tenant_consent_missing", tenant_consent_missing),
    ("mfa_registration_required", mfa_registration_required),
    ("mfa_required", mfa_required),
    ("kmsi_unanswered", kmsi_unanswered),
    ("app_consent_missing", app_consent_missing),
]


def failing_check(flow, account):
    """Return (check name, screen) of the first failing check, or (None, None) when all pass."""
    for name, check in CHECKS:
        screen = check(flow, account)
        if screen:
            return name, screen
    return None, None


def next_screen(flow, account):
    """Return the screen the flow must show now, or None when the journey is complete."""
    return failing_check(flow, account)[1]
