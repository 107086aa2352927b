"""MFA registration ("proof-up") from the email screen to the authorization code, for each of the three methods."""
import pyotp
import pytest

from idp import clock
from idp.extensions import db
from idp.models import AuthenticatorAccount, OneTimeCode, Setting, User

from ..conftest import PASSWORD
from ..helpers import sign_in_until_mfa
from ..mfa_steps import (access_token_claims, answer_notification, finish_sign_in, invited_user, phone_page,
                        read_sms_codes, scan_qr_with_phone)


def start_proofup(app, browser, email):
    invited_user(app, email)
    page, verifier = sign_in_until_mfa(browser, email)
    assert page.screen == "proofup-interrupt"
    assert "Plus d'informations requises" in page.text()
    assert page.testid("idSubmit_ProofUp_Redirect")["id"] == "idSubmit_ProofUp_Redirect"
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    assert page.screen == "proofup-app-intro"
    assert "Protéger votre compte" in page.text()
    assert "Commencer par obtenir l'application" in page.text()
    return page, verifier


def flow_id_of(page):
    return page.url.split("/proofup/")[1].split("/")[0]


def user(app, email):
    with app.app_context():
        found = User.by_email(email)
        db.session.expunge(found)
        return found


# --- Microsoft Authenticator -----------------------------------------------------------------------

def test_authenticator_proofup_from_email_to_code_with_mfa_in_token(app, client, browser):
    email = "pu.authenticator@example.fr"
    page, verifier = start_proofup(app, browser, email)
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-setup"
    assert "Configurer votre compte" in page.text()
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-qr"
    assert page.testid("qr-code")["src"].startswith("data:image/svg+xml;base64,")
    assert page.testid("cant-scan").name == "details"
    assert page.testid("activation-uri").get_text().startswith("phonefactor://activate_account?code=")
    assert "/_emulator/phone/activate/" in page.testid("activation-url").get_text()
    assert page.testid("activation-code").get_text().isdigit()

    # Suivant before the phone scanned: inline error, same screen.
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-qr"
    assert "Nous n'avons pas encore détecté l'application" in page.error

    result = scan_qr_with_phone(browser, email)
    assert result.screen == "phone-scan"
    assert result.testid("scan-result")["data-result"] == "added"
    assert "Compte ajouté avec succès" in result.text()

    page = browser.get(page.url)
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-try"
    assert "Nous allons essayer" in page.text()
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    assert page.soup.find(id="idRichContext_DisplaySign") is not None
    assert 10 <= int(number) <= 99

    answered = answer_notification(browser, email, number)
    assert answered.testid("notification-result")["data-result"] == "approved"

    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-approved"
    assert "✔ Notification approuvée" in page.text()
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    assert "Opération réussie" in page.text()
    assert "Méthode de connexion par défaut :" in page.text()
    assert page.testid("default-method").get_text(strip=True) == "Microsoft Authenticator"
    page = browser.submit(page, button="done")

    params = finish_sign_in(browser, page)
    access, id_token = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"] and "pwd" in access["amr"]
    registered = user(app, email)
    assert registered.mfa_method == "authenticator"
    with app.app_context():
        account = db.session.query(AuthenticatorAccount).filter_by(user_id=registered.id).one()
        assert registered.totp_secret == account.totp_secret
    # The app shows the account's one-time code with its countdown.
    app_page = phone_page(browser, email, "/authenticator")
    codes = [el.get_text(strip=True).replace(" ", "") for el in app_page.testids("totp-code")]
    assert codes and codes[0] == pyotp.TOTP(registered.totp_secret).at(clock_timestamp(app))
    assert app_page.testid("totp-countdown") is not None


def clock_timestamp(app):
    with app.app_context():
        return clock.timestamp()


def reach_app_try(app, browser, email):
    page, verifier = start_proofup(app, browser, email)
    page = browser.submit(browser.submit(page, button="next"), button="next")
    assert page.screen == "proofup-app-qr"
    scan_qr_with_phone(browser, email)
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"
    return page, verifier


def test_denied_push_then_wrong_number_then_resend_and_approve(app, client, browser):
    email = "pu.denied@example.fr"
    page, verifier = reach_app_try(app, browser, email)
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)

    answered = answer_notification(browser, email, number, approve=False)
    assert answered.testid("notification-result")["data-result"] == "denied"
    page = browser.get(page.url)
    assert page.screen == "proofup-app-try"
    assert "refusé la notification" in page.error
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-try" and "refusé" in page.error

    page = browser.submit(page, button="resend-push")
    assert page.screen == "proofup-app-try" and page.error is None
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    wrong = str((int(number) - 10 + 1) % 90 + 10)
    answered = answer_notification(browser, email, wrong)
    assert answered.testid("notification-result")["data-result"] == "wrong_number"
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"
    assert "ne correspond pas" in page.error

    page = browser.submit(page, button="resend-push")
    answer_notification(browser, email, page.testid("idRichContext_DisplaySign").get_text(strip=True))
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-approved"


def test_unanswered_push_says_so_and_expires(app, browser):
    email = "pu.expired@example.fr"
    page, _ = reach_app_try(app, browser, email)
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-try"
    assert "pas encore reçu votre approbation" in page.error
    with app.app_context():
        clock.set_offset(3 * 60)
    page = browser.get(page.url)
    assert "expiré" in page.error
    assert page.testid("idRichContext_DisplaySign") is None
    assert page.testid("resend-push") is not None


def test_status_endpoint_follows_the_scan_and_the_answer(app, client, browser):
    email = "pu.status@example.fr"
    page, _ = start_proofup(app, browser, email)
    page = browser.submit(browser.submit(page, button="next"), button="next")
    status_url = f"/proofup/{flow_id_of(page)}/status"
    assert client.get(status_url).get_json()["activated"] is False
    scan_qr_with_phone(browser, email)
    assert client.get(status_url).get_json()["activated"] is True
    page = browser.submit(browser.get(page.url), button="next")
    assert client.get(status_url).get_json()["push"] == "pending"
    answer_notification(browser, email, page.testid("idRichContext_DisplaySign").get_text(strip=True))
    assert client.get(status_url).get_json()["push"] == "approved"
    # Another browser does not see this flow.
    assert app.test_client().get(status_url).status_code == 404


# --- another authenticator app (TOTP) --------------------------------------------------------------

def reach_totp_qr(app, browser, email):
    page, verifier = start_proofup(app, browser, email)
    page = browser.submit(page, button="other-authenticator-app")
    assert page.screen == "proofup-totp-qr"
    return page, verifier


def test_totp_proofup_from_email_to_code_with_mfa_in_token(app, client, browser):
    email = "pu.totp@example.fr"
    page, verifier = reach_totp_qr(app, browser, email)
    uri = page.testid("otpauth-uri").get_text(strip=True)
    secret = page.testid("secret").get_text(strip=True)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri and "issuer=" in uri
    assert page.testid("qr-code")["src"].startswith("data:image/svg+xml;base64,")
    assert page.soup.find("input", attrs={"name": "secret"}) is None  # the secret stays server-side
    totp = pyotp.parse_uri(uri)
    assert totp.digits == 6 and totp.interval == 30 and totp.name == email
    field = page.testid("idTxtBx_SAOTCC_OTC")
    assert field["id"] == "idTxtBx_SAOTCC_OTC" and field["name"] == "otc"

    page = browser.submit(page, {"otc": "12ab"}, button="next")
    assert page.screen == "proofup-totp-qr" and "6 chiffres" in page.error
    good = totp.at(clock_timestamp(app))
    wrong = f"{(int(good) + 500000) % 1000000:06d}"
    page = browser.submit(page, {"otc": wrong}, button="next")
    assert page.screen == "proofup-totp-qr" and "ne correspond pas" in page.error

    page = browser.submit(page, {"otc": good}, button="next")
    assert page.screen == "proofup-success"
    assert page.testid("default-method").get_text(strip=True) == "Application d'authentification"
    page = browser.submit(page, button="done")
    params = finish_sign_in(browser, page)
    access, _ = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"]
    registered = user(app, email)
    assert registered.mfa_method == "totp" and registered.totp_secret == secret


def test_totp_accepts_the_previous_step_but_not_two_back(app, browser):
    page, _ = reach_totp_qr(app, browser, "pu.window@example.fr")
    totp = pyotp.parse_uri(page.testid("otpauth-uri").get_text(strip=True))
    now = clock_timestamp(app)
    too_old = totp.at(now - 90)
    if too_old not in (totp.at(now - 30), totp.at(now), totp.at(now + 30)):
        page = browser.submit(page, {"otc": too_old}, button="next")
        assert page.screen == "proofup-totp-qr" and page.error
    page = browser.submit(page, {"otc": totp.at(now - 30)}, button="next")
    assert page.screen == "proofup-success"


# --- SMS -------------------------------------------------------------------------------------------

def reach_sms_phone(app, browser, email):
    page, verifier = start_proofup(app, browser, email)
    page = browser.submit(page, button="other-method")
    assert page.screen == "proofup-method-choice"
    assert "Choisir une autre méthode" in page.text() and "Quelle méthode voulez-vous utiliser ?" in page.text()
    labels = [o.get_text(strip=True) for o in page.testid("method").find_all("option")]
    assert labels == ["Téléphone", "Application d'authentification"]
    page = browser.submit(page, {"method": "phone"}, button="confirm")
    assert page.screen == "proofup-sms-phone"
    return page, verifier


def test_sms_proofup_from_email_to_code_with_mfa_in_token(app, client, browser):
    email = "pu.sms@example.fr"
    page, verifier = reach_sms_phone(app, browser, email)
    assert "Vous pouvez prouver qui vous êtes en envoyant un code par SMS à votre téléphone." in page.text()
    options = page.testid("country-code").find_all("option")
    assert options[0].get_text(strip=True) == "France (+33)" and options[0].has_attr("selected")
    assert {"Allemagne (+49)", "Égypte (+20)", "Gabon (+241)"} <= {o.get_text(strip=True) for o in options}

    page = browser.submit(page, {"phone-number": "06 75 06 45 72"}, button="next")
    assert page.screen == "proofup-sms-code"
    assert ("Nous venons d'envoyer un code à 6 chiffres à +33 675064572. Entrez le code ci-dessous."
            in page.text())
    codes = read_sms_codes(browser, "+33675064572")
    assert len(codes) == 1
    with app.app_context():
        row = db.session.query(OneTimeCode).filter_by(purpose="sms_proofup").one()
        assert codes[0] not in row.code_hash  # only a hash is stored

    wrong = f"{(int(codes[0]) + 1) % 1000000:06d}"
    page = browser.submit(page, {"otc": wrong}, button="next")
    assert page.screen == "proofup-sms-code" and "ne correspond pas" in page.error
    page = browser.submit(page, {"otc": codes[0]}, button="next")
    assert page.screen == "proofup-sms-verified"
    assert "✓ Vérifié par SMS. Votre téléphone a été inscrit." in page.text()
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    assert page.testid("default-method").get_text(strip=True) == "Téléphone - SMS"
    assert page.testid("default-method-detail").get_text(strip=True) == "+33 675064572"
    page = browser.submit(page, button="done")
    params = finish_sign_in(browser, page)
    access, _ = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"]
    registered = user(app, email)
    assert registered.mfa_method == "sms" and registered.phone == "+33675064572"
    # Same device once the number is registered: the user's phone shows the same SMS.
    assert read_sms_codes(browser, email) == codes


@pytest.mark.parametrize("typed, message", [
    ("", "Entrez un numéro de téléphone."),
    ("06ab", "ne doit contenir que des chiffres"),
    ("0612", "ne semble pas valide"),
    ("061234567890", "ne semble pas valide"),
])
def test_bad_phone_numbers_get_inline_errors(app, browser, typed, message):
    page, _ = reach_sms_phone(app, browser, f"pu.badphone{len(typed)}@example.fr")
    page = browser.submit(page, {"phone-number": typed}, button="next")
    assert page.status == 200
    assert page.screen == "proofup-sms-phone"
    assert message in page.error


def test_other_country_code_and_back_and_cancel(app, browser):
    page, _ = reach_sms_phone(app, browser, "pu.country@example.fr")
    page = browser.submit(page, {"country-code": "49", "phone-number": "15123456789"}, button="next")
    assert page.screen == "proofup-sms-code" and "+49 15123456789" in page.text()
    page = browser.submit(page, button="back")
    assert page.screen == "proofup-sms-phone"
    assert page.testid("phone-number")["value"] == "15123456789"
    page = browser.submit(page, button="other-method")
    assert page.screen == "proofup-method-choice"
    page = browser.submit(page, button="cancel")
    assert page.screen == "proofup-sms-phone"


def test_expired_sms_code_is_refused_then_a_resent_code_works(app, browser):
    email = "pu.expiredsms@example.fr"
    page, _ = reach_sms_phone(app, browser, email)
    page = browser.submit(page, {"phone-number": "611223344"}, button="next")
    first = read_sms_codes(browser, "+33611223344")[0]
    with app.app_context():
        clock.set_offset(11 * 60)
    page = browser.submit(page, {"otc": first}, button="next")
    assert page.screen == "proofup-sms-code" and "expiré" in page.error
    page = browser.submit(page, button="resend-code")
    assert page.testid("info") is not None
    codes = read_sms_codes(browser, "+33611223344")
    assert len(codes) == 2
    page = browser.submit(page, {"otc": first}, button="next")
    assert page.screen == "proofup-sms-code"
    page = browser.submit(page, {"otc": codes[0]}, button="next")
    assert page.screen == "proofup-sms-verified"


def test_too_many_wrong_sms_codes_lock_the_code(app, browser):
    page, _ = reach_sms_phone(app, browser, "pu.locked@example.fr")
    page = browser.submit(page, {"phone-number": "622334455"}, button="next")
    good = read_sms_codes(browser, "+33622334455")[0]
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    for _ in range(5):
        page = browser.submit(page, {"otc": wrong}, button="next")
    assert "Trop de tentatives" in page.error
    page = browser.submit(page, {"otc": good}, button="next")
    assert page.screen == "proofup-sms-code" and "Trop de tentatives" in page.error


def test_sms_fault_fail_then_resend_once_cleared(app, browser):
    page, _ = reach_sms_phone(app, browser, "pu.fault@example.fr")
    with app.app_context():
        Setting.put("faults", {"sms": "fail"})
        db.session.commit()
    page = browser.submit(page, {"phone-number": "633445566"}, button="next")
    assert page.screen == "proofup-sms-code"
    assert read_sms_codes(browser, "+33633445566") == []
    with app.app_context():
        Setting.put("faults", {})
        db.session.commit()
    page = browser.submit(page, button="resend-code")
    codes = read_sms_codes(browser, "+33633445566")
    assert len(codes) == 1
    page = browser.submit(page, {"otc": codes[0]}, button="next")
    assert page.screen == "proofup-sms-verified"


def test_sms_fault_delay_delivers_later(app, browser):
    page, _ = reach_sms_phone(app, browser, "pu.delay@example.fr")
    with app.app_context():
        Setting.put("faults", {"sms": "delay"})
        db.session.commit()
    page = browser.submit(page, {"phone-number": "644556677"}, button="next")
    assert read_sms_codes(browser, "+33644556677") == []
    with app.app_context():
        clock.set_offset(2 * 60)
    codes = read_sms_codes(browser, "+33644556677")
    assert len(codes) == 1
    page = browser.submit(page, {"otc": codes[0]}, button="next")
    assert page.screen == "proofup-sms-verified"


# --- no skipping by URL ----------------------------------------------------------------------------

def test_skipping_a_step_by_url_goes_back_to_the_current_step(app, browser):
    email = "pu.skip@example.fr"
    page, _ = start_proofup(app, browser, email)
    page = browser.submit(browser.submit(page, button="next"), button="next")
    assert page.screen == "proofup-app-qr"
    flow_id = flow_id_of(page)
    for later in ("app-try", "app-approved", "success", "sms-verified", "totp-qr"):
        assert browser.get(f"/proofup/{flow_id}/{later}").screen == "proofup-app-qr"
    # Posting "Terminé" to the success URL does not register anything.
    success = browser.get(f"/proofup/{flow_id}/success")
    token = success.form(containing="next").fields["csrf_token"]
    browser.client.post(f"/proofup/{flow_id}/success", data={"csrf_token": token, "action": "done"})
    browser.client.post(f"/proofup/{flow_id}/app-approved", data={"csrf_token": token, "action": "next"})
    assert user(app, email).mfa_method is None
    assert browser.get(f"/proofup/{flow_id}/app-qr").screen == "proofup-app-qr"
    # And the MFA screens are not reachable either.
    assert browser.get(f"/mfa/{flow_id}/otp").screen == "proofup-app-qr"


def test_proofup_without_csrf_token_is_refused_in_french(app, browser):
    page, _ = start_proofup(app, browser, "pu.csrf@example.fr")
    response = browser.client.post(page.url.replace("http://localhost", ""), data={"action": "next"})
    assert response.status_code == 400
    assert "jeton de sécurité" in response.get_data(as_text=True)


def test_password_is_still_required_before_proofup(app, browser):
    invited_user(app, "pu.pwd@example.fr")
    page, _ = sign_in_until_mfa(browser, "pu.pwd@example.fr", password="wrong-" + PASSWORD)
    assert page.screen == "password"


GARBAGE = ["", "x" * 5000, "１２３４５６", "12\x0034", "<script>", "-1", "999999999999999999999"]


def test_garbage_on_every_proofup_screen_never_gives_a_500(app, browser):
    email = "pu.garbage@example.fr"
    page, _ = start_proofup(app, browser, email)
    flow_id = flow_id_of(page)
    token = page.form(containing="next").fields["csrf_token"]
    screens = ["interrupt", "app-intro", "method-choice", "app-setup", "app-qr", "app-try", "app-approved", "totp-qr",
               "sms-phone", "sms-code", "sms-verified", "success"]
    fields = ["action", "method", "otc", "country-code", "phone-number"]
    for value in GARBAGE:
        for name in screens:
            data = {"csrf_token": token, **{f: value for f in fields}}
            response = browser.client.post(f"/proofup/{flow_id}/{name}", data=data)
            assert response.status_code in (200, 302), (name, value, response.status_code)
    # Whatever was posted, a real page with the journey's current screen still answers.
    page = browser.get(f"/proofup/{flow_id}/interrupt")
    assert page.status == 200 and page.screen.startswith("proofup-")
    for value in GARBAGE[1:]:
        page = browser.get(f"/proofup/{flow_id}/sms-phone")
        if page.screen == "proofup-sms-phone":
            page = browser.submit(page, {"phone-number": value, "country-code": value}, button="next")
            assert page.status == 200 and page.error
