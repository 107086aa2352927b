"""Every screen of the emulator rendered in headless Chromium, saved as test-artifacts/screens/<screen-id>.png.

Real journeys against one live emulator (the `idp` fixture), driven by clicks and typing only; the control API
gives what a person would read elsewhere (email code, TOTP code) and changes QA settings:
- an invited client (invitation email, sign-up, the captcha shown as a puzzle then passed in "auto" mode, tenant
  consent, Microsoft Authenticator proof-up with the virtual phone beside the browser);
- a guest with an account and no MFA method (another authenticator app, then the SMS branch);
- a returning Authenticator user (password, push, another way, TOTP, KMSI, app consent, account picker);
- the error page (a redirect_uri the app never registered), the mailbox and the emulator's home.
At the end every screen id of idp.blueprints.screens.SCREENS must have been captured.
"""
import re
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from idp.blueprints.screens import SCREENS

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screens"
PASSWORD = "Capture-2026!"
INVITED = "ecran.invite@example.fr"
GUEST = "ecran.sms@example.fr"
RETURNING = "ecran.retour@example.fr"
PHONE_NATIONAL = "0611223344"
PHONE = "+33611223344"
# The Espace Client of the default seeds (redirect URI and home page): answered by the browser itself.
CLIENT_APP = re.compile(r"^https?://(localhost|127\.0\.0\.1):8401(/|$)")
# Screens of the emulator beyond the journey: the error page, the virtual phone, the mailbox, the home page.
OTHER_SCREENS = {"error", "phone-home", "phone-authenticator", "phone-add-account", "phone-account-type", "phone-scan",
                 "phone-notification", "phone-messages", "mailbox", "mailbox-message", "emulator-home"}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed")]


class Camera:
    """Checks each page (emulator marker, no 5xx on the way) and saves it once per screen id."""

    def __init__(self):
        self.captured = {}
        self.server_errors = []

    def watch(self, context):
        context.on("response", lambda r: r.status >= 500 and self.server_errors.append(f"{r.status} {r.url}"))

    def shot(self, page, screen_id, name=None):
        """Wait for `screen_id`, check the page, save it as <name or screen_id>.png (first time only)."""
        name = name or screen_id
        expect(page.locator("body")).to_have_attribute("data-screen", screen_id)
        page.wait_for_load_state()
        assert not self.server_errors, self.server_errors
        expect(page.locator('[data-testid="emulator-marker"]').first).to_be_visible()
        assert "Internal Server Error" not in page.content()
        if name not in self.captured:
            path = SHOTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            self.captured[name] = path
        return page


def screen_of(page):
    page.wait_for_load_state()
    return page.get_attribute("body", "data-screen")


def click(page, selector):
    """Click a link or submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def leave(page, selector):
    """Click the button that sends the browser back to the app (a redirect the browser answers itself)."""
    # No expect_navigation here: it reports the routed redirect as a failed navigation.
    page.locator(selector).first.click()
    expect(page.locator("body")).to_have_attribute("data-screen", "client-callback")


def authorize(idp, **extra):
    query = {"client_id": idp.client_id, "response_type": "code", "redirect_uri": idp.redirect_uri,
             "scope": "openid profile email offline_access", "state": "shots", "nonce": "n", **extra}
    return f"{idp.authority}/oauth2/v2.0/authorize?{urlencode(query)}"


def client_app(route):
    """Stand in for the Espace Client: its redirect URI and home page."""
    route.fulfill(status=200, content_type="text/html", body="<body data-screen='client-callback'>Espace Client</body>")


def sign_in(page, camera, email, password=PASSWORD):
    camera.shot(page, "email")
    page.fill("#i0116", email)
    click(page, "#idSIButton9")
    camera.shot(page, "password")
    page.fill("#i0118", password)
    click(page, "#idSIButton9")


def test_every_screen_is_rendered_and_saved(idp):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    expect.set_options(timeout=15_000)
    camera = Camera()
    base = idp.base_url
    started = time.monotonic()

    idp.settings(captcha="puzzle")
    idp.create_user(GUEST, state="registered", password=PASSWORD, invited=True)
    idp.create_user(RETURNING, state="mfa_authenticator", password=PASSWORD)
    redeem = idp.invite(INVITED, name="Client Écran")["inviteRedeemUrl"]

    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)

        def desktop():
            """A desktop browser the camera watches, whose sign-ins land on the stubbed Espace Client."""
            context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            camera.watch(context)
            context.route(CLIENT_APP, client_app)
            return context

        try:
            desk = desktop()
            pocket = chromium.new_context(viewport={"width": 420, "height": 860}, locale="fr-FR")
            camera.watch(pocket)
            for context in (desk, pocket):
                context.set_default_timeout(15_000)

            # --- the emulator's home and the error page ----------------------------------------------------------
            page = desk.new_page()
            page.goto(f"{base}/_emulator/")
            camera.shot(page, "emulator-home")
            page.goto(authorize(idp, redirect_uri="https://attacker.example/callback"))
            camera.shot(page, "error")
            expect(page.locator('[data-testid="error"]')).to_contain_text(
                "AADSTS50011: The redirect URI 'https://attacker.example/callback' specified")

            # --- 1. the invited client: invitation email, sign-up, captcha, Authenticator proof-up ---------------
            page.goto(f"{base}/_emulator/mailbox?to={quote(INVITED)}")
            camera.shot(page, "mailbox")
            click(page, '[data-testid="message-open"]')
            camera.shot(page, "mailbox-message")
            expect(page.frame_locator('[data-testid="message-html"]').locator("body")).to_contain_text(
                "Je configure mon nouvel accès")
            page.goto(redeem)
            if screen_of(page) == "email":
                page.fill("#i0116", INVITED)
                click(page, "#idSIButton9")
            camera.shot(page, "signup-password")
            page.fill("#new-password", PASSWORD)
            click(page, "#idSIButton9")
            camera.shot(page, "signup-profile")
            page.select_option("#birth-day", "14")
            page.select_option("#birth-month", "6")
            page.fill("#birth-year", "1984")
            click(page, "#idSIButton9")
            camera.shot(page, "signup-verify-email")
            code = idp.last_code(INVITED, channel="email")
            assert code and len(code) == 4
            page.fill("#otc", code)
            click(page, "#idSIButton9")
            camera.shot(page, "captcha")
            expect(page.locator('[data-testid="captcha-choice"]').first).to_be_attached()
            # The puzzle is on record; the remaining rounds pass with one click.
            idp.settings(captcha="auto")
            while screen_of(page) == "captcha":
                click(page, "#idSIButton9")
            camera.shot(page, "tenant-consent")
            expect(page.locator("body")).to_contain_text("Autorisation demandée par")
            click(page, "#idBtn_Accept")
            camera.shot(page, "proofup-interrupt")
            click(page, "#idSubmit_ProofUp_Redirect")
            camera.shot(page, "proofup-app-intro")
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-app-setup")
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-app-qr")
            expect(page.locator('[data-testid="qr-code"]')).to_be_visible()

            phone = pocket.new_page()
            phone.goto(f"{base}/_emulator/phone/{quote(INVITED)}")
            camera.shot(phone, "phone-home")
            click(phone, '[data-testid="open-authenticator"]')
            camera.shot(phone, "phone-authenticator")
            click(phone, '[data-testid="add-account"]')
            camera.shot(phone, "phone-add-account")
            click(phone, '[data-testid="work-or-school"]')
            camera.shot(phone, "phone-account-type")
            click(phone, '[data-testid="scan-qr"]')
            expect(phone.locator('[data-testid="scan-result"]')).to_have_text("Compte ajouté avec succès")
            camera.shot(phone, "phone-scan")

            # The sign-in page and the phone notice the scan by themselves.
            camera.shot(page, "proofup-app-try")
            number = page.locator("#idRichContext_DisplaySign").inner_text().strip()
            expect(phone.locator("body")).to_have_attribute("data-screen", "phone-notification")
            phone.fill('[data-testid="notification-number"]', number)
            camera.shot(phone, "phone-notification")
            click(phone, '[data-testid="approve"]')
            expect(phone.locator('[data-testid="notification-result"]')).to_have_attribute("data-result", "approved")
            camera.shot(page, "proofup-app-approved")
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-success")
            expect(page.locator('[data-testid="default-method"]')).to_have_text("Microsoft Authenticator")
            leave(page, '[data-testid="done"]')
            page.close()

            # --- 2. a guest with an account, no method yet: another app (TOTP), then SMS -------------------------
            guest = desktop()
            page = guest.new_page()
            page.goto(authorize(idp))
            sign_in(page, camera, GUEST)  # seeded as having accepted the tenant's consent already
            camera.shot(page, "proofup-interrupt")
            click(page, "#idSubmit_ProofUp_Redirect")
            camera.shot(page, "proofup-app-intro")
            click(page, '[data-testid="other-authenticator-app"]')
            camera.shot(page, "proofup-totp-qr")
            expect(page.locator('[data-testid="qr-code"]')).to_be_visible()
            click(page, '[data-testid="back"]')
            camera.shot(page, "proofup-app-intro")
            click(page, '[data-testid="other-method"]')
            camera.shot(page, "proofup-method-choice")
            page.select_option('[data-testid="method"]', "phone")
            click(page, '[data-testid="confirm"]')
            camera.shot(page, "proofup-sms-phone")
            page.fill('[data-testid="phone-number"]', PHONE_NATIONAL)
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-sms-code")
            phone.close()  # a new tab: the old one's live update could reload it under our navigation
            phone = pocket.new_page()
            phone.goto(f"{base}/_emulator/phone/{PHONE}")
            camera.shot(phone, "phone-home")
            click(phone, '[data-testid="open-messages"]')
            camera.shot(phone, "phone-messages")
            sms = re.search(r"\b(\d{6})\b", phone.locator('[data-testid="sms"]').first.inner_text()).group(1)
            page.fill('[data-testid="otc"]', sms)
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-sms-verified")
            click(page, '[data-testid="next"]')
            camera.shot(page, "proofup-success", "proofup-success-sms")
            guest.close()

            # --- 3. a returning Authenticator user: push, another way, TOTP, KMSI, consent, account picker -------
            back = desktop()
            page = back.new_page()
            page.goto(authorize(idp))
            sign_in(page, camera, RETURNING)
            camera.shot(page, "mfa-push")
            expect(page.locator("#idRichContext_DisplaySign")).to_have_text(re.compile(r"^\s*\d{2}\s*$"))
            click(page, '[data-testid="signInAnotherWay"]')
            camera.shot(page, "mfa-method-choice")
            click(page, '[data-value="PhoneAppOTP"]')
            camera.shot(page, "mfa-otp")
            page.fill("#idTxtBx_SAOTCC_OTC", idp.totp(RETURNING))
            click(page, "#idSubmit_SAOTCC_Continue")
            camera.shot(page, "kmsi")
            click(page, "#idSIButton9")
            camera.shot(page, "app-consent")
            expect(page.locator("body")).to_contain_text("Espace Client")
            leave(page, "#idBtn_Accept")
            page.goto(authorize(idp, prompt="select_account"))
            camera.shot(page, "account-picker")
            expect(page.locator(f'[data-testid="account-tile"][data-upn="{RETURNING}"]')).to_have_count(1)
            back.close()
        finally:
            chromium.close()

    missing = sorted(set(SCREENS) - set(camera.captured))
    assert not missing, f"screens never captured: {missing}"
    missing = sorted(OTHER_SCREENS - set(camera.captured))
    assert not missing, f"emulator pages never captured: {missing}"
    assert not camera.server_errors, camera.server_errors
    for path in camera.captured.values():
        assert path.stat().st_size > 5_000, f"{path.name} looks empty"
    assert time.monotonic() - started < 90, "the screenshot tour should stay under 90 s"
