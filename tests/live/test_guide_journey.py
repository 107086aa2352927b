"""The guide, exactly (issue 12), in Chromium against `idp-emulator up`: from the invitation mail in the mailbox
("Je configure mon nouvel accès") to the Espace Client's dashboard, on both MFA branches (Microsoft Authenticator with
the virtual phone, and SMS), recording the `data-screen` of every page and asserting the guide's exact order of
screens; step 2 shows no MFA screen. Then a returning sign-in in a fresh browser, which asks for MFA."""
import pytest
import requests
from playwright.sync_api import expect

from .test_e2e_demo import TILES, Demo, Phone, chromium, click, email_code, screen_of  # noqa: F401 (chromium: a fixture)

pytestmark = pytest.mark.browser

PASSWORD = "Guide-Parcours-2026!"
BRANCHES = {
    "authenticator": {
        "email": "guide.authenticator@example.fr", "name": "Client Authenticator",
        "proofup": ["proofup-app-intro", "proofup-app-setup", "proofup-app-qr", "proofup-app-try",
                    "proofup-app-approved"],
        "default_method": "Microsoft Authenticator", "mfa": "mfa-push"},
    "sms": {
        "email": "guide.sms@example.fr", "name": "Client SMS", "phone": "+33675064572", "national": "0675064572",
        "proofup": ["proofup-app-intro", "proofup-method-choice", "proofup-sms-phone", "proofup-sms-code",
                    "proofup-sms-verified"],
        "default_method": "Téléphone", "mfa": "mfa-otp"},
}
# Part 1 (the guide's "Paramétrage de votre compte"), from the sign-in page the invitation opens.
ACCOUNT = ["email", "signup-password", "signup-profile", "signup-verify-email", "captcha-intro", "captcha",
           "tenant-consent", "proofup-interrupt"]
# Part 2 ("Validation de votre accès Espace Client"): "Se connecter", then no MFA.
STEP_TWO = ["app-consent", "client-cgu", "client-dashboard"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("guide")).start()
    # The puzzle as the guide shows it, one round so the order is exact; answered as a QA script reads it.
    api(demo, "PUT", "/settings", json={"captcha": "puzzle", "captcha_rounds": 1})
    yield demo
    demo.stop()


def api(demo, method, path, **kwargs):
    response = requests.request(method, f"{demo.idp}/_emulator/api{path}", timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


class Client:
    """A client following the guide: the browser, and beside it the phone (its own browser context)."""

    def __init__(self, demo, branch, context, pocket):
        self.demo, self.branch, self.context, self.pocket = demo, BRANCHES[branch], context, pocket
        self.email = self.branch["email"]
        self.sms = Phone(pocket, demo, self.branch["phone"]) if "phone" in self.branch else None

    def walk(self, page, stop_at):
        """Act on each screen as the guide says, until one of `stop_at`; return the data-screen of every page seen."""
        seen = []
        for _ in range(40):
            page.wait_for_selector("body[data-screen]", state="attached")
            current = screen_of(page)
            seen.append(current)
            if current in stop_at:
                return seen
            self.act(page, current, seen)
        raise AssertionError(f"the journey never reached {stop_at}: {seen}")

    def act(self, page, current, seen):
        if current == "email":
            page.fill("#i0116", self.email)
            click(page, "idSIButton9")
        elif current == "signup-password":
            page.fill('[data-testid="new-password"]', PASSWORD)
            click(page, "idSIButton9")
        elif current == "signup-profile":
            page.select_option('[data-testid="birth-day"]', "14")
            page.select_option('[data-testid="birth-month"]', "6")
            page.fill('[data-testid="birth-year"]', "1984")
            click(page, "idSIButton9")
        elif current == "signup-verify-email":
            page.fill('[data-testid="otc"]', email_code(self.context, self.demo, self.email))
            click(page, "idSIButton9")
        elif current == "captcha-intro":
            expect(page.locator('[data-testid="captcha-intro"]')).to_have_text(
                "Veuillez résoudre l'énigme pour que nous sachions que vous n'êtes pas un robot.")
            click(page, "idSIButton9")
        elif current == "captcha":
            answer = api(self.demo, "GET", "/captcha", params={"email": self.email})["answer"]
            page.check(f'[data-testid="captcha-choice"][value="{answer}"]')
            click(page, "idSIButton9")
        elif current in ("tenant-consent", "app-consent"):
            click(page, "idBtn_Accept")
        elif current == "proofup-interrupt":
            click(page, "idSubmit_ProofUp_Redirect")
        elif current == "proofup-app-intro":
            click(page, "next" if self.sms is None else "other-method")
        elif current == "proofup-method-choice":
            page.select_option('[data-testid="method"]', "phone")
            click(page, "confirm")
        elif current == "proofup-sms-phone":
            page.fill('[data-testid="phone-number"]', self.branch["national"])
            click(page, "next")
        elif current == "proofup-sms-code":
            page.fill('[data-testid="otc"]', self.sms.code())
            click(page, "next")
        elif current in ("proofup-app-setup", "proofup-app-approved", "proofup-sms-verified"):
            click(page, "next")
        elif current == "proofup-app-qr":
            self.scan_qr()
            left(page, current)  # the page notices the scan by itself
        elif current in ("proofup-app-try", "mfa-push"):
            self.approve(page.locator("#idRichContext_DisplaySign").inner_text().strip())
            left(page, current)  # the page notices the approval by itself
        elif current == "proofup-success":
            expect(page.locator('[data-testid="default-method"]')).to_contain_text(self.branch["default_method"])
            click(page, "done")
        elif current == "client-connect":
            click(page, "connect")
        elif current == "client-cgu":
            click(page, "accept-cgu")
        elif current == "password":
            page.fill("#i0118", PASSWORD)
            click(page, "idSIButton9")
        elif current == "mfa-otp":
            page.fill("#idTxtBx_SAOTCC_OTC", self.sms.code())
            click(page, "idSubmit_SAOTCC_Continue")
        elif current == "kmsi":
            click(page, "idSIButton9")
        else:
            raise AssertionError(f"unexpected screen {current!r} after {seen}: {page.url}")

    def phone(self):
        """The virtual phone of this client, freshly opened (an open tab reloads itself as things arrive)."""
        phone = self.pocket.new_page()
        phone.goto(f"{self.demo.idp}/_emulator/phone/{self.email}")
        return phone

    def scan_qr(self):
        """Authenticator: "+" → "Compte professionnel ou scolaire" → "Scanner un code QR" (guide, étapes 1 à 4)."""
        phone = self.phone()
        try:
            click(phone, "open-authenticator")
            click(phone, "add-account")
            click(phone, "work-or-school")
            phone.locator('[data-testid="scan-qr"]').click()
            expect(phone.locator('[data-testid="scan-result"]')).to_have_text("Compte ajouté avec succès")
        finally:
            phone.close()

    def approve(self, number):
        """The notification on the phone: type the number shown in the browser, "APPROUVER" (guide, étape 5)."""
        assert number.isdigit() and len(number) == 2, number
        phone = self.pocket.new_page()
        try:
            phone.goto(f"{self.demo.idp}/_emulator/phone/{self.email}/notification")
            expect(phone.locator("body")).to_have_attribute("data-screen", "phone-notification")
            phone.fill('[data-testid="notification-number"]', number)
            phone.locator('[data-testid="approve"]').click()
            expect(phone.locator('[data-testid="notification-result"]')).to_have_attribute("data-result", "approved")
        finally:
            phone.close()


def left(page, screen):
    """Wait until the page has moved on from `screen` by itself (its polling script)."""
    expect(page.locator("body")).not_to_have_attribute("data-screen", screen, timeout=20_000)


def open_the_invitation(context, demo, email):
    """The mailbox, the invitation mail, its button "Je configure mon nouvel accès" (a new tab, as in a webmail)."""
    mailbox = context.new_page()
    mailbox.goto(f"{demo.idp}/_emulator/mailbox?to={email}")
    click(mailbox, "message-open")
    assert "Espace client Baker Tilly" in mailbox.locator('[data-testid="message-from"]').inner_text()
    button = mailbox.frame_locator('[data-testid="message-html"]').get_by_text("Je configure mon nouvel accès")
    with context.expect_page() as tab:
        button.click()
    return tab.value


@pytest.mark.parametrize("branch", ["authenticator", "sms"])
def test_the_guide_from_the_invitation_mail_to_the_dashboard_then_a_returning_sign_in(demo, chromium, branch):
    spec = BRANCHES[branch]
    invited = demo.cli("invite", spec["email"], "--name", spec["name"])
    assert invited.returncode == 0, invited.stderr

    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    pocket = chromium.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    client = Client(demo, branch, context, pocket)

    # Part 1: the invitation's tab, account, captcha, tenant consent, proof-up, back on the Espace Client.
    page = open_the_invitation(context, demo, spec["email"])
    seen = client.walk(page, stop_at={"client-connect"})
    assert seen == [*ACCOUNT, *spec["proofup"], "proofup-success", "client-connect"], seen
    assert page.url.startswith(demo.client)
    # The IdP's own record of the journey says the same.
    journeys = api(demo, "GET", "/journeys", params={"email": spec["email"]})["journeys"]
    invitation = [j for j in journeys if j["kind"] == "invitation"]
    assert len(invitation) == 1 and invitation[0]["screens"] == seen[:-1], invitation

    # Part 2: "Se connecter" → "Autorisations demandées" → CGU → dashboard, with no MFA screen.
    click(page, "connect")
    seen = client.walk(page, stop_at={"client-dashboard"})
    assert seen == STEP_TWO, seen
    tiles = page.locator('[data-testid="tile"]')
    assert [tiles.nth(i).get_attribute("data-tile") for i in range(tiles.count())] == TILES
    context.close()

    # A returning sign-in, in a fresh browser: the address, the password, then MFA as the tenant says.
    fresh = chromium.new_context(locale="fr-FR")
    page = fresh.new_page()
    page.goto(f"{demo.client}/")
    client.context = fresh
    seen = client.walk(page, stop_at={"client-dashboard"})
    assert seen == ["client-connect", "email", "password", spec["mfa"], "kmsi", "client-dashboard"], seen
    fresh.close()
    pocket.close()
