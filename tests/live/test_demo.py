"""Demo mode: the printed guide's values (email code 6152, a fixed SMS code and number, one captcha round, the
guide's dates), said on every page, never the default, and no weaker than outside demo (codes stay single-use)."""
import pytest

from idp import create_app
from idp.devices import email_codes, otp
from idp.extensions import db
from idp.journey import captcha
from idp.models import Flow, OneTimeCode, Setting, User
from idp.trainer import demo

from ..conftest import FAST_HASH
from ..mfa_steps import answer_notification, finish_sign_in, read_sms_codes, scan_qr_with_phone
from ..functional.test_proofup import reach_sms_phone, start_proofup
from ..functional.test_signup import answer_of, flow_id_of, mailbox_code, past_captcha_intro, to_verify

API = "/_emulator/api"


def demo_on(client, on=True):
    response = client.put(f"{API}/settings", json={"demo": on})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_demo_is_off_by_default_and_the_setting_switches_it(client):
    settings = client.get(f"{API}/settings").get_json()
    assert settings["demo"] is False and settings["captcha_rounds"] is None
    settings = demo_on(client)
    assert settings["demo"] is True and settings["captcha_rounds"] == 1  # demo implies one round
    assert client.get(f"{API}/settings").get_json()["demo"] is True
    assert demo_on(client, False)["demo"] is False
    assert client.put(f"{API}/settings", json={"demo": None}).get_json()["demo"] is False


@pytest.mark.parametrize("value", ["yes", 1, "true", []])
def test_demo_setting_refuses_what_is_not_a_boolean(client, value):
    response = client.put(f"{API}/settings", json={"demo": value})
    assert response.status_code == 400
    assert "'demo' must be true or false" in response.get_json()["error"]["message"]
    assert client.get(f"{API}/settings").get_json()["demo"] is False


def test_demo_from_the_server_start_and_the_setting_wins(tmp_path):
    """`serve --demo` / `up --demo` set IDP_DEMO; the setting, once stored, overrides it."""
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "data"), "IDP_PASSWORD_HASH": FAST_HASH,
                      "SECRET_KEY": "test-secret", "IDP_DEMO": True})
    client = app.test_client()
    assert client.get(f"{API}/settings").get_json()["demo"] is True
    assert demo_on(client, False)["demo"] is False
    with app.app_context():
        assert demo.current_codes() is None
        db.session.remove()
        db.engine.dispose()


def test_openapi_documents_the_demo_and_language_settings(client):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    assert schemas["SettingsUpdate"]["properties"]["demo"]["type"] == "boolean"
    assert schemas["SettingsUpdate"]["properties"]["language"]["enum"] == ["fr", "en", None]
    assert "6152" in schemas["Settings"]["properties"]["demo"]["description"]


# --- the sign-up: email code 6152 and one captcha round --------------------------------------------

def test_signup_in_demo_mode_mails_6152_and_has_one_captcha_round(app, client, browser):
    demo_on(client)
    page = to_verify(browser)
    assert mailbox_code(browser) == "6152"
    page = browser.submit(page, {"otc": "6152"}, button="idSIButton9")
    page = past_captcha_intro(browser, page)
    assert page.testid("demo-marker").get_text(strip=True) == "· Mode démo"
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        state = flow.get(captcha.STATE_KEY)
        # One round, and the same puzzle (images, order, right one) in every demo journey.
        assert state["rounds"] == 1
        assert state["seed"] == captcha.new_state(rounds=1, rng=demo.captcha_rng())["seed"]
        # Spent: the same code never works twice, even the guide's.
        row = db.session.query(OneTimeCode).filter_by(flow_id=flow.id, purpose=email_codes.PURPOSE).one()
        assert row.used_at is not None and "6152" not in row.code_hash
        assert email_codes.verify(flow, "6152") == "missing"
    page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    assert page.screen != "captcha", page.error  # one right answer is enough


def test_a_wrong_code_is_still_refused_in_demo_mode(client, browser):
    demo_on(client)
    page = to_verify(browser)
    page = browser.submit(page, {"otc": "6153"}, button="idSIButton9")
    assert page.screen == "signup-verify-email" and page.error


def test_outside_demo_mode_the_email_code_is_random(app, client, browser):
    with app.test_request_context():
        assert demo.email_code() is None and demo.sms_code() is None and demo.push_number() is None
    codes = set()
    page = to_verify(browser)
    codes.add(mailbox_code(browser))
    for _ in range(3):
        page = browser.submit(page, button="resend-code")
        codes.add(mailbox_code(browser))
    assert len(codes) > 1  # four draws of 10,000 values: never all the same


# --- the phone: SMS code and number to match ---------------------------------------------------------

def test_sms_code_is_the_fixed_one_and_single_use(app, client, browser):
    demo_on(client)
    email = "demo.sms@example.fr"
    page, verifier = reach_sms_phone(app, browser, email)
    page = browser.submit(page, {"phone-number": "06 75 06 45 72"}, button="next")
    assert page.screen == "proofup-sms-code"
    assert read_sms_codes(browser, "+33675064572") == [demo.SMS_CODE]
    page = browser.submit(page, {"otc": "123456"}, button="next")
    assert page.screen == "proofup-sms-code" and page.error
    page = browser.submit(page, {"otc": demo.SMS_CODE}, button="next")
    assert page.screen == "proofup-sms-verified"
    with app.app_context():
        flow = db.session.get(Flow, page.url.split("/proofup/")[1].split("/")[0])
        assert otp.check_sms_code(flow, "sms_proofup", demo.SMS_CODE) == "missing"


def test_authenticator_number_and_the_guides_date_in_demo_mode(app, client, browser):
    demo_on(client)
    email = "demo.app@example.fr"
    page, verifier = start_proofup(app, browser, email)
    page = browser.submit(browser.submit(page, button="next"), button="next")
    assert page.screen == "proofup-app-qr"
    assert page.testid("activation-code").get_text(strip=True) == demo.ACTIVATION_CODE
    scan_qr_with_phone(browser, email)
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"
    assert page.testid("idRichContext_DisplaySign").get_text(strip=True) == "42"
    # A wrong number is still refused.
    assert answer_notification(browser, email, "41").testid("notification-result")["data-result"] == "wrong_number"
    page = browser.submit(browser.get(page.url), button="resend-push")
    assert page.testid("idRichContext_DisplaySign").get_text(strip=True) == "42"
    assert answer_notification(browser, email, "42").testid("notification-result")["data-result"] == "approved"
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-approved"
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    assert "Wed, 30 Nov 2022 21:47:55 GMT" in page.text()
    finish_sign_in(browser, browser.submit(page, button="done"))
    # The phone's clock and the mailbox show the guide's times too.
    assert "21:47" in browser.get(f"/_emulator/phone/{email}").text()
    with app.test_request_context():
        codes = demo.current_codes(User.by_email(email))
    assert codes["email_code"] == "6152" and codes["sms_code"] == demo.SMS_CODE and codes["push_number"] == 42
    assert codes["captcha_rounds"] == 1 and len(codes["totp"]) == 6


def test_mail_times_are_the_guides_in_demo_mode(client, browser):
    demo_on(client)
    to_verify(browser)
    listing = browser.get("/_emulator/mailbox/?to=nouveau.client@example.fr")
    assert listing.testids("message-item-date")[0].get_text(strip=True) == "15:37"
    mail = browser.get(listing.testids("message")[0].find("a")["href"])
    assert mail.testid("message-date").get_text(strip=True) == "mercredi 30 novembre 2022 à 15:37 UTC"


# --- "Mode démo" on every page, only while on ---------------------------------------------------------

PAGES = {
    "idp-screen": None,  # the email screen of an authorization request
    "mailbox": "/_emulator/mailbox/",
    "phones": "/_emulator/phone/",
    "phone": "/_emulator/phone/client.demo@example.fr",
    "emulator-home": "/_emulator/",
}


def _pages(browser):
    from ..helpers import authorize_url

    for kind, url in PAGES.items():
        yield kind, browser.get(url or authorize_url()[0])


def test_every_page_says_demo_mode_while_on_and_only_then(client, browser):
    for kind, page in _pages(browser):
        assert page.testid("emulator-marker") is not None, kind
        assert page.testid("demo-marker") is None, kind
    demo_on(client)
    for kind, page in _pages(browser):
        marker = page.testid("demo-marker")
        assert marker is not None and marker.get_text(strip=True) == "· Mode démo", kind
        assert marker.find_parent(attrs={"data-testid": "emulator-marker"}) is not None, kind
    demo_on(client, False)
    for kind, page in _pages(browser):
        assert page.testid("demo-marker") is None, kind


def test_seed_settings_accept_demo(app, tmp_path):
    from idp import seeds

    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "settings.yaml").write_text("demo: true\nlanguage: en\n")
    assert seeds.read_settings(folder) == {"demo": True, "language": "en"}
    (folder / "settings.yaml").write_text("demo: maybe\n")
    with pytest.raises(seeds.SeedError):
        seeds.read_settings(folder)


def test_demo_setting_survives_only_as_a_setting_row(app, client):
    demo_on(client)
    with app.app_context():
        assert Setting.get("demo") is True


def test_serve_demo_and_the_espace_client_says_demo_mode_too(tmp_path):
    """`serve --demo` starts in demo mode; the Espace Client (another server) asks the IdP and says it as well,
    and stops saying it once demo mode is switched off."""
    import requests

    from client_app import create_app as create_client_app
    from client_app import demo as client_demo

    from ..conftest import TENANT, LiveServer

    server = LiveServer(tmp_path / "live", serve_args=["--demo"]).start()
    try:
        assert requests.get(f"{server.base_url}{API}/settings", timeout=5).json()["demo"] is True
        assert requests.get(f"{server.base_url}/_emulator/status", timeout=5).json() == {"demo": True}
        espace = create_client_app({"CLIENT_DATA_DIR": str(tmp_path / "client"),
                                    "CLIENT_AUTHORITY": f"{server.base_url}/{TENANT}/v2.0", "TESTING": True})
        client_demo.forget()
        page = espace.test_client().get("/").get_data(as_text=True)
        assert 'data-testid="demo-marker"' in page and "Mode démo" in page
        assert requests.put(f"{server.base_url}{API}/settings", json={"demo": False}, timeout=5).json()["demo"] is False
        client_demo.forget()
        assert 'data-testid="demo-marker"' not in espace.test_client().get("/").get_data(as_text=True)
    finally:
        server.stop()
        client_demo.forget()
