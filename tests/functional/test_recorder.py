"""The journey recorder: the timeline of a journey, as a page and as JSON, with no secret in it."""
import json

from bs4 import BeautifulSoup

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD
from ..helpers import redeem, sign_in

API = "/_emulator/api"


def last_journey(client):
    return client.get(f"{API}/journeys").get_json()["journeys"][0]["id"]


def test_timeline_of_a_returning_sign_in(client, browser):
    params, verifier, _ = sign_in(browser)
    tokens = redeem(client, params["code"], verifier).get_json()
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()

    assert journey["email"] == "client.demo@example.fr" and journey["status"] == "complete"
    assert journey["client"] == {"client_id": CLIENT_ID, "name": "Espace Client"}
    assert journey["screens"] == ["email", "password", "kmsi", "app-consent"]
    names = [(e["kind"], e["name"]) for e in journey["events"]]
    assert names[0] == ("request", "authorize")
    for step in [("screen", "email"), ("input", "email"), ("screen", "password"), ("input", "password"),
                 ("screen", "kmsi"), ("input", "kmsi"), ("screen", "app-consent"), ("input", "app-consent"),
                 ("journey", "complete"), ("code", "authorization_code")]:
        assert step in names, step
    assert names.index(("screen", "email")) < names.index(("screen", "password")) < names.index(("screen", "kmsi"))
    kinds = [(t["type"], bool(t.get("redeemed_at"))) for t in journey["tokens"]]
    assert ("authorization_code", True) in kinds and any(t == "refresh_token" for t, _ in kinds)

    text = json.dumps(journey, ensure_ascii=False)
    for secret in (PASSWORD, params["code"], verifier, tokens["access_token"], tokens["refresh_token"],
                   tokens["id_token"], CLIENT_SECRET, "csrf"):
        assert secret not in text
    password_input = next(e for e in journey["events"] if e["kind"] == "input" and e["name"] == "password")
    assert set(password_input["data"].values()) <= {"•••"}


def test_timeline_of_an_sms_sign_in_hides_the_code(client, browser):
    from .test_clock_faults import finish, sms_codes, to_mfa

    page, _ = to_mfa(browser, "sms.demo@example.fr")
    code = sms_codes(client)[0]
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert "code" in finish(browser, page)
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()
    assert "mfa-otp" in journey["screens"]
    assert [m["channel"] for m in journey["messages"]] == ["sms"]
    assert code not in json.dumps(journey) and PASSWORD not in json.dumps(journey)


def test_open_journey_shows_the_screen_it_is_at(client, browser):
    from ..helpers import authorize_url

    url, _ = authorize_url()
    page = browser.get(url)
    browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()
    assert journey["status"] == "open" and journey["screen"] == "password"


def test_recorder_page_and_its_json_export(client, browser):
    sign_in(browser)
    journey_id = last_journey(client)
    page = client.get(f"/_emulator/journeys/{journey_id}")
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert soup.body["data-screen"] == "emulator-journey"
    events = soup.find_all(attrs={"data-testid": "event"})
    assert [e["data-name"] for e in events if e["data-kind"] == "screen"] == ["email", "password", "kmsi",
                                                                                 "app-consent"]
    assert PASSWORD not in page.get_data(as_text=True)
    exported = client.get(f"/_emulator/journeys/{journey_id}?format=json").get_json()
    assert exported == client.get(f"{API}/journeys/{journey_id}").get_json()
    assert soup.find(attrs={"data-testid": "export-json"})["href"].endswith("format=json")


def test_recorder_page_of_an_unknown_journey_is_404(client):
    assert client.get("/_emulator/journeys/nope").status_code == 404


def test_home_lists_users_with_devices_and_journeys(client, browser):
    sign_in(browser)
    soup = BeautifulSoup(client.get("/_emulator/").get_data(as_text=True), "html.parser")
    assert soup.body["data-screen"] == "emulator-home"
    row = soup.find(attrs={"data-testid": "user", "data-email": "sms.demo@example.fr"})
    assert row.find(attrs={"data-testid": "user-state"}).get_text(strip=True) == "mfa_sms"
    assert row.find(attrs={"data-testid": "user-mailbox"})["href"] == "/_emulator/mailbox?to=sms.demo%40example.fr"
    assert row.find(attrs={"data-testid": "user-phone"})["href"] == "/_emulator/phone/sms.demo%40example.fr"
    links = {a["data-testid"]: a["href"] for a in soup.find(attrs={"data-testid": "links"}).find_all("a")}
    assert links["link-api"] == "/_emulator/api/openapi.json" and links["link-mailbox"] == "/_emulator/mailbox"
    assert links["link-discovery"].endswith("/v2.0/.well-known/openid-configuration")
    journey = soup.find(attrs={"data-testid": "journey"})
    assert journey.a["href"] == f"/_emulator/journeys/{journey['data-journey']}"
    for link in [links["link-api"], links["link-discovery"], journey.a["href"]]:
        assert client.get(link).status_code == 200


def values(data):
    """Every scalar of a JSON document, at any depth."""
    if isinstance(data, dict):
        return [v for item in data.values() for v in values(item)]
    if isinstance(data, list):
        return [v for item in data for v in values(item)]
    return [data]


def test_timeline_of_a_sign_up_hides_password_and_email_code(client, browser):
    from .test_signup import INVITED, NEW_PASSWORD, past_captcha_intro, to_verify

    page = to_verify(browser)
    code = client.get(f"{API}/messages", query_string={"to": INVITED}).get_json()["messages"][0]["code"]
    page = past_captcha_intro(browser, browser.submit(page, {"otc": code}, button="idSIButton9"))
    for _ in range(10):
        if page.screen != "captcha":
            break
        answer = client.get(f"{API}/captcha", query_string={"email": INVITED}).get_json()["answer"]
        page = browser.submit(page, {"choice": answer}, button="idSIButton9")
    assert page.screen == "tenant-consent"
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()
    assert journey["screens"][:6] == ["email", "signup-password", "signup-profile", "signup-verify-email",
                                      "captcha-intro", "captcha"]
    assert set(journey["screens"][6:-1]) <= {"captcha"} and journey["screens"][-1] == "tenant-consent"
    assert journey["screen"] == "tenant-consent"
    assert [m["channel"] for m in journey["messages"]] == ["email"] and journey["messages"][0]["has_code"]
    assert code not in values(journey) and NEW_PASSWORD not in json.dumps(journey)


def test_captcha_loop_scenario_never_lets_the_puzzle_pass(client, browser):
    from .test_signup import INVITED, past_captcha_intro, to_verify

    client.post(f"{API}/reset", json={"scenario": "captcha-loop"})
    page = to_verify(browser)
    code = client.get(f"{API}/messages", query_string={"to": INVITED}).get_json()["messages"][0]["code"]
    page = past_captcha_intro(browser, browser.submit(page, {"otc": code}, button="idSIButton9"))
    for _ in range(4):
        data = client.get(f"{API}/captcha", query_string={"email": INVITED}).get_json()
        assert data["mode"] == "loop"
        page = browser.submit(page, {"choice": data["answer"]}, button="idSIButton9")
        assert page.screen == "captcha"


def test_each_screen_event_names_the_check_that_sent_the_browser_there(client, browser):
    sign_in(browser)
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()
    checks = [(e["name"], e["data"].get("check")) for e in journey["events"] if e["kind"] == "screen"]
    assert checks == [("email", "account_unknown"), ("password", "password_required"), ("kmsi", "kmsi_unanswered"),
                      ("app-consent", "app_consent_missing")]


def test_a_prompt_none_refusal_records_the_failing_check_and_its_error(client, browser):
    from ..helpers import authorize_url, callback_params

    url, _ = authorize_url(prompt="none", login_hint="client.demo@example.fr")
    browser.get(url)
    assert callback_params(browser)["error"] == "login_required"
    journey = client.get(f"{API}/journeys/{last_journey(client)}").get_json()
    refusal = next(e for e in journey["events"] if e["name"] == "prompt-none")
    assert refusal["data"] == {"check": "password_required", "error": "login_required", "aadsts": 50058}
