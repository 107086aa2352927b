"""The presenter view and the gallery of screens (issue 13): in-process, « Commencer ici » on every screen it can
prepare, and the guards; in Chromium against `idp-emulator up`:

The presenter view follows a whole Authenticator journey as the trainer clicks in its PC frame (from the invitation
mail to the Espace Client's dashboard), its step rail and callout changing with each screen; « Commencer ici » in the
gallery opens the presenter view at a screen of part 1, of part 2 and of the phone; the IdP pages may be frameable by
their own origin only (`frame-ancestors 'self'`, X-Frame-Options SAMEORIGIN) and the view still works."""
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import expect

from idp.models import Message, User
from idp.trainer import start as starting, steps
from idp.trainer.guide import held

from .test_e2e_demo import Demo

EMAIL = "presentation.authenticator@example.fr"
PASSWORD = "Presentation-Guide-2026!"
# The Authenticator journey as the PC frame shows it, from the mailbox to the dashboard.
JOURNEY = ["mailbox", "mailbox-message", "email", "signup-password", "signup-profile", "signup-verify-email",
           "captcha-intro", "captcha", "tenant-consent", "proofup-interrupt", "proofup-app-intro", "proofup-app-setup",
           "proofup-app-qr", "proofup-app-try", "proofup-app-approved", "proofup-success", "client-connect",
           "app-consent", "client-cgu", "client-dashboard"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("present")).start()
    yield demo
    demo.stop()


def expected(screen, after=None):
    """The rail's texts for a page: part, "Étape n sur N", title, the callout's sentences."""
    step = steps.for_page(screen, after)
    place = steps.place(step.screen, steps.AUTHENTICATOR)
    part = f"Partie {place.part} · {place.part_title}"
    number = f"Étape {place.number} sur {place.total}" if place.number is not None else ""
    return step.screen, part, number, step.title, [c.text for c in step.callouts]


def assert_rail(page, screen, after=None):
    """The presenter shows the guide's step of the page in its PC frame."""
    expect(page.locator("body")).to_have_attribute("data-present-screen", screen, timeout=20_000)
    key, part, number, title, callouts = expected(screen, after)
    expect(page.locator('[data-testid="present-title"]')).to_have_text(title)
    expect(page.locator('[data-testid="present-part"]')).to_have_text(part)
    expect(page.locator('[data-testid="present-step"]')).to_have_text(number)
    expect(page.locator('[data-testid="present-callout"] li')).to_have_text(callouts)
    expect(page.locator(f'[data-testid="present-steps"] [data-step="{key}"]')).to_have_attribute("aria-current", "step")
    return key


def pc_frame(page):
    return page.frame(name="pc")


def press(page, frame, selector, leaving):
    """Click in the PC frame and wait until the presenter shows another page."""
    frame.locator(selector).first.click()
    expect(page.locator("body")).not_to_have_attribute("data-present-screen", leaving, timeout=20_000)


def phone_frame(page):
    return page.frame(name="phone")


@pytest.mark.browser
def test_the_presenter_view_follows_an_authenticator_journey(demo, chromium):
    # `up` says where the presenter view and the gallery are.
    assert f"  Presenter view: {demo.idp}/_emulator/present  (" in demo.output()
    assert f"{demo.idp}/_emulator/screens)" in demo.output()
    invited = demo.cli("invite", EMAIL, "--name", "Client Présentation")
    assert invited.returncode == 0, invited.stderr
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.goto(f"{demo.idp}/_emulator/present?user={quote(EMAIL)}&method=authenticator")
    expect(page.locator('[data-testid="emulator-marker"]')).to_be_visible()
    # The guide's first step: the mailbox, the invitation mail.
    assert_rail(page, "mailbox")
    expect(page.locator('[data-testid="present-callout"] li').first).to_have_text(
        "Réception du mail venant « Espace client Baker Tilly »")
    pc = pc_frame(page)
    press(page, pc, '[data-testid="message-open"]', "mailbox")
    assert_rail(page, "mailbox-message")
    # "Je configure mon nouvel accès": in the presenter view, the mail's button opens in the PC frame (no new tab).
    pc.frame_locator('[data-testid="message-html"]').get_by_text("Je configure mon nouvel accès").click()
    expect(page.locator("body")).to_have_attribute("data-present-screen", "email", timeout=20_000)
    assert len(context.pages) == 1

    seen, after = ["mailbox", "mailbox-message"], "mail-invitation"
    for _ in range(30):
        screen = page.locator("body").get_attribute("data-present-screen")
        seen.append(screen)
        after = assert_rail(page, screen, after)
        pc = pc_frame(page)
        if screen == "email":
            expect(page.locator('[data-testid="present-callout"] li')).to_have_text(
                ["Renseignez ici l'adresse email sur laquelle vous avez reçu l'email de Baker Tilly"])
            expect(page.locator('[data-testid="present-step"]')).to_have_text("Étape 2 sur 16")
            # The callout lives in the presenter only, never in the real page.
            assert "Renseignez ici" not in pc.content()
            expect(page.locator('[data-testid="present-highlight"]')).to_be_visible()
            pc.fill("#i0116", EMAIL)
            press(page, pc, "#idSIButton9", screen)
        elif screen == "signup-password":
            pc.fill('[data-testid="new-password"]', PASSWORD)
            press(page, pc, "#idSIButton9", screen)
        elif screen == "signup-profile":
            pc.select_option('[data-testid="birth-day"]', "14")
            pc.select_option('[data-testid="birth-month"]', "6")
            pc.fill('[data-testid="birth-year"]', "1984")
            press(page, pc, "#idSIButton9", screen)
        elif screen == "signup-verify-email":
            # The code of the moment, beside the journey: no trip to the mailbox.
            code = page.locator('[data-testid="code-email"]')
            expect(code).to_have_text(re.compile(r"^\d{4}$"))
            pc.fill('[data-testid="otc"]', code.inner_text())
            press(page, pc, "#idSIButton9", screen)
        elif screen in ("captcha-intro", "captcha"):
            press(page, pc, "#idSIButton9", screen)  # IDP_CAPTCHA=auto: the puzzle passes with one click
        elif screen == "tenant-consent":
            press(page, pc, "#idBtn_Accept", screen)
        elif screen == "proofup-interrupt":
            press(page, pc, "#idSubmit_ProofUp_Redirect", screen)
        elif screen in ("proofup-app-intro", "proofup-app-setup", "proofup-app-approved"):
            press(page, pc, '[data-testid="next"]', screen)
        elif screen == "proofup-app-qr":
            # The phone beside the PC: "+", "Compte professionnel ou scolaire", "Scanner un code QR", with its step.
            phone = phone_frame(page)
            phone.locator('[data-testid="open-authenticator"]').click()
            expect(page.locator('[data-testid="present-phone-step"]')).to_contain_text("étape 1 sur 5")
            phone.locator('[data-testid="add-account"]').click()
            phone.locator('[data-testid="work-or-school"]').click()
            # Once scanned, the phone goes to the notification by itself: its questions wait until the result is seen.
            with held(page.context):
                phone.locator('[data-testid="scan-qr"]').click()
                expect(page.locator('[data-testid="present-phone-step"]')).to_contain_text("étape 4 sur 5")
                expect(page.locator('[data-testid="present-phone-step"] li').first).to_have_text(
                    "Scanner le QR code affiché à l'écran de votre ordinateur via l'application "
                    "MICROSOFT AUTHENTICATOR")
                expect(phone_frame(page).locator('[data-testid="scan-result"]')).to_have_text(
                    "Compte ajouté avec succès")
            press(page, pc, '[data-testid="next"]', screen)
        elif screen == "proofup-app-try":
            shown = pc.locator("#idRichContext_DisplaySign").inner_text().strip()
            expect(page.locator('[data-testid="code-number"]')).to_have_text(shown)
            # The notification shows up on the phone by itself.
            expect(page.locator('[data-testid="present-phone-step"]')).to_contain_text("étape 5 sur 5", timeout=20_000)
            phone = phone_frame(page)
            phone.fill('[data-testid="notification-number"]', shown)
            phone.locator('[data-testid="approve"]').click()
            # The PC page notices the approval by itself.
            expect(page.locator("body")).not_to_have_attribute("data-present-screen", screen, timeout=20_000)
        elif screen == "proofup-success":
            press(page, pc, '[data-testid="done"]', screen)
        elif screen == "client-connect":
            # The Espace Client (another port) says its screen; part 2 starts.
            expect(page.locator('[data-testid="present-step"]')).to_have_text("Étape 1 sur 4")
            press(page, pc, '[data-testid="connect"]', screen)
        elif screen == "app-consent":
            press(page, pc, "#idBtn_Accept", screen)
        elif screen == "client-cgu":
            press(page, pc, '[data-testid="accept-cgu"]', screen)
        elif screen == "client-dashboard":
            expect(page.locator('[data-testid="present-callout"] li')).to_have_text(
                ["Le process de création de votre nouvel accès à l'Espace Client est à présent terminé."])
            break
        else:
            raise AssertionError(f"unexpected screen {screen!r} after {seen}")
    assert seen == JOURNEY, seen
    context.close()


def frameable_by_self_only(context, demo):
    """Every IdP answer says what a hardened IdP would: frameable by its own origin only."""
    framed = []

    def handler(route):
        if route.request.frame.parent_frame is not None:
            framed.append(route.request.url)
        response = route.fetch(max_redirects=0)
        headers = {**response.headers, "x-frame-options": "SAMEORIGIN",
                   "content-security-policy": "frame-ancestors 'self'"}
        route.fulfill(response=response, headers=headers)

    context.route(f"{demo.idp}/**", handler)
    return framed


def start_here(context, demo, screen):
    page = context.new_page()
    page.goto(f"{demo.idp}/_emulator/screens")
    card = page.locator(f'[data-testid="screen-card"][data-screen-id="{screen}"]')
    with page.expect_navigation():
        card.locator('[data-testid="start-here"]').click()
    assert page.url.startswith(f"{demo.idp}/_emulator/present?"), page.url
    return page


@pytest.mark.browser
@pytest.mark.parametrize("screen, pc_screen, title, number", [
    ("proofup-app-intro", "proofup-app-intro", "Protéger votre compte", "Étape 11 sur 16"),
    ("app-consent", "app-consent", "Autorisations demandées", "Étape 2 sur 4"),
    ("phone-scan", "proofup-app-qr", "Scanner le code QR", "Étape 13 sur 16"),
])
def test_start_here_opens_the_presenter_view_at_the_screen(demo, chromium, screen, pc_screen, title, number):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1600, "height": 1000})
    framed = frameable_by_self_only(context, demo)
    page = start_here(context, demo, screen)
    assert_rail(page, pc_screen)
    expect(page.locator('[data-testid="present-title"]')).to_have_text(title)
    expect(page.locator('[data-testid="present-step"]')).to_have_text(number)
    assert pc_frame(page).locator("body").get_attribute("data-screen") == pc_screen
    if screen == "phone-scan":
        phone = phone_frame(page)
        expect(phone.locator("body")).to_have_attribute("data-screen", "phone-scan")
        expect(page.locator('[data-testid="present-phone-step"]')).to_contain_text("étape 4 sur 5")
        # Scanning on the phone moves the PC on: the notification, with its number beside.
        with held(context):  # the phone stays on the scan's result until it is seen
            phone.locator('[data-testid="scan-qr"]').click()
            expect(phone.locator('[data-testid="scan-result"]')).to_have_text("Compte ajouté avec succès")
        press(page, pc_frame(page), '[data-testid="next"]', pc_screen)
        assert_rail(page, "proofup-app-try")
        shown = pc_frame(page).locator("#idRichContext_DisplaySign").inner_text().strip()
        expect(page.locator('[data-testid="code-number"]')).to_have_text(shown)
    assert framed  # the frames' pages came with the headers
    # The gallery's images may still be on their way through the handler: closing under them is not a failure.
    context.unroute_all(behavior="ignoreErrors")
    context.close()


@pytest.mark.browser
def test_a_screen_that_cannot_be_prepared_says_so(demo, chromium):
    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{demo.idp}/_emulator/screens")
    cards = page.locator('[data-testid="screen-card"]')
    assert {cards.nth(i).get_attribute("data-screen-id") for i in range(cards.count())} == set(steps.STEPS)
    kmsi = page.locator('[data-testid="screen-card"][data-screen-id="kmsi"]')
    expect(kmsi.locator('[data-testid="cannot-start"]')).to_be_visible()
    assert kmsi.locator('[data-testid="start-here"]').count() == 0
    context.close()


# --- in-process: « Commencer ici » on every screen, the codes, the guards -------------------------------------

def csrf_of(client):
    html = client.get("/_emulator/screens").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def start_in_process(client, screen, token):
    response = client.post(f"/_emulator/screens/{screen}/start", data={"csrf_token": token})
    assert response.status_code == 302, (screen, response.get_data(as_text=True)[:500])
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert urlsplit(response.headers["Location"]).path == "/_emulator/present"
    assert query["screen"] == [screen]
    return query["user"][0], query["method"][0], query["pc"][0], query["phone"][0]


def screen_at(client, url):
    page = client.get(url, follow_redirects=True)
    assert page.status_code == 200, (url, page.status_code)
    return re.search(r'data-screen="([^"]*)"', page.get_data(as_text=True))[1]


def test_start_here_prepares_every_screen_it_offers_and_the_screen_guard_accepts_it(app, client):
    token = csrf_of(client)
    offered = [s for s in steps.STEPS if starting.can_start(s)]
    assert {"proofup-app-intro", "app-consent", "phone-scan", "phone-notification", "mail-invitation",
            "proofup-sms-code"} <= set(offered)
    for screen in offered:
        email, method, pc, phone = start_in_process(client, screen, token)
        assert method == starting.method_of(screen)
        if screen in ("client-connect", "app-consent"):
            # Through the Espace Client's own "Se connecter" (another server): part 1 is done in this browser.
            assert pc == ("http://localhost:8401/" if screen == "client-connect" else
                          f"http://localhost:8401/login?login_hint={quote(email)}")
            with app.app_context():
                user = User.by_email(email)
                assert user.mfa_method == "authenticator" and user.tenant_consent_at is not None
            continue
        expected_pc = starting.PHONE_SCREENS[screen][0] if screen in starting.PHONE_SCREENS else \
            steps.STEPS[screen].data_screen
        assert screen_at(client, pc) == expected_pc, screen
        if screen in starting.PHONE_SCREENS:
            assert screen_at(client, phone) == screen
        # The presenter view opens with that step on its rail, before any script runs.
        view = client.get(f"/_emulator/present?user={quote(email)}&method={method}&pc={quote(pc)}&screen={screen}")
        html = view.get_data(as_text=True)
        assert f'<iframe name="pc" data-testid="present-pc" src="{pc}"' in html.replace("&amp;", "&")
        assert steps.STEPS[screen].title.replace("'", "&#39;") in html


def test_the_codes_of_the_moment_are_the_ones_sent(app, client):
    token = csrf_of(client)
    email, *_ = start_in_process(client, "mail-code", token)
    state = client.get(f"/_emulator/present/state?user={quote(email)}").get_json()
    with app.app_context():
        mail = Message.query.filter_by(to=email, channel="email").order_by(Message.id.desc()).first()
        assert mail.code and state["codes"]["email_code"] == mail.code
    assert state["screen"] == "signup-verify-email"
    email, *_ = start_in_process(client, "proofup-sms-code", token)
    state = client.get(f"/_emulator/present/state?user={quote(email)}").get_json()
    with app.app_context():
        sms = Message.query.filter_by(to=starting.PHONE["e164"], channel="sms").order_by(Message.id.desc()).first()
        assert state["codes"]["sms_code"] == sms.code and len(sms.code) == 6
    assert state["sms_phone"] == starting.PHONE["e164"]  # the phone beside shows that number's messages
    email, *_ = start_in_process(client, "phone-notification", token)
    state = client.get(f"/_emulator/present/state?user={quote(email)}").get_json()
    assert state["screen"] == "proofup-app-try" and 10 <= state["codes"]["push_number"] <= 99


def test_start_here_needs_csrf_and_a_screen_it_can_prepare(app, client):
    with app.app_context():
        before = User.query.count()
    assert client.post("/_emulator/screens/proofup-app-intro/start").status_code == 400
    assert client.post("/_emulator/screens/nowhere/start", data={"csrf_token": csrf_of(client)}).status_code == 404
    refused = client.post("/_emulator/screens/kmsi/start", data={"csrf_token": csrf_of(client)})
    assert refused.status_code == 409 and 'data-testid="error"' in refused.get_data(as_text=True)
    with app.app_context():
        assert User.query.count() == before  # nothing created
    assert client.get("/_emulator/screens/proofup-app-intro/start").status_code == 405


def test_the_presenter_frames_only_this_server_and_the_espace_client(client):
    page = client.get("/_emulator/present?user=nobody@example.fr").get_data(as_text=True)
    assert 'data-screen="emulator-present-choose"' in page and 'data-testid="error"' in page
    for outside in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        html = client.get(f"/_emulator/present?user=client.demo@example.fr&pc={quote(outside)}").get_data(
            as_text=True)
        assert 'data-testid="present-pc" src="/_emulator/mailbox?to=' in html, outside
    html = client.get("/_emulator/present?user=client.demo@example.fr&pc=" + quote("http://localhost:8401/"))
    assert 'src="http://localhost:8401/"' in html.get_data(as_text=True)
    assert client.get("/_emulator/present/state?user=nobody@example.fr").status_code == 404
