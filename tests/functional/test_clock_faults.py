"""Expiry through the emulator's clock (PUT /_emulator/api/clock) and the QA faults (PUT /_emulator/api/faults)."""
import pyotp

from idp import clock
from idp.models import User

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, TENANT
from ..helpers import authorize_url, callback_params, redeem, sign_in

API = "/_emulator/api"


def move_clock(client, seconds):
    assert client.put(f"{API}/clock", json={"offset_seconds": seconds}).status_code == 200


def to_password(browser, email):
    url, verifier = authorize_url()
    page = browser.get(url)
    page = browser.submit(page, {"loginfmt": email}, button="idSIButton9")
    assert page.screen == "password", page.screen
    return page, verifier


def to_mfa(browser, email):
    page, verifier = to_password(browser, email)
    return browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9"), verifier


def finish(browser, page):
    """From a screen after MFA, answer KMSI and consent; return the callback's parameters."""
    if page.screen == "kmsi":
        page = browser.submit(page, button="idSIButton9")
    if page.screen == "app-consent":
        page = browser.submit(page, button="idBtn_Accept")
    return callback_params(browser)


# --- authorization codes and tokens --------------------------------------------------------------

def test_authorization_code_expires_after_ten_minutes_of_emulator_time(client, browser):
    params, verifier, _ = sign_in(browser)
    move_clock(client, 601)
    response = redeem(client, params["code"], verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert response.get_json()["error_codes"] == [70008]


def test_authorization_code_is_still_good_before_its_expiry(client, browser):
    params, verifier, _ = sign_in(browser)
    move_clock(client, 540)
    assert redeem(client, params["code"], verifier).status_code == 200


def refresh(client, token):
    return client.post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": token, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "openid offline_access User.Read"})


def test_refresh_token_expires_after_ninety_days_of_emulator_time(client, browser):
    params, verifier, _ = sign_in(browser)
    tokens = redeem(client, params["code"], verifier).get_json()
    move_clock(client, 89 * 86400)
    rotated = refresh(client, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.get_json()
    move_clock(client, 89 * 86400 + 90 * 86400 + 1)
    expired = refresh(client, rotated.get_json()["refresh_token"])
    assert expired.status_code == 400 and expired.get_json()["error_codes"] == [700082]


def test_access_token_expires_after_an_hour_of_emulator_time(client, browser):
    params, verifier, _ = sign_in(browser)
    access = redeem(client, params["code"], verifier).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    assert client.get("/oidc/userinfo", headers=headers).status_code == 200
    move_clock(client, 3601)
    assert client.get("/oidc/userinfo", headers=headers).status_code == 401


# --- lockouts ------------------------------------------------------------------------------------

def test_seeded_lockout_ends_when_the_clock_passes_it(client, browser):
    page, _ = to_password(browser, "verrouille.demo@example.fr")
    locked = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert locked.screen == "password" and "verrouillé" in locked.error
    move_clock(client, 3601)
    assert browser.submit(locked, {"passwd": PASSWORD}, button="idSIButton9").screen == "kmsi"


def test_lockout_after_too_many_wrong_passwords_ends_through_the_clock(app, client, browser):
    page, _ = to_password(browser, "client.demo@example.fr")
    for _ in range(app.config["IDP_LOCKOUT_THRESHOLD"]):
        page = browser.submit(page, {"passwd": "wrong"}, button="idSIButton9")
    assert "verrouillé" in page.error
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert "verrouillé" in page.error
    move_clock(client, app.config["IDP_LOCKOUT_SECONDS"] + 1)
    assert browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9").screen == "kmsi"


# --- TOTP windows --------------------------------------------------------------------------------

def test_totp_code_follows_the_emulator_clock(client, browser):
    move_clock(client, 3600)
    page, verifier = to_mfa(browser, "totp.demo@example.fr")
    assert page.screen == "mfa-otp"
    code = client.get(f"{API}/users/totp.demo@example.fr/totp").get_json()["code"]
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert "code" in finish(browser, page)


def test_totp_code_of_real_time_is_refused_when_the_clock_moved(app, client, browser):
    with app.app_context():
        secret = User.by_email("totp.demo@example.fr").totp_secret
    real_time_code = pyotp.TOTP(secret).now()
    move_clock(client, 3600)
    page, _ = to_mfa(browser, "totp.demo@example.fr")
    page = browser.submit(page, {"otc": real_time_code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp" and page.testid("idSpan_SAOTCC_Error_OTC") is not None


def test_totp_code_two_steps_old_is_refused(app, client, browser):
    page, _ = to_mfa(browser, "totp.demo@example.fr")
    old = client.get(f"{API}/users/totp.demo@example.fr/totp").get_json()["code"]
    move_clock(client, 61)
    page = browser.submit(page, {"otc": old}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp" and page.error


# --- SMS codes and SMS faults --------------------------------------------------------------------

def sms_codes(client):
    messages = client.get(f"{API}/messages", query_string={"to": "sms.demo@example.fr", "channel": "sms"})
    return [m["code"] for m in messages.get_json()["messages"]]


def test_sms_code_expires_through_the_clock(client, browser):
    page, _ = to_mfa(browser, "sms.demo@example.fr")
    assert page.screen == "mfa-otp"
    code = sms_codes(client)[0]
    move_clock(client, 601)
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp" and "expiré" in page.error


def test_sms_code_works_before_it_expires(client, browser):
    page, _ = to_mfa(browser, "sms.demo@example.fr")
    move_clock(client, 540)
    page = browser.submit(page, {"otc": sms_codes(client)[0]}, button="idSubmit_SAOTCC_Continue")
    assert "code" in finish(browser, page)


def test_sms_fault_fail_delivers_nothing(client, browser):
    client.put(f"{API}/faults", json={"sms": "fail"})
    page, _ = to_mfa(browser, "sms.demo@example.fr")
    assert page.screen == "mfa-otp"
    assert sms_codes(client) == []


def test_sms_fault_delay_delivers_after_ninety_seconds(client, browser):
    client.put(f"{API}/faults", json={"sms": "delay"})
    page, _ = to_mfa(browser, "sms.demo@example.fr")
    assert sms_codes(client) == []
    move_clock(client, 91)
    codes = sms_codes(client)
    assert len(codes) == 1
    page = browser.submit(page, {"otc": codes[0]}, button="idSubmit_SAOTCC_Continue")
    assert "code" in finish(browser, page)


# --- email and push faults -----------------------------------------------------------------------

def test_email_fault_fail_drops_the_invitation_email(client):
    client.put(f"{API}/faults", json={"email": "fail"})
    assert client.post(f"{API}/invitations", json={"email": "lost@example.fr"}).status_code == 201
    assert client.get(f"{API}/messages", query_string={"to": "lost@example.fr"}).get_json()["messages"] == []
    client.put(f"{API}/faults", json={"email": None})
    client.post(f"{API}/invitations", json={"email": "found@example.fr"})
    assert len(client.get(f"{API}/messages", query_string={"to": "found@example.fr"}).get_json()["messages"]) == 1


def test_push_approved_through_the_api_finishes_the_sign_in(client, browser):
    page, _ = to_mfa(browser, "authenticator.demo@example.fr")
    assert page.screen == "mfa-push"
    number = client.get(f"{API}/users/authenticator.demo@example.fr/push").get_json()["number"]
    shown = page.testid("idRichContext_DisplaySign")
    if shown is not None:
        assert int(shown.get_text(strip=True)) == number
    approved = client.post(f"{API}/users/authenticator.demo@example.fr/push/approve", json={"number": number})
    assert approved.get_json()["status"] == "approved"
    page = browser.submit(page, button="idSIButton9")
    assert "code" in finish(browser, page)


def test_push_fault_timeout_never_reaches_the_phone(client, browser):
    client.put(f"{API}/faults", json={"push": "timeout"})
    page, _ = to_mfa(browser, "authenticator.demo@example.fr")
    assert page.screen == "mfa-push"
    assert client.get(f"{API}/users/authenticator.demo@example.fr/push").status_code == 404
    move_clock(client, 121)
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "mfa-push" and "expiré" in page.error


def test_push_expires_through_the_clock(client, browser):
    page, _ = to_mfa(browser, "authenticator.demo@example.fr")
    move_clock(client, 121)
    assert client.get(f"{API}/users/authenticator.demo@example.fr/push").status_code == 404
    page = browser.submit(page, button="idSIButton9")
    assert "expiré" in page.error


def test_clock_offset_is_shared_through_the_database(app, client):
    move_clock(client, 900)
    with app.app_context():
        assert abs((clock.now() - clock.datetime.now(clock.UTC).replace(tzinfo=None)).total_seconds() - 900) < 5
