"""MFA at sign-in for the seeded users of each method: push with number matching, TOTP, SMS."""

from idp import clock
from idp.extensions import db
from idp.models import Setting

from ..helpers import current_totp, sign_in_until_mfa
from ..mfa_steps import access_token_claims, answer_notification, finish_sign_in, phone_totp_codes, read_sms_codes

SMS_USER = "sms.demo@example.fr"
AUTHENTICATOR_USER = "authenticator.demo@example.fr"
TOTP_USER = "totp.demo@example.fr"


def test_sms_user_signs_in_with_the_code_from_the_phone(app, client, browser):
    page, verifier = sign_in_until_mfa(browser, SMS_USER)
    assert page.screen == "mfa-otp"
    assert "Entrer le code" in page.text()
    assert "+33 XXXXXXX78" in page.testid("description").get_text()
    assert page.soup.find(id="idTxtBx_SAOTCC_OTC")["name"] == "otc"
    assert page.soup.find(id="idSubmit_SAOTCC_Continue") is not None
    codes = read_sms_codes(browser, "+33612345678")
    assert len(codes) == 1
    # The user's phone (by email) is the same device.
    assert read_sms_codes(browser, SMS_USER) == codes

    wrong = f"{(int(codes[0]) + 1) % 1000000:06d}"
    page = browser.submit(page, {"otc": wrong}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp"
    assert page.soup.find(id="idSpan_SAOTCC_Error_OTC").get_text(strip=True) == "Vous n'avez pas saisi le code attendu. Réessayez."
    # Reloading the screen does not send another SMS.
    page = browser.get(page.url)
    assert len(read_sms_codes(browser, SMS_USER)) == 1

    page = browser.submit(page, {"otc": codes[0]}, button="idSubmit_SAOTCC_Continue")
    params = finish_sign_in(browser, page)
    access, id_token = access_token_claims(app, client, params, verifier)
    assert access["amr"] == ["pwd", "mfa"]


def test_expired_sms_code_at_sign_in_then_resend(app, browser):
    page, _ = sign_in_until_mfa(browser, SMS_USER)
    first = read_sms_codes(browser, SMS_USER)[0]
    with app.app_context():
        clock.set_offset(10 * 60 + 5)
    page = browser.submit(page, {"otc": first}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp"
    assert "expiré" in page.soup.find(id="idSpan_SAOTCC_Error_OTC").get_text()
    page = browser.submit(page, button="resend-code")
    fresh = read_sms_codes(browser, SMS_USER)[0]
    assert fresh != first or len(read_sms_codes(browser, SMS_USER)) == 2
    page = browser.submit(page, {"otc": fresh}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "kmsi"


def test_authenticator_user_approves_the_push_with_the_number(app, client, browser):
    page, verifier = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    assert page.screen == "mfa-push"
    assert "Approuver la demande de connexion" in page.text()
    number = page.soup.find(id="idRichContext_DisplaySign").get_text(strip=True)
    assert page.testid("idRichContext_DisplaySign").get_text(strip=True) == number
    assert page.soup.find(id="signInAnotherWay") is not None

    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "mfa-push" and "pas encore reçu votre approbation" in page.error
    answered = answer_notification(browser, AUTHENTICATOR_USER, number)
    assert answered.testid("notification-result")["data-result"] == "approved"
    page = browser.submit(browser.get(page.url), button="idSIButton9")
    params = finish_sign_in(browser, page)
    access, _ = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"]


def test_denied_push_shows_an_inline_error_then_a_new_request_works(app, client, browser):
    page, verifier = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    answer_notification(browser, AUTHENTICATOR_USER, number, approve=False)
    page = browser.get(page.url)
    assert page.screen == "mfa-push" and "refusé la demande" in page.error
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "mfa-push" and "refusé" in page.error

    page = browser.submit(page, button="resend-push")
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    answer_notification(browser, AUTHENTICATOR_USER, number)
    page = browser.submit(browser.get(page.url), button="idSIButton9")
    params = finish_sign_in(browser, page)
    assert "mfa" in access_token_claims(app, client, params, verifier)[0]["amr"]


def test_wrong_number_typed_in_the_app_is_refused(app, browser):
    page, _ = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    number = int(page.testid("idRichContext_DisplaySign").get_text(strip=True))
    wrong = 10 + (number - 10 + 7) % 90
    answered = answer_notification(browser, AUTHENTICATOR_USER, wrong)
    assert answered.testid("notification-result")["data-result"] == "wrong_number"
    page = browser.submit(browser.get(page.url), button="idSIButton9")
    assert page.screen == "mfa-push"
    assert "ne correspond pas" in page.error


def test_totp_user_signs_in_with_a_code_and_cannot_reuse_it(app, client, browser):
    page, verifier = sign_in_until_mfa(browser, TOTP_USER)
    assert page.screen == "mfa-otp"
    assert "application d'authentification" in page.testid("description").get_text()
    code = current_totp(app, TOTP_USER)
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    params = finish_sign_in(browser, page)
    assert "mfa" in access_token_claims(app, client, params, verifier)[0]["amr"]

    # A second sign-in (MFA "always"): the same code is refused.
    page, _ = sign_in_until_mfa(browser, TOTP_USER)
    assert page.screen == "mfa-otp"
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp"
    assert "déjà été utilisé" in page.soup.find(id="idSpan_SAOTCC_Error_OTC").get_text()


def test_totp_code_that_is_not_six_digits_gets_an_inline_error(app, browser):
    page, _ = sign_in_until_mfa(browser, TOTP_USER)
    page = browser.submit(page, {"otc": "abc"}, button="idSubmit_SAOTCC_Continue")
    assert page.status == 200 and page.screen == "mfa-otp"
    assert "6 chiffres" in page.error


def test_another_way_offers_only_the_users_methods_and_the_app_code_works(app, client, browser):
    page, verifier = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    page = browser.submit(page, button="signInAnotherWay")
    assert page.screen == "mfa-method-choice"
    assert "Vérifier votre identité" in page.text()
    offered = [el["data-value"] for el in page.soup.select("[data-value]")]
    assert offered == ["PhoneAppNotification", "PhoneAppOTP"]
    page = browser.submit(page, button="PhoneAppOTP")
    assert page.screen == "mfa-otp"
    code = phone_totp_codes(browser, AUTHENTICATOR_USER)[0]
    assert code == current_totp(app, AUTHENTICATOR_USER)
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    params = finish_sign_in(browser, page)
    assert "mfa" in access_token_claims(app, client, params, verifier)[0]["amr"]


def test_sms_user_method_choice_offers_only_sms(app, browser):
    page, _ = sign_in_until_mfa(browser, SMS_USER)
    assert page.testid("signInAnotherWay") is None  # one method only: nothing else to choose
    flow_id = page.url.split("/mfa/")[1].split("/")[0]
    page = browser.get(f"/mfa/{flow_id}/method-choice")
    assert page.screen == "mfa-otp"  # not chosen: the URL does not skip there


def test_mfa_policy_override_never_skips_mfa(app, client, browser):
    with app.app_context():
        Setting.put("mfa", "never")
        db.session.commit()
    page, verifier = sign_in_until_mfa(browser, SMS_USER)
    assert page.screen == "kmsi"
    params = finish_sign_in(browser, page)
    assert access_token_claims(app, client, params, verifier)[0]["amr"] == ["pwd"]


def test_mfa_policy_once_asks_once_per_browser_session(app, client, browser):
    with app.app_context():
        Setting.put("mfa", "once")
        db.session.commit()
    page, verifier = sign_in_until_mfa(browser, TOTP_USER)
    assert page.screen == "mfa-otp"
    code = current_totp(app, TOTP_USER)
    params = finish_sign_in(browser, browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue"))
    assert "mfa" in access_token_claims(app, client, params, verifier)[0]["amr"]
    # Signed in on this browser with MFA done: the next authorization goes straight through.
    page, verifier = sign_in_until_mfa(browser, TOTP_USER)
    params = finish_sign_in(browser, page)
    assert "code" in params
    assert "mfa" in access_token_claims(app, client, params, verifier)[0]["amr"]


def test_skipping_mfa_by_url_is_refused(app, browser):
    page, _ = sign_in_until_mfa(browser, TOTP_USER)
    flow_id = page.url.split("/mfa/")[1].split("/")[0]
    assert browser.get(f"/login/{flow_id}/kmsi").screen == "mfa-otp"
    assert browser.get(f"/login/{flow_id}/app-consent").screen == "mfa-otp"
    assert browser.get(f"/mfa/{flow_id}/push").screen == "mfa-otp"


def test_garbage_on_the_mfa_screens_never_gives_a_500(app, browser):
    page, _ = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    flow_id = page.url.split("/mfa/")[1].split("/")[0]
    token = page.form(containing="idSIButton9").fields["csrf_token"]
    for value in ["", "x" * 5000, "１２３４５６", "<b>", "PhoneAppOTP\x00"]:
        for name in ("push", "otp", "method-choice"):
            response = browser.client.post(f"/mfa/{flow_id}/{name}",
                                           data={"csrf_token": token, "action": value, "otc": value, "method": value})
            assert response.status_code in (200, 302), (name, value)
    page = browser.get(f"/mfa/{flow_id}/push")
    assert page.status == 200 and page.screen.startswith("mfa-")
    if page.screen == "mfa-otp":
        page = browser.submit(page, {"otc": "１２３４５６"}, button="idSubmit_SAOTCC_Continue")
        assert page.status == 200 and page.error


def test_garbage_on_the_phone_never_gives_a_500(browser):
    sign_in_until_mfa(browser, AUTHENTICATOR_USER)  # a notification waits on the phone
    page = browser.get("/_emulator/phone/authenticator.demo@example.fr/authenticator/work-or-school")
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    for value in ["", "x" * 3000, "１２", "<b>", "-5"]:
        data = {"csrf_token": token, "number": value, "push_id": value, "action": value}
        response = browser.client.post("/_emulator/phone/authenticator.demo@example.fr/notification", data=data)
        assert response.status_code == 302, response.status_code
        assert browser.get(response.location).status == 200
    assert browser.get("/_emulator/phone/%EF%BC%91%EF%BC%92").status == 404


def test_every_refused_code_and_unanswered_notification_has_the_words_of_each_screen(app):
    from idp.devices import attempts, otp, push

    with app.test_request_context():
        for screen, results in {"mfa-otp": ("invalid", "wrong", "reused", "expired", "locked", "missing"),
                                "proofup-totp-qr": ("invalid", "wrong", "reused"),
                                "proofup-sms-code": ("invalid", "wrong", "expired", "locked", "missing")}.items():
            for result in results:
                assert otp.error(result, screen), (screen, result)
            assert otp.error("throttled", screen) == attempts.message()
        assert "SMS" in otp.error("wrong", "proofup-sms-code") and "SMS" not in otp.error("wrong", "mfa-otp")
        for screen in ("mfa-push", "proofup-app-try"):
            for status in ("denied", "wrong_number", "expired", "missing"):
                assert push.text(status, screen), (screen, status)
            assert push.text("throttled", screen) == attempts.message()
            # Pending: nothing to say until the person says they approved.
            assert push.text("pending", screen) is None and "pas encore" in push.text("pending", screen, submitted=True)
            assert push.text("approved", screen) is None
        for status in ("approved", "denied", "wrong_number", "expired", "throttled", "none"):
            assert push.text(status, "phone-notification"), status
        assert push.text("throttled", "phone-notification") != attempts.message()
