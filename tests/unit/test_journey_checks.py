"""The journey's checks as plain functions over hand-built facts: no Flask, no database."""
from datetime import datetime

import pytest

from idp.journey.checks import (CHECKS, PROOFUP_STEPS, Facts, app_consent_missing, captcha_unsolved,
                                failing_check, kmsi_unanswered, mfa_registration_required, mfa_required,
                                needs_account, password_required, proofup_rewind, proofup_screen,
                                tenant_consent_missing)

NOW = datetime(2026, 1, 1, 12, 0)
SIGNED_UP = {"password_hash": "h", "birth_date": "1984-06-14", "email_verified": True}


def returning(**changes):
    """A returning user with an account and no MFA, on a new authorization request of an app."""
    return Facts(**{"client_id": "app", "user_known": True, "has_account": True, **changes})


def outcome(facts):
    check, screen = failing_check(facts)
    return (check.name, screen, check.error, check.code) if check else None


def test_the_checks_run_in_the_journeys_order():
    assert [c.name for c in CHECKS] == [
        "account_unknown", "needs_account", "captcha_unsolved", "password_required", "tenant_consent_missing",
        "mfa_registration_required", "mfa_required", "kmsi_unanswered", "app_consent_missing"]
    # Only these read other rows (a consent, an Authenticator account): the facts load them when they are reached.
    assert [c.name for c in CHECKS if c.reads_rows] == ["mfa_required", "app_consent_missing"]


@pytest.mark.parametrize("facts, expected", [
    (Facts(client_id="app"), ("account_unknown", "email", "login_required", 50058)),
    (Facts(client_id="app", state={"picker": True}), ("account_unknown", "account-picker", "login_required", 50058)),
    (returning(has_account=False, invited=True), ("needs_account", "signup-password", "login_required", 50058)),
    (returning(has_account=False, invited=True, state={"signup": {"password_hash": "h"}}),
     ("needs_account", "signup-profile", "login_required", 50058)),
    (returning(has_account=False, invited=True, state={"signup": {"password_hash": "h", "birth_date": "x"}}),
     ("needs_account", "signup-verify-email", "login_required", 50058)),
    (returning(has_account=False, invited=True, state={"signup": SIGNED_UP}),
     ("captcha_unsolved", "captcha-intro", "interaction_required", 50076)),
    (returning(has_account=False, invited=True, state={"signup": {**SIGNED_UP, "captcha_intro_seen": True}}),
     ("captcha_unsolved", "captcha", "interaction_required", 50076)),
    (returning(), ("password_required", "password", "login_required", 50058)),
    (returning(signed_in=True, invited=True), ("tenant_consent_missing", "tenant-consent", "interaction_required", 50076)),
    (returning(signed_in=True, invited=True, tenant_consent=True),
     ("mfa_registration_required", "proofup-interrupt", "interaction_required", 50079)),
    (returning(signed_in=True, mfa_method="sms"), ("mfa_required", "mfa-otp", "interaction_required", 50076)),
    (returning(signed_in=True, mfa_method="authenticator", has_authenticator=True),
     ("mfa_required", "mfa-push", "interaction_required", 50076)),
    (returning(state={"password_ok": True}), ("kmsi_unanswered", "kmsi", "interaction_required", 50076)),
    (returning(signed_in=True), ("app_consent_missing", "app-consent", "consent_required", 65001)),
    (returning(signed_in=True, app_consent=True), None),
])
def test_the_first_failing_check_names_the_screen_and_the_prompt_none_error(facts, expected):
    assert outcome(facts) == expected


def test_a_signed_in_browser_skips_the_password_unless_a_login_is_forced():
    assert password_required(returning(signed_in=True)) is None
    assert password_required(returning(signed_in=True, state={"force_login": True})) == "password"
    assert password_required(returning(state={"password_ok": True})) is None
    assert password_required(returning(state={"account_created": True})) is None


def test_a_new_account_is_created_after_the_signup_screens_and_the_captcha():
    invited = returning(has_account=False, invited=True, state={"signup": SIGNED_UP})
    assert needs_account(invited) is None and captcha_unsolved(invited) == "captcha-intro"
    assert needs_account(returning()) is None and captcha_unsolved(returning()) is None


def test_only_invited_users_give_the_tenant_consent_once():
    assert tenant_consent_missing(returning()) is None
    assert tenant_consent_missing(returning(invited=True)) == "tenant-consent"
    assert tenant_consent_missing(returning(invited=True, tenant_consent=True)) is None


def test_invited_users_without_a_method_register_one_unless_the_policy_is_never():
    invited = returning(invited=True, tenant_consent=True)
    assert mfa_registration_required(invited) == "proofup-interrupt"
    assert mfa_registration_required(returning(invited=True, mfa_policy="never")) is None
    assert mfa_registration_required(returning(invited=True, mfa_method="sms")) is None
    assert mfa_registration_required(returning()) is None


def test_the_proofup_screen_follows_from_its_progress_not_from_a_stored_screen():
    facts = lambda progress: returning(invited=True, state={"proofup": progress})  # noqa: E731
    assert mfa_registration_required(facts({"interrupt_seen": True})) == "proofup-app-intro"
    assert mfa_registration_required(facts({"interrupt_seen": True, "intro_done": True})) == "proofup-app-setup"
    progress = {"interrupt_seen": True}
    seen = []
    for fact, screen in PROOFUP_STEPS["authenticator"]:
        seen.append(proofup_screen(progress))
        progress = {**progress, fact: True}
    assert seen == ["proofup-app-intro", "proofup-app-setup", "proofup-app-qr", "proofup-app-try",
                    "proofup-app-approved"]
    assert proofup_screen(progress) == "proofup-success"
    assert proofup_screen({"method": "sms"}) == "proofup-sms-phone"
    assert proofup_screen({"method": "sms", "code_sent": True}) == "proofup-sms-code"
    assert proofup_screen({"method": "sms", "code_sent": True, "sms_verified": True}) == "proofup-sms-verified"
    assert proofup_screen({"method": "totp"}) == "proofup-totp-qr"
    assert proofup_screen({"method": "totp", "totp_verified": True}) == "proofup-success"
    assert proofup_screen({"method": "sms", "code_sent": True, "choosing": True}) == "proofup-method-choice"


def test_going_back_in_the_proofup_undoes_that_step_and_the_later_ones():
    done = {"interrupt_seen": True, "method": "authenticator", "intro_done": True, "setup_done": True,
            "push_sent": True, "approved": True, "activation": "a"}
    assert proofup_screen(proofup_rewind(done, "proofup-app-qr")) == "proofup-app-qr"
    assert proofup_rewind(done, "proofup-app-qr")["activation"] == "a"  # the QR code shown stays the same
    assert proofup_screen(proofup_rewind(done, "proofup-app-intro")) == "proofup-app-intro"
    assert proofup_screen(proofup_rewind(done, "proofup-method-choice")) == "proofup-method-choice"
    sms = proofup_rewind({**done, "choosing": True}, "proofup-sms-phone")
    assert sms["method"] == "sms" and proofup_screen(sms) == "proofup-sms-phone"
    assert proofup_screen(proofup_rewind({"method": "sms", "code_sent": True, "sms_verified": True},
                                         "proofup-sms-code")) == "proofup-sms-code"
    with pytest.raises(ValueError):
        proofup_rewind(done, "password")


@pytest.mark.parametrize("policy, mfa_at, expected", [
    ("always", NOW, "mfa-otp"), ("once", NOW, None), ("once", None, "mfa-otp"), ("never", None, None)])
def test_mfa_follows_the_tenants_policy(policy, mfa_at, expected):
    assert mfa_required(returning(signed_in=True, mfa_method="sms", mfa_policy=policy, mfa_at=mfa_at)) == expected


def test_mfa_is_satisfied_by_a_method_registered_in_this_sign_in_or_proved_in_this_flow():
    sms = dict(signed_in=True, mfa_method="sms", mfa_policy="always")
    assert mfa_required(returning(**sms, mfa_registered_at=NOW)) is None
    assert mfa_required(returning(**sms, state={"mfa_ok": True})) is None
    # The flow's own policy (QA's per-request override) wins over the tenant's.
    assert mfa_required(returning(**sms, state={"mfa_policy": "never"})) is None
    # A browser that is not signed in proves MFA whatever it did before.
    assert mfa_required(returning(mfa_method="sms", mfa_policy="once", mfa_at=NOW)) == "mfa-otp"


def test_the_mfa_screen_is_the_way_the_user_chose():
    app = dict(signed_in=True, mfa_method="authenticator", has_authenticator=True)
    assert mfa_required(returning(**app, state={"mfa_choice": "choosing"})) == "mfa-method-choice"
    assert mfa_required(returning(**app, state={"mfa_choice": "OneWaySMS"})) == "mfa-otp"
    assert mfa_required(returning(**app, state={"mfa_choice": "PhoneAppOTP"})) == "mfa-otp"
    assert mfa_required(returning(**app, state={"mfa_choice": "PhoneAppNotification"})) == "mfa-push"
    # Authenticator users whose app has no account type a code instead.
    assert mfa_required(returning(**{**app, "has_authenticator": False})) == "mfa-otp"


def test_kmsi_is_asked_once_after_a_password():
    assert kmsi_unanswered(returning(state={"password_ok": True})) == "kmsi"
    assert kmsi_unanswered(returning(state={"password_ok": True, "kmsi": False})) is None
    assert kmsi_unanswered(returning(signed_in=True)) is None


def test_app_consent_is_asked_once_per_app_or_again_with_prompt_consent():
    assert app_consent_missing(returning(app_consent=True)) is None
    assert app_consent_missing(returning(app_consent=True, state={"force_consent": True})) == "app-consent"
    assert app_consent_missing(returning(state={"app_consent": "granted", "force_consent": True})) is None
    assert app_consent_missing(returning(client_id=None)) is None  # an invitation's journey has no app
