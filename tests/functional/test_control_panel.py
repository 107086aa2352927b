"""The control panel of the emulator home: the control API's operations as plain forms (CSRF, POST-redirect-GET,
no JavaScript), each checked through the control API."""
import pytest

from idp.journey.captcha import MODES as CAPTCHA_MODES

API = "/_emulator/api"


def settings(client):
    return client.get(f"{API}/settings").get_json()


def home(browser):
    page = browser.get("/_emulator/")
    assert page.screen == "emulator-home"
    return page


def flash(page):
    found = page.testid("flash")
    assert found is not None, page.text()[:500]
    return found.get_text(strip=True), found["data-category"]


def test_home_links_to_the_tools_and_the_presenter_view(browser):
    page = home(browser)
    hrefs = {a["data-testid"]: a["href"] for a in page.testid("links").find_all("a")}
    assert hrefs["link-present"] == "/_emulator/present" and hrefs["link-screens"] == "/_emulator/screens"
    assert hrefs["link-mailbox"] == "/_emulator/mailbox" and "link-phone" in hrefs and "link-api" in hrefs
    # Every panel form is a plain POST form with its CSRF token: it works without JavaScript.
    forms = page.testid("panel").find_all("form")
    assert len(forms) == 7
    for form in forms:
        assert form["method"] == "post" and form.find("input", attrs={"name": lambda n: n and n.endswith("csrf_token")})


def test_captcha_modes_offered_are_the_one_list(browser):
    options = [o["value"] for o in home(browser).testid("panel-captcha").find_all("option")]
    assert options == list(CAPTCHA_MODES)


@pytest.mark.parametrize("name, value, expected", [
    ("captcha", "loop", "loop"),
    ("captcha", "auto", "auto"),
    ("captcha_rounds", "2", 2),
    ("mfa", "never", "never"),
    ("mfa", "once", "once"),
    ("demo", "on", True),
    ("language", "en", "en"),
])
def test_each_setting_form_changes_the_setting(client, browser, name, value, expected):
    page = browser.submit(home(browser), {f"{name}-value": value}, button=f"panel-{name}-submit")
    assert page.screen == "emulator-home"
    message, category = flash(page)
    assert category == "message" and message.endswith(".")
    assert settings(client)[name] == expected
    # The form shows the value now stored.
    assert page.testid(f"panel-{name}").find("option", selected=True)["value"] == value


def test_clearing_a_setting_and_switching_demo_off(client, browser):
    browser.submit(home(browser), {"mfa-value": "never"}, button="panel-mfa-submit")
    browser.submit(home(browser), {"demo-value": "on"}, button="panel-demo-submit")
    page = browser.submit(home(browser), {"mfa-value": ""}, button="panel-mfa-submit")
    assert flash(page)[0] == "Politique MFA : celle de l'organisation."
    assert page.testid("demo-marker") is not None
    page = browser.submit(home(browser), {"demo-value": "off"}, button="panel-demo-submit")
    assert flash(page)[0] == "Mode démo : désactivé."
    assert settings(client)["mfa"] is None and settings(client)["demo"] is False
    assert page.testid("demo-marker") is None


def test_a_value_outside_the_list_is_refused_in_french(client, browser):
    page = browser.submit(home(browser), {"captcha-value": "nope"}, button="panel-captcha-submit")
    assert flash(page) == ("Choisissez une valeur de la liste.", "error")
    assert settings(client)["captcha"] == "puzzle"


def test_forms_without_the_csrf_token_are_refused(client):
    for path, data in (("/_emulator/panel/settings/mfa", {"mfa-value": "never"}),
                       ("/_emulator/panel/settings/demo", {"demo-value": "on"}),
                       ("/_emulator/panel/reset", {"reset-scenario": "default"}),
                       ("/_emulator/panel/invite", {"invite-email": "x@example.fr"})):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "jeton de sécurité" in response.get_data(as_text=True)
    assert settings(client)["mfa"] is None and settings(client)["demo"] is False
    assert client.get(f"{API}/users/x@example.fr").status_code == 404


def test_reset_to_a_chosen_scenario(client, browser):
    scenarios = client.get(f"{API}/scenarios").get_json()["scenarios"]
    page = home(browser)
    assert [o["value"] for o in page.testid("panel-reset").find_all("option")] == scenarios
    assert page.testid("panel-reset").find("option", selected=True)["value"] == "default"
    assert "captcha-loop" in scenarios
    browser.submit(page, {"mfa-value": "never"}, button="panel-mfa-submit")
    page = browser.submit(home(browser), {"reset-scenario": "captcha-loop"}, button="panel-reset-submit")
    assert flash(page) == ("Émulateur réinitialisé avec le scénario « captcha-loop ».", "message")
    current = settings(client)
    assert current["captcha"] == "loop" and current["mfa"] is None  # the scenario's settings, nothing kept


def test_reset_to_an_unknown_scenario_changes_nothing(client, browser):
    page = browser.submit(home(browser), {"reset-scenario": "../etc"}, button="panel-reset-submit")
    assert flash(page) == ("Choisissez un scénario de la liste.", "error")
    assert client.get(f"{API}/users/client.demo@example.fr").status_code == 200


def test_invite_sends_the_invitation_mail(client, browser):
    email = "invite.panel@example.fr"
    page = browser.submit(home(browser), {"invite-email": email, "invite-name": "Client Panel"},
                          button="panel-invite-submit")
    assert flash(page) == (f"Invitation envoyée à {email} (voir la boîte mail).", "message")
    user = client.get(f"{API}/users/{email}").get_json()
    assert user["state"] == "invited" and user["name"] == "Client Panel"
    mails = client.get(f"{API}/messages", query_string={"to": email, "channel": "email"}).get_json()["messages"]
    assert len(mails) == 1 and any("/redeem" in link or "invit" in link for link in mails[0]["links"])
    # The mailbox shows it too.
    assert browser.get(f"/_emulator/mailbox/?to={email}").testids("message")


@pytest.mark.parametrize("email, words", [("", "Entrez l'adresse e-mail"), ("pas-une-adresse", "Invitation refusée"),
                                          ("client.demo@example.fr", "already has an account")])
def test_invite_refuses_bad_addresses_with_a_message(client, browser, email, words):
    page = browser.submit(home(browser), {"invite-email": email}, button="panel-invite-submit")
    message, category = flash(page)
    assert category == "error" and words in message
