"""The Microsoft Authenticator proof-up in headless Chromium: the sign-in browser and the virtual phone side by side."""
import base64
import json
import shutil
from pathlib import Path

import pytest
import requests
import yaml

from idp.trainer.guide import held

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, REDIRECT_URI, TENANT
from ..helpers import authorize_url

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "default"
EMAIL = "navigateur.authenticator@example.fr"

pytestmark = pytest.mark.browser


def seed_invited_user(server, tmp_path):
    """Load the default seeds plus an invited client who has an account but no MFA method yet."""
    folder = tmp_path / "seed"
    shutil.copytree(SEEDS, folder)
    users = yaml.safe_load((folder / "users.yaml").read_text(encoding="utf-8"))
    users.append({"email": EMAIL, "password": PASSWORD, "name": "Client Navigateur", "state": "registered",
                  "invited": True})
    (folder / "users.yaml").write_text(yaml.safe_dump(users, allow_unicode=True), encoding="utf-8")
    result = server.cli("seed", str(folder))
    assert result.returncode == 0, result.stderr


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_authenticator_proofup_with_the_phone_beside_the_browser(live_server, tmp_path, chromium):
    import playwright.sync_api as sync_api

    seed_invited_user(live_server, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.base_url
    path, verifier = authorize_url()
    callbacks = []

    desk = chromium.new_context(viewport={"width": 1000, "height": 860}, locale="fr-FR")
    pocket = chromium.new_context(viewport={"width": 420, "height": 860}, locale="fr-FR")
    try:
        def client_callback(route):
            callbacks.append(route.request.url)
            route.fulfill(status=200, content_type="text/html",
                          body="<html><body data-screen='client-callback'>Espace Client</body></html>")

        desk.route("http://localhost:8401/**", client_callback)
        browser, phone = desk.new_page(), pocket.new_page()
        expect = sync_api.expect
        expect.set_options(timeout=20_000)

        browser.goto(base + path)
        browser.fill("#i0116", EMAIL)
        browser.click("#idSIButton9")
        browser.fill("#i0118", PASSWORD)
        browser.click("#idSIButton9")
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-interrupt")
        browser.click("#idSubmit_ProofUp_Redirect")
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-app-intro")
        browser.click("[data-testid=next]")
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-app-setup")
        browser.click("[data-testid=next]")
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-app-qr")
        expect(browser.locator("[data-testid=qr-code]")).to_be_visible()
        browser.click("text=Impossible de numériser l'image ?")
        expect(browser.locator("[data-testid=activation-code]")).to_be_visible()
        browser.screenshot(path=str(ARTIFACTS / "authenticator-1-browser-qr.png"))

        phone.goto(f"{base}/_emulator/phone/{EMAIL}")
        expect(phone.locator("body")).to_have_attribute("data-screen", "phone-home")
        phone.screenshot(path=str(ARTIFACTS / "authenticator-2-phone-home.png"))
        phone.click("[data-testid=open-authenticator]")
        phone.click("[data-testid=add-account]")
        expect(phone.locator("body")).to_have_attribute("data-screen", "phone-add-account")
        phone.click("[data-testid=work-or-school]")
        expect(phone.locator("body")).to_have_attribute("data-screen", "phone-account-type")
        # Once scanned, the phone goes to the notification by itself: its questions wait until the result is seen.
        with held(pocket):
            phone.click("[data-testid=scan-qr]")
            expect(phone.locator("[data-testid=scan-result]")).to_have_text("Compte ajouté avec succès")
            phone.screenshot(path=str(ARTIFACTS / "authenticator-3-phone-added.png"))

        # The sign-in page notices the scan by itself (polling) and sends the notification.
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-app-try")
        number = browser.locator("#idRichContext_DisplaySign").inner_text().strip()
        assert number.isdigit() and len(number) == 2

        # The phone shows the notification by itself too.
        expect(phone.locator("body")).to_have_attribute("data-screen", "phone-notification")
        phone.fill("[data-testid=notification-number]", number)
        phone.screenshot(path=str(ARTIFACTS / "authenticator-4-phone-notification.png"))
        browser.screenshot(path=str(ARTIFACTS / "authenticator-4-browser-number.png"))
        phone.click("[data-testid=approve]")
        expect(phone.locator("[data-testid=notification-result]")).to_have_attribute("data-result", "approved")

        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-app-approved")
        expect(browser.locator("[data-testid=approved]")).to_contain_text("Notification approuvée")
        browser.click("[data-testid=next]")
        expect(browser.locator("body")).to_have_attribute("data-screen", "proofup-success")
        expect(browser.locator("[data-testid=default-method]")).to_have_text("Microsoft Authenticator")
        browser.screenshot(path=str(ARTIFACTS / "authenticator-5-browser-success.png"))
        browser.click("[data-testid=done]")
        expect(browser.locator("body")).to_have_attribute("data-screen", "kmsi")
        browser.click("#idSIButton9")
        expect(browser.locator("body")).to_have_attribute("data-screen", "app-consent")
        browser.click("#idBtn_Accept")
        expect(browser.locator("body")).to_have_attribute("data-screen", "client-callback")

        # Both windows side by side, as a person sees them.
        phone.goto(f"{base}/_emulator/phone/{EMAIL}/authenticator")
        expect(phone.locator("[data-testid=totp-code]")).to_have_count(1)
        shots = [ARTIFACTS / "authenticator-4-browser-number.png", ARTIFACTS / "authenticator-4-phone-notification.png"]
        images = "".join(f"<img src='data:image/png;base64,{base64.b64encode(s.read_bytes()).decode()}'>" for s in shots)
        with chromium.new_context(viewport={"width": 1440, "height": 880}) as side_by_side:
            board = side_by_side.new_page()
            board.set_content(f"<body style='margin:0;display:flex;gap:10px;background:#333'>{images}</body>")
            board.screenshot(path=str(ARTIFACTS / "authenticator-side-by-side.png"))
    finally:
        desk.close()
        pocket.close()

    assert callbacks, "the client's callback was never reached"
    from urllib.parse import parse_qs, urlsplit

    params = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[-1]).query).items()}
    assert params.get("state") == "state-123"
    response = requests.post(f"{base}/{TENANT}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    assert "mfa" in claims(response.json()["access_token"])["amr"]
