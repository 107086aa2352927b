"""The whole journey, from the email screen to the authorization code, for each MFA method; then a sign-in with it.

Account creation (email code read in the mailbox pages, captcha), tenant consent, proof-up (SMS read on the
phone pages, Authenticator added and push approved on the phone pages, TOTP computed from the otpauth:// URI),
app consent, code, token; then a returning sign-in in a new browser with that method.
"""
import pyotp
import pytest

from idp import clock

from ..helpers import authorize_url, callback_params
from ..mfa_steps import access_token_claims, answer_notification, read_sms_codes, scan_qr_with_phone
from ..pages import Browser
from .test_signup import INVITED, NEW_PASSWORD, mailbox_code, past_captcha_intro, solve_captcha

PHONE = "+33675064572"


def create_account(app, browser):
    """email → signup-password → signup-profile → signup-verify-email → captcha-intro → captcha → tenant-consent →
    proofup-interrupt."""
    url, verifier = authorize_url()
    page = browser.get(url)
    assert page.screen == "email"
    page = browser.submit(page, {"loginfmt": INVITED}, button="idSIButton9")
    assert page.screen == "signup-password"
    page = browser.submit(page, {"new-password": NEW_PASSWORD}, button="idSIButton9")
    page = browser.submit(page, {"birth-day": "14", "birth-month": "7", "birth-year": "1985"}, button="idSIButton9")
    assert page.screen == "signup-verify-email"
    page = browser.submit(page, {"otc": mailbox_code(browser)}, button="idSIButton9")
    page = past_captcha_intro(browser, page)
    page = solve_captcha(app, browser, page)
    assert page.screen == "tenant-consent"
    page = browser.submit(page, button="idBtn_Accept")
    assert page.screen == "proofup-interrupt"
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    assert page.screen == "proofup-app-intro"
    return page, verifier


def register_authenticator(app, browser, page):
    page = browser.submit(browser.submit(page, button="next"), button="next")
    assert page.screen == "proofup-app-qr"
    assert scan_qr_with_phone(browser, INVITED).testid("scan-result")["data-result"] == "added"
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    answer_notification(browser, INVITED, number)
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-approved"
    return browser.submit(page, button="next")


def register_totp(app, browser, page):
    page = browser.submit(page, button="other-authenticator-app")
    assert page.screen == "proofup-totp-qr"
    totp = pyotp.parse_uri(page.testid("otpauth-uri").get_text(strip=True))
    with app.app_context():
        now = clock.timestamp()
    return browser.submit(page, {"otc": totp.at(now)}, button="next"), totp


def register_sms(app, browser, page):
    page = browser.submit(page, button="other-method")
    page = browser.submit(page, {"method": "phone"}, button="confirm")
    assert page.screen == "proofup-sms-phone"
    page = browser.submit(page, {"phone-number": "0675064572"}, button="next")
    assert page.screen == "proofup-sms-code"
    page = browser.submit(page, {"otc": read_sms_codes(browser, PHONE)[0]}, button="next")
    assert page.screen == "proofup-sms-verified"
    return browser.submit(page, button="next")


def to_code(browser, page):
    for _ in range(4):
        if page.screen == "kmsi":
            page = browser.submit(page, button="idSIButton9")
        elif page.screen == "app-consent":
            page = browser.submit(page, button="idBtn_Accept")
        else:
            break
    return callback_params(browser)


@pytest.mark.parametrize("method", ["authenticator", "totp", "sms"])
def test_whole_journey_then_sign_in_with_mfa(app, client, method):
    browser = Browser(client)
    page, verifier = create_account(app, browser)
    totp = None
    if method == "authenticator":
        page = register_authenticator(app, browser, page)
    elif method == "totp":
        page, totp = register_totp(app, browser, page)
    else:
        page = register_sms(app, browser, page)
    assert page.screen == "proofup-success" and "Opération réussie" in page.text()
    page = browser.submit(page, button="done")
    params = to_code(browser, page)
    assert params["state"] == "state-123" and params["code"]
    access, id_token = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"] and id_token["preferred_username"] == INVITED
    assert id_token["idp"] == "live.com"  # a personal Microsoft account invited into the tenant

    # A returning sign-in in another browser: password, then the method just registered.
    other = Browser(app.test_client())
    url, verifier = authorize_url(login_hint=INVITED)
    page = other.submit(other.get(url), {"passwd": NEW_PASSWORD}, button="idSIButton9")
    if method == "authenticator":
        assert page.screen == "mfa-push"
        answer_notification(other, INVITED, page.testid("idRichContext_DisplaySign").get_text(strip=True))
        page = other.submit(other.get(page.url), button="idSIButton9")
    else:
        assert page.screen == "mfa-otp"
        if method == "totp":
            with app.app_context():
                code = totp.at(clock.timestamp() + 30)  # the next step: the one just used is refused
        else:
            code = read_sms_codes(other, PHONE)[0]
        page = other.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "kmsi", page.text()[:300]
    params = to_code(other, page)
    access, _ = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"]
