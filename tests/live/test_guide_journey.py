"""The guide, exactly (issue 12), in Chromium against `idp-emulator up`: from the invitation mail in the mailbox
("Je configure mon nouvel accès") to the Espace Client's dashboard, on both MFA branches (Microsoft Authenticator with
the virtual phone, and SMS), recording the `data-screen` of every page and asserting the guide's exact order of
screens; step 2 shows no MFA screen. Then a returning sign-in in a fresh browser, which asks for MFA."""
import pytest
from playwright.sync_api import expect

from ..guide_order import ACCOUNT, BRANCHES, STEP_TWO
from ..journey_driver import Person, api, click
from .test_e2e_demo import TILES, Demo

pytestmark = pytest.mark.browser

PASSWORD = "Guide-Parcours-2026!"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("guide")).start()
    # The puzzle as the guide shows it, one round so the order is exact; answered as a QA script reads it.
    api(demo, "PUT", "/settings", json={"captcha": "puzzle", "captcha_rounds": 1})
    yield demo
    demo.stop()


def checks(branch):
    """What the guide shows on its way, besides the screens' order (the driver acts the same on every journey)."""
    return {
        "captcha-intro": lambda page: expect(page.locator('[data-testid="captcha-intro"]')).to_have_text(
            "Veuillez résoudre l'énigme pour que nous sachions que vous n'êtes pas un robot."),
        "proofup-success": lambda page: expect(page.locator('[data-testid="default-method"]')).to_contain_text(
            BRANCHES[branch]["default_method"]),
    }


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
    phone = {"number": spec["phone"], "national": spec["national"]} if "phone" in spec else None
    person = Person(demo, spec["email"], PASSWORD, context, pocket, phone=phone, checks=checks(branch))

    # Part 1: the invitation's tab, account, captcha, tenant consent, proof-up, back on the Espace Client.
    page = open_the_invitation(context, demo, spec["email"])
    seen = person.walk(page, stop_at={"client-connect"})
    assert seen == [*ACCOUNT, *spec["proofup"], "proofup-success", "client-connect"], seen
    assert page.url.startswith(demo.client)
    # The IdP's own record of the journey says the same.
    journeys = api(demo, "GET", "/journeys", params={"email": spec["email"]})["journeys"]
    invitation = [j for j in journeys if j["kind"] == "invitation"]
    assert len(invitation) == 1 and invitation[0]["screens"] == seen[:-1], invitation

    # Part 2: "Se connecter" → "Autorisations demandées" → CGU → dashboard, with no MFA screen.
    click(page, "connect")
    seen = person.walk(page, stop_at={"client-dashboard"})
    assert seen == STEP_TWO, seen
    tiles = page.locator('[data-testid="tile"]')
    assert [tiles.nth(i).get_attribute("data-tile") for i in range(tiles.count())] == TILES
    context.close()

    # A returning sign-in, in a fresh browser: the address, the password, then MFA as the tenant says.
    fresh = chromium.new_context(locale="fr-FR")
    page = fresh.new_page()
    page.goto(f"{demo.client}/")
    person.context = fresh
    seen = person.walk(page, stop_at={"client-dashboard"})
    assert seen == ["client-connect", "email", "password", spec["mfa"], "kmsi", "client-dashboard"], seen
    fresh.close()
    pocket.close()
