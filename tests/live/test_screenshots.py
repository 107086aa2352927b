"""Every screen of the emulator rendered in headless Chromium, saved as test-artifacts/screens/<screen-id>.png.

Real journeys against one live emulator (the `idp` fixture), driven by clicks and typing only; the control API
gives what a person would read elsewhere (email code, TOTP code) and changes QA settings:
- an invited client (invitation email, sign-up, the captcha shown as a puzzle then passed in "auto" mode, tenant
  consent, Microsoft Authenticator proof-up with the virtual phone beside the browser);
- a guest with an account and no MFA method (another authenticator app, then the SMS branch);
- a returning Authenticator user (password, push, another way, TOTP, KMSI, app consent, account picker);
- the error page (a redirect_uri the app never registered), the mailbox, the emulator's home and journey recorder;
- the Espace Client (client_app on a free port of the test process, with a signed-in client): connect, error, CGU,
  dashboard, every tile, the forms with their errors and confirmations, the admin pages.
At the end every screen id of idp.blueprints.screens.SCREENS must have been captured.

The same walk checks the phone size: after each desktop screenshot the viewport shrinks to 390 × 844 for a moment,
and the page must not scroll sideways there (document.documentElement.scrollWidth <= 390). One walk, two checks.
"""
import datetime
import re
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from playwright import sync_api
from werkzeug.serving import WSGIRequestHandler, make_server

from idp.blueprints.screens import SCREENS
from idp.trainer.guide import WAITING, held

from ..conftest import TENANT_ID, free_port
expect = sync_api.expect

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
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
                 "phone-notification", "phone-messages", "phone-index", "mailbox", "mailbox-message", "emulator-home",
                 "emulator-journey"}
# The Espace Client's pages (client_app), tiles included.
CLIENT_SCREENS = {"client-connect", "client-error", "client-cgu", "client-dashboard", "client-contact", "client-contact-sent",
                  "client-appointment", "client-appointment-sent", "client-admin-login", "client-admin-invitations",
                  "client-coffre-fort", "client-mes-factures", "client-messagerie", "client-agenda", "client-banque",
                  "client-depot-doc", "client-ma-compta", "client-mes-salaries", "client-cash-manager",
                  "client-ma-facturation"}
PHONE_SIZE = {"width": 390, "height": 844}
LAPTOP_SIZE = {"width": 1280, "height": 800}

pytestmark = pytest.mark.browser


class Camera:
    """Checks each page (emulator marker, no 5xx on the way), saves it once per screen id, and measures its width on a
    390 px wide phone."""

    def __init__(self):
        self.captured = {}
        self.server_errors = []
        self.phone_widths = {}  # name -> the page's scrollWidth at 390 × 844 (the widest seen under that name)
        self.invitation = {}  # what the mailbox showed of the invitation mail at 1280 × 800

    def watch(self, context):
        """Record every 5xx answer, except from localhost:8401: whatever listens there is not under test."""
        context.on("response", lambda r: r.status >= 500 and not CLIENT_APP.match(r.url)
                   and self.server_errors.append(f"{r.status} {r.url}"))

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
        self.measure(page, name)
        return page

    def measure(self, page, name):
        """Shrink the viewport to a phone's for a moment and record how wide the page is there."""
        size = page.viewport_size
        page.set_viewport_size(PHONE_SIZE)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.set_viewport_size(size)
        self.phone_widths[name] = max(width, self.phone_widths.get(name, 0))


def screen_of(page):
    page.wait_for_load_state()
    return page.get_attribute("body", "data-screen")


def click(page, selector):
    """Click a link or submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def leave(page, selector):
    """Click the button that sends the browser back to the app (a redirect the browser answers itself)."""
    # No expect_navigation here: it reports the routed redirect as a failed navigation. Wait for the app's address,
    # not for the stub's page: Chromium sends a redirect to a port where something listens (an Espace Client started
    # by `up`, say) to that server instead of the route.
    page.locator(selector).first.click()
    page.wait_for_url(CLIENT_APP)


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


class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        """No access log line per request."""


class EspaceClient:
    """The Espace Client (client_app) on a free port of this process, on its own data folder."""

    def __init__(self, idp, data_dir):
        from client_app import create_app

        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.app = create_app({"TESTING": True, "CLIENT_DATA_DIR": str(data_dir), "SECRET_KEY": "screenshots",
                               "CLIENT_BASE_URL": self.base, "CLIENT_AUTHORITY": idp.authority})
        self.server = make_server("127.0.0.1", port, self.app, threaded=True, request_handler=Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def sign_in(self, context, email, name):
        """A client who just came back from the IdP and has not accepted the CGU yet (the sign-in itself is tested in
        test_client_app.py and the journey tests)."""
        from client_app.extensions import db
        from client_app.models import Account, SentInvitation

        with self.app.app_context():
            account = Account(tenant_id=TENANT_ID, oid="oid-screens", email=email, name=name)
            db.session.add(account)
            for number, status in enumerate(("PendingAcceptance", "Completed")):
                db.session.add(SentInvitation(invitation_id=f"inv-{number}", email=email, display_name=name,
                                              redeem_url=f"{self.base}/", status=status))
            db.session.commit()
            account_id = account.id
        with self.app.test_request_context():
            cookie = self.app.session_interface.get_signing_serializer(self.app).dumps({"account_id": account_id})
        context.add_cookies([{"name": self.app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": self.base}])


def next_open_day():
    day = datetime.date.today() + datetime.timedelta(days=3)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def visit_the_espace_client(chromium, camera, idp, data_dir):
    """Every page of the Espace Client, as a signed-in client with a long address, then as the firm's admin."""
    espace = EspaceClient(idp, data_dir)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    context.set_default_timeout(15_000)
    camera.watch(context)
    try:
        walk_the_espace_client(context.new_page(), camera, espace)
    finally:
        context.close()
        espace.close()


def walk_the_espace_client(page, camera, espace):
    base = espace.base
    page.goto(f"{base}/")
    camera.shot(page, "client-connect")
    page.goto(f"{base}/auth/callback")
    camera.shot(page, "client-error")

    espace.sign_in(page.context, "camille.durand-lefebvre@societe-exemple-aux-longs-noms.fr", "Camille Durand-Lefebvre")
    page.goto(f"{base}/tableau-de-bord")
    camera.shot(page, "client-cgu")
    click(page, '[data-testid="accept-cgu"]')
    camera.shot(page, "client-dashboard")
    tiles = page.locator('[data-testid="tile"]').evaluate_all("tiles => tiles.map(t => t.href)")
    for href in tiles:
        page.goto(href)
        camera.shot(page, page.get_attribute("body", "data-screen"))
    page.goto(f"{base}/tableau-de-bord")
    click(page, '[data-testid="contact"]')
    camera.shot(page, "client-contact")
    click(page, '[data-testid="submit"]')
    camera.shot(page, "client-contact", "client-contact-errors")
    page.fill("#name", "Camille Durand-Lefebvre")
    page.fill("#phone", "06 12 34 56 78")
    page.fill("#email", "camille.durand-lefebvre@societe-exemple-aux-longs-noms.fr")
    page.select_option("#subject", index=1)
    page.select_option("#slot", index=1)
    click(page, '[data-testid="submit"]')
    camera.shot(page, "client-contact-sent")
    page.goto(f"{base}/tableau-de-bord")
    click(page, '[data-testid="appointment"]')
    camera.shot(page, "client-appointment")
    page.fill("#day", next_open_day().isoformat())
    for field in ("#slot", "#mode", "#topic"):
        page.select_option(field, index=1)
    click(page, 'main button[type="submit"]')
    camera.shot(page, "client-appointment-sent")
    page.goto(f"{base}/admin/invitations")
    camera.shot(page, "client-admin-login")
    # The random password the Espace Client made at its first start (no CLIENT_ADMIN_PASSWORD here).
    page.fill("#password", espace.app.config["CLIENT_ADMIN_PASSWORD"] or espace.app.config["CLIENT_ADMIN_PASSWORD_CREATED"])
    click(page, 'main button[type="submit"]')
    camera.shot(page, "client-admin-invitations")


@pytest.fixture(scope="module")
def tour(idp_server, tmp_path_factory, chromium):
    """Walk every screen once (see the module's docstring) and return the Camera that saw them."""
    idp_server.scenario = "default"
    idp_server.reset()
    return walk(chromium, idp_server, tmp_path_factory.mktemp("espace-client"))


def walk(chromium, idp, client_data):
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

    opened = []

    def desktop():
        """A desktop browser the camera watches, whose sign-ins land on the stubbed Espace Client."""
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        opened.append(context)
        camera.watch(context)
        context.route(CLIENT_APP, client_app)
        return context

    try:
        desk = desktop()
        pocket = chromium.new_context(viewport={"width": 420, "height": 860}, locale="fr-FR")
        opened.append(pocket)
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
        read_the_invitation(page, camera)
        read_the_invitation_without_javascript(chromium, page.url, camera)
        page.goto(redeem)  # the guide: the invitation opens the sign-in page, where the client types the address
        camera.shot(page, "email", "email-invitation")
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
        camera.shot(page, "captcha-intro")
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
        # Once scanned, the sign-in page sends the notification and the phone goes to it by themselves (they ask
        # every IDP_POLL_MS): their questions wait until the scan's result is shot (idp.trainer.guide.scan_qr).
        with held(pocket), held(page.context, WAITING):
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

        # --- the emulator's pages once journeys exist: the home, a journey's recording, the phones' index -----
        page = pocket.new_page()
        page.goto(f"{base}/_emulator/phone/")
        camera.shot(page, "phone-index")
        page.close()
        page = desktop().new_page()
        page.goto(f"{base}/_emulator/")
        camera.shot(page, "emulator-home", "emulator-home-journeys")
        click(page, '[data-testid="journey"] a')
        camera.shot(page, "emulator-journey")
        page.context.close()

        visit_the_espace_client(chromium, camera, idp, client_data)
    finally:
        for context in opened:  # those the walk has not closed, if it stopped on the way
            context.close()
    camera.seconds = time.monotonic() - started
    return camera


def read_the_invitation(page, camera):
    """On a 1280 × 800 laptop: where the invitation's button is, and what the mail's links are."""
    size = page.viewport_size
    page.set_viewport_size(LAPTOP_SIZE)
    frame = page.locator('[data-testid="message-html"]')
    expect(frame).to_have_attribute("style", re.compile(r"height: *[1-9]\d*px"))  # sized to the mail by mailbox.js
    mail = page.frame_locator('[data-testid="message-html"]')
    button = mail.get_by_role("link", name="Je configure mon nouvel accès")
    expect(button).to_be_visible()
    camera.invitation = {
        "button": button.bounding_box(),
        "frame": frame.bounding_box(),
        "mail height": mail.locator("html").evaluate("html => html.scrollHeight"),
        "scrolled": page.evaluate("window.scrollY"),
        "links": mail.locator("a").evaluate_all("links => links.map(a => [a.textContent.trim(), a.getAttribute('href')])"),
    }
    page.set_viewport_size(PHONE_SIZE)  # on a phone the reading pane comes first, the list under it
    camera.invitation["pane on a phone"] = page.locator(".webmail-pane").bounding_box()
    camera.invitation["list on a phone"] = page.locator(".webmail-list").bounding_box()
    page.set_viewport_size(size)


def read_the_invitation_without_javascript(chromium, url, camera):
    """The same mail in a browser with JavaScript off: the frame keeps its CSS height, the button still shows."""
    context = chromium.new_context(viewport=LAPTOP_SIZE, locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.locator("body")).to_have_attribute("data-screen", "mailbox-message")
        button = page.frame_locator('[data-testid="message-html"]').get_by_role("link", name="Je configure mon nouvel accès")
        expect(button).to_be_visible()
        camera.invitation["button without JavaScript"] = button.bounding_box()
        camera.invitation["frame without JavaScript"] = page.locator('[data-testid="message-html"]').bounding_box()
    finally:
        context.close()


def test_every_screen_is_rendered_and_saved(tour):
    missing = sorted(set(SCREENS) - set(tour.captured))
    assert not missing, f"screens never captured: {missing}"
    missing = sorted((OTHER_SCREENS | CLIENT_SCREENS) - set(tour.captured))
    assert not missing, f"emulator and Espace Client pages never captured: {missing}"
    assert not tour.server_errors, tour.server_errors
    for path in tour.captured.values():
        assert path.stat().st_size > 5_000, f"{path.name} looks empty"
    assert tour.seconds < 150, f"the screenshot tour should stay under 150 s (took {tour.seconds:.0f} s)"


def test_every_screen_fits_a_390px_wide_phone(tour):
    assert set(tour.captured) <= set(tour.phone_widths)
    too_wide = {name: width for name, width in sorted(tour.phone_widths.items()) if width > PHONE_SIZE["width"]}
    assert not too_wide, f"screens wider than a 390 px phone (scrollWidth): {too_wide}"


def test_invitation_mail_shows_whole_with_its_button_above_the_fold_and_real_links(tour):
    seen = tour.invitation
    button, frame = seen["button"], seen["frame"]
    assert seen["scrolled"] == 0
    assert button["y"] >= 0 and button["y"] + button["height"] <= LAPTOP_SIZE["height"], (
        f"the invitation's button is below the fold at 1280 × 800: {button}")
    assert frame["height"] >= seen["mail height"], "the mail's frame cuts the mail"
    links = dict(seen["links"])
    assert links["ce guide"].startswith("https://") and links["F.A.Q"].startswith("https://")
    assert links["02.41.66.17.49"] == "tel:0241661749"
    assert links["support.digital@bakertilly.fr"] == "mailto:support.digital@bakertilly.fr"
    assert "/redeem?" in links["Je configure mon nouvel accès"]
    pane, listing = seen["pane on a phone"], seen["list on a phone"]
    assert pane["x"] == listing["x"] == 0 and pane["width"] == listing["width"] == PHONE_SIZE["width"]
    assert pane["y"] + pane["height"] <= listing["y"], "on a phone the reading pane and the list stack"
    # Without JavaScript the frame does not follow the mail's height, but the button is still in sight.
    button, frame = seen["button without JavaScript"], seen["frame without JavaScript"]
    assert frame["y"] <= button["y"] and button["y"] + button["height"] <= min(frame["y"] + frame["height"],
                                                                            LAPTOP_SIZE["height"]), (button, frame)
