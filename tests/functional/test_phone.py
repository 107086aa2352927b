"""The virtual phone: its pages (Authenticator, Messages) and its device functions used without a request."""
import pyotp
import pytest

from idp import clock
from idp.devices import authenticator, messages, otp, phone, push
from idp.extensions import db
from idp.models import AuthenticatorAccount, Setting, User

from ..helpers import sign_in_until_mfa
from ..mfa_steps import answer_notification, invited_user, phone_page, read_sms_codes, scan_qr_with_phone


def test_phone_home_has_the_two_apps_and_looks_like_a_phone(browser):
    page = phone_page(browser, "sms.demo@example.fr")
    assert page.status == 200
    assert page.screen == "phone-home"
    assert page.testid("open-authenticator") is not None and page.testid("open-messages") is not None
    assert page.testid("phone") is not None and page.testid("emulator-marker") is not None
    assert page.soup.find("link", rel="stylesheet")["href"].endswith("/static/css/phone.css")
    assert all(not s["src"].startswith("http") for s in page.soup.find_all("script"))


def test_unknown_phone_is_a_french_404(browser):
    for key in ("nobody@example.fr", "not-a-number"):
        page = phone_page(browser, key)
        assert page.status == 404
        assert "n'existe pas" in page.text()


def test_phone_by_number_and_by_email_is_the_same_device(app, browser):
    with app.app_context():
        messages.send_sms("+33612345678", "Utilisez le code de vérification 123456 pour l'authentification Microsoft.",
                          code="123456")
        messages.send_sms("+33612345678", "Utilisez le code de vérification 654321 pour l'authentification Microsoft.",
                          code="654321")
        messages.send_sms("+33799999999", "Pas pour ce téléphone : 111111")
        db.session.commit()
    assert read_sms_codes(browser, "+33612345678") == ["654321", "123456"]  # newest first
    assert read_sms_codes(browser, "0612345678") == ["654321", "123456"]
    assert read_sms_codes(browser, "sms.demo@example.fr") == ["654321", "123456"]
    assert phone_page(browser, "+33612345678", "/messages").testids("sms")[0]["data-to"] == "+33612345678"


def test_only_delivered_sms_are_shown(app, browser):
    with app.app_context():
        Setting.put("faults", {"sms": "delay"})
        messages.send_sms("+33655555555", "Code 222222", code="222222")
        db.session.commit()
    assert phone_page(browser, "+33655555555", "/messages").testid("no-sms") is not None
    with app.app_context():
        clock.set_offset(messages.SMS_DELAY.total_seconds() + 1)
    assert read_sms_codes(browser, "+33655555555") == ["222222"]


def test_authenticator_app_shows_each_account_code_with_its_countdown(app, browser):
    page = phone_page(browser, "authenticator.demo@example.fr", "/authenticator")
    assert page.screen == "phone-authenticator"
    accounts = page.testids("account")
    assert len(accounts) == 1 and accounts[0]["data-email"] == "authenticator.demo@example.fr"
    with app.app_context():
        secret = User.by_email("authenticator.demo@example.fr").totp_secret
        expected = pyotp.TOTP(secret).at(clock.timestamp())
    assert accounts[0].find(attrs={"data-testid": "totp-code"}).get_text(strip=True).replace(" ", "") == expected
    left = int(accounts[0].find(attrs={"data-testid": "totp-countdown"})["data-expires-in"])
    assert 1 <= left <= 30


def test_scanning_without_a_qr_on_screen_says_so(browser):
    result = scan_qr_with_phone(browser, "authenticator.demo@example.fr")
    assert result.screen == "phone-scan"
    assert result.testid("scan-result")["data-result"] == "none"
    assert "Aucun code QR détecté" in result.text()


def test_notification_screen_without_pending_request(browser):
    page = phone_page(browser, "authenticator.demo@example.fr", "/notification")
    assert page.screen == "phone-notification"
    assert page.testid("no-notification") is not None
    assert page.testid("approve") is None


def test_pending_push_appears_on_the_home_screen_and_in_status(app, browser):
    page, _ = sign_in_until_mfa(browser, "authenticator.demo@example.fr")
    assert page.screen == "mfa-push"
    home = phone_page(browser, "authenticator.demo@example.fr")
    assert home.testid("notification-banner") is not None
    status = browser.client.get("/_emulator/phone/authenticator.demo@example.fr/status.json").get_json()
    assert status["push"] is not None and status["accounts"] == 1
    notification = phone_page(browser, "authenticator.demo@example.fr", "/notification")
    assert "Approuver la connexion ?" in notification.text()
    assert notification.testid("approve") is not None and notification.testid("deny") is not None


def test_stale_answer_to_an_old_notification_is_ignored(app, browser):
    page, _ = sign_in_until_mfa(browser, "authenticator.demo@example.fr")
    old = phone_page(browser, "authenticator.demo@example.fr", "/notification")
    flow_id = page.url.split("/mfa/")[1].split("/")[0]
    token = page.form(containing="idSIButton9").fields["csrf_token"]
    browser.client.post(f"/mfa/{flow_id}/push", data={"csrf_token": token, "action": "resend"})
    result = browser.submit(old, {"number": "42"}, button="approve")
    assert result.testid("notification-result")["data-result"] == "none"


# --- device functions without a request (the control API calls them) -------------------------------

def test_device_functions_work_without_a_request(app):
    with app.app_context():
        user = User.by_email("authenticator.demo@example.fr")
        totp = otp.current_totp(user)
        assert totp["code"] == pyotp.TOTP(user.totp_secret).at(clock.timestamp())
        assert 1 <= totp["expires_in"] <= 30
        assert push.pending(user) is None
        request = authenticator.send_push(user)
        assert push.pending(user).id == request.id
        assert authenticator.answer_push(user, "not a number", True).status == "wrong_number"
        request = authenticator.send_push(user)
        assert authenticator.answer_push(user, request.number, True).status == "approved"
        assert authenticator.answer_push(user, request.number, True) is None  # nothing pending any more
        request = authenticator.send_push(user)
        assert authenticator.answer_push(user, None, False).status == "denied"
        assert otp.current_totp(User.by_email("client.demo@example.fr")) is None


def test_push_expires_after_its_lifetime(app):
    with app.app_context():
        user = User.by_email("authenticator.demo@example.fr")
        request = authenticator.send_push(user)
        db.session.commit()
        clock.set_offset(authenticator.PushRequest.LIFETIME.total_seconds() + 1)
        assert push.pending(user) is None
        assert authenticator.status(request) == "expired"


def test_push_timeout_fault_keeps_the_notification_from_the_phone(app):
    with app.app_context():
        Setting.put("faults", {"push": "timeout"})
        user = User.by_email("authenticator.demo@example.fr")
        request = authenticator.send_push(user)
        assert push.pending(user) is None
        assert authenticator.status(request) == "pending"
        clock.set_offset(authenticator.PushRequest.LIFETIME.total_seconds() + 1)
        assert authenticator.status(request) == "expired"


def test_add_account_from_qr_needs_the_qr_on_screen(app, browser):
    email = "phone.qr@example.fr"
    invited_user(app, email)
    with app.app_context():
        assert authenticator.add_account_from_qr(User.by_email(email)) is None
    page, _ = sign_in_until_mfa(browser, email)
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    page = browser.submit(browser.submit(page, button="next"), button="next")
    assert page.screen == "proofup-app-qr"
    with app.app_context():
        account = authenticator.add_account_from_qr(User.by_email(email))
        db.session.commit()
        assert account is not None and account.totp_secret
        again = authenticator.add_account_from_qr(User.by_email(email))
        assert again.id == account.id  # scanning twice adds one account


def test_activation_url_adds_the_account_like_the_real_app(app, browser):
    email = "phone.activate@example.fr"
    invited_user(app, email)
    page, _ = sign_in_until_mfa(browser, email)
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    page = browser.submit(browser.submit(page, button="next"), button="next")
    url = page.testid("activation-url").get_text(strip=True).replace("http://localhost", "")
    code = page.testid("activation-code").get_text(strip=True)
    assert browser.client.post(url, data={"code": "000"}).status_code == 404
    response = browser.client.post(url, data={"code": code})
    assert response.status_code == 200 and response.get_json()["added"] is True
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"


@pytest.mark.parametrize("typed, expected", [
    ("+33612345678", "+33612345678"), ("0612345678", "+33612345678"), ("06 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"), ("+4915123456789", "+4915123456789"), ("12", None), ("abc", None),
])
def test_normalize_number(typed, expected):
    assert phone.normalize_number(typed) == expected


def test_phone_index_lists_users(browser):
    page = browser.get("/_emulator/phone/")
    assert page.screen == "phone-index"
    assert "sms.demo@example.fr" in page.text()


def test_answering_from_the_phone_page_with_a_wrong_number_marks_the_request(app, browser):
    page, _ = sign_in_until_mfa(browser, "authenticator.demo@example.fr")
    number = int(page.testid("idRichContext_DisplaySign").get_text(strip=True))
    result = answer_notification(browser, "authenticator.demo@example.fr", "99" if number != 99 else "98")
    assert result.testid("notification-result")["data-result"] == "wrong_number"
    assert "ne correspond pas" in result.text()
    with app.app_context():
        assert db.session.query(AuthenticatorAccount).count() == 1


def test_a_users_current_totp_is_one_code_for_the_control_api_the_phone_and_the_presenter(app, client):
    """Mid proof-up (accounts added to the app, no method registered yet): the code of the account added last."""
    from datetime import timedelta

    from idp.trainer import demo

    with app.app_context():
        user = User.by_email("client.demo@example.fr")
        secrets = [pyotp.random_base32() for _ in range(2)]
        for n, secret in enumerate(secrets):
            db.session.add(AuthenticatorAccount(user_id=user.id, activation=f"current-{n}", totp_secret=secret,
                                                added_at=clock.now() + timedelta(seconds=n)))
        Setting.put("demo", True)
        db.session.commit()
        before = clock.timestamp()
        codes = {otp.current_totp(user)["code"], client.get("/_emulator/api/users/client.demo@example.fr/totp")
                 .get_json()["code"]}
        with app.test_request_context():
            codes.add(demo.current_codes(User.by_email("client.demo@example.fr"))["totp"])
        after = clock.timestamp()
    newest = {pyotp.TOTP(secrets[1]).at(before), pyotp.TOTP(secrets[1]).at(after)}
    assert codes <= newest and len(codes) <= len(newest), (codes, newest)
