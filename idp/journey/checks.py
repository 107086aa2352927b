"""The journey's named checks, in order (node-oidc-provider style): the first that fails names the screen.

Each check is a plain function of `Facts` (what the database and the flow say, loaded once per request by
idp.journey.flow.load_facts) returning a screen id, or None when it passes. Each also names the error a
`prompt=none` request gets when it fails (the user would have to see its screen). No Flask, no database here.
"""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping


@dataclass(frozen=True)
class Facts:
    """What the checks decide from: the flow's state, its user, this browser's account and the policies."""

    # What the user gave in this flow (flow.state): signup, captcha, proof-up progress, kmsi, choices.
    state: Mapping = field(default_factory=dict)
    client_id: str | None = None
    # The flow's user, once known.
    user_known: bool = False
    has_account: bool = False
    invited: bool = False
    tenant_consent: bool = False
    mfa_method: str | None = None
    has_authenticator: bool = False
    # The tenant's MFA policy ("always", "once", "never"), or QA's override of it.
    mfa_policy: str = "once"
    # This browser's account of the user (the ESTSAUTH session).
    signed_in: bool = False
    mfa_at: datetime | None = None
    mfa_registered_at: datetime | None = None
    # The user consented to the flow's app before (a Consent row). With has_authenticator, the facts of other
    # rows than the flow's, its user's and its account's: only the checks marked `reads_rows` read them.
    app_consent: bool = False

    def get(self, key, default=None):
        return self.state.get(key, default)


# --- proof-up progress -----------------------------------------------------------------------------
# The proof-up's steps per method, as (fact, screen): the screen shows until its fact is true. The facts
# live in flow.state["proofup"]; "choosing" means the method list is open, "back_to" where its "Annuler" returns.
PROOFUP_STEPS = {
    "authenticator": (("intro_done", "proofup-app-intro"), ("setup_done", "proofup-app-setup"),
                      ("push_sent", "proofup-app-qr"), ("approved", "proofup-app-try"),
                      ("approved_seen", "proofup-app-approved")),
    "totp": (("totp_verified", "proofup-totp-qr"),),
    "sms": (("code_sent", "proofup-sms-phone"), ("sms_verified", "proofup-sms-code"),
            ("sms_verified_seen", "proofup-sms-verified")),
}


def proofup_screen(progress):
    """The proof-up screen of this progress: the method list when open, else the method's first step not done."""
    if progress.get("choosing"):
        return "proofup-method-choice"
    for fact, screen in PROOFUP_STEPS.get(progress.get("method"), PROOFUP_STEPS["authenticator"]):
        if not progress.get(fact):
            return screen
    return "proofup-success"


def proofup_rewind(progress, screen):
    """The progress as it was when `screen` showed: that step and the later ones of its method undone."""
    progress = {**progress, "choosing": False}
    if screen == "proofup-method-choice":
        return {**progress, "choosing": True}
    if screen == "proofup-success":
        return progress
    for method, steps in PROOFUP_STEPS.items():
        screens = [s for _, s in steps]
        if screen in screens:
            later = {fact for fact, _ in steps[screens.index(screen):]}
            return {**{k: v for k, v in progress.items() if k not in later}, "method": method}
    raise ValueError(f"not a proof-up step: {screen}")


# --- the checks --------------------------------------------------------------------------------------

def account_unknown(facts):
    """The user has not said who they are yet: pick a remembered account or type an email."""
    if facts.user_known:
        return None
    return "account-picker" if facts.get("picker") else "email"


def needs_account(facts):
    """An invited user without a Microsoft account gives what it needs: password, profile, email code."""
    if facts.has_account:
        return None
    signup = facts.get("signup", {})
    if "password_hash" not in signup:
        return "signup-password"
    if "birth_date" not in signup:
        return "signup-profile"
    if not signup.get("email_verified"):
        return "signup-verify-email"
    return None


def captcha_unsolved(facts):
    """The new account is created once the captcha is solved: first its request (guide), then the puzzle."""
    if facts.has_account:
        return None
    return "captcha" if facts.get("signup", {}).get("captcha_intro_seen") else "captcha-intro"


def password_required(facts):
    """A returning user proves who they are with their password, unless this browser is signed in."""
    if facts.get("password_ok") or facts.get("account_created"):
        return None
    if facts.signed_in and not facts.get("force_login"):
        return None
    return "password"


def tenant_consent_missing(facts):
    """A guest accepts, once, what the organisation may do with their profile."""
    if facts.tenant_consent or not facts.invited:
        return None
    return "tenant-consent"


def mfa_registration_required(facts):
    """A user with no MFA method registers one ("Plus d'informations requises"), or has just done so."""
    progress = facts.get("proofup")
    if progress:
        return proofup_screen(progress)
    # Invited clients must register a method, as the firm's tenant requires (guide, "Plus d'informations requises").
    if facts.mfa_method or not facts.invited or facts.mfa_policy == "never":
        return None
    return "proofup-interrupt"


# The MFA screen of each way the user chose on mfa-method-choice (flow.state["mfa_choice"]).
MFA_CHOICES = {"choosing": "mfa-method-choice", "PhoneAppNotification": "mfa-push", "PhoneAppOTP": "mfa-otp",
               "OneWaySMS": "mfa-otp"}


def mfa_required(facts):
    """A user with a registered method proves it, as the tenant's MFA policy says.

    "always": at every authorization request; "once": once per sign-in of this browser; "never": not at all.
    Whatever the policy, registering a method (proof-up) during a sign-in satisfies MFA for the rest of that
    sign-in, as at Microsoft: the guide's step 2 ("Se connecter" right after "Opération réussie") asks no MFA.
    A sign-in ends with a new password sign-in (sign_in() clears the marks), a sign-out or another browser.
    """
    if not facts.mfa_method or facts.get("mfa_ok"):
        return None
    policy = facts.get("mfa_policy") or facts.mfa_policy
    if policy == "never":
        return None
    if facts.signed_in:
        if facts.mfa_registered_at is not None:
            return None
        if policy == "once" and facts.mfa_at is not None:
            return None
    chosen = MFA_CHOICES.get(facts.get("mfa_choice"))
    if chosen:
        return chosen
    if facts.mfa_method == "authenticator" and facts.has_authenticator:
        return "mfa-push"
    return "mfa-otp"


def kmsi_unanswered(facts):
    """"Rester connecté ?" is asked after a password was typed in this flow."""
    if facts.get("password_ok") and "kmsi" not in facts.state:
        return "kmsi"
    return None


def app_consent_missing(facts):
    """The user accepts what the app asks, once per app (or again with prompt=consent)."""
    if not facts.client_id:
        return None
    if facts.get("app_consent") == "granted":
        return None
    if facts.get("force_consent"):
        return "app-consent"
    return None if facts.app_consent else "app-consent"


@dataclass(frozen=True)
class Check:
    """A named check and the error a prompt=none request gets when it fails (AAD's error and code)."""

    name: str
    screen: Callable[[Facts], str | None]
    error: str
    code: int
    # It reads facts of other rows (a consent, an Authenticator account): loaded only when a check needs them.
    reads_rows: bool = False


CHECKS = [
    Check("account_unknown", account_unknown, "login_required", 50058),
    Check("needs_account", needs_account, "login_required", 50058),
    Check("captcha_unsolved", captcha_unsolved, "interaction_required", 50076),
    Check("password_required", password_required, "login_required", 50058),
    Check("tenant_consent_missing", tenant_consent_missing, "interaction_required", 50076),
    Check("mfa_registration_required", mfa_registration_required, "interaction_required", 50079),
    Check("mfa_required", mfa_required, "interaction_required", 50076, reads_rows=True),
    Check("kmsi_unanswered", kmsi_unanswered, "interaction_required", 50076),
    Check("app_consent_missing", app_consent_missing, "consent_required", 65001, reads_rows=True),
]


def failing_check(facts):
    """Return (check, screen) of the first failing check, or (None, None) when all pass."""
    for check in CHECKS:
        screen = check.screen(facts)
        if screen:
            return check, screen
    return None, None
