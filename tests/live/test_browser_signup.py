"""Account creation in headless Chromium: show-password script, mailbox pages, captcha with the keyboard."""
import re

import pytest

from idp import create_app
from idp.journey import captcha

from ..conftest import FAST_HASH
from ..helpers import authorize_url

INVITED = "nouveau.client@example.fr"

pytestmark = pytest.mark.browser


def test_invited_client_creates_the_account_in_a_real_browser(live_server, chromium):
    # The same database as the live server, to read the captcha's answer as the control API does.
    reader = create_app({"IDP_DATA_DIR": str(live_server.data_dir), "IDP_PASSWORD_HASH": FAST_HASH})
    base = live_server.base_url
    path, _ = authorize_url()
    with chromium.new_context(locale="fr-FR") as context:
        page = context.new_page()
        page.goto(base + path)
        page.fill("#i0116", INVITED)
        page.click("#idSIButton9")
        page.wait_for_selector("body[data-screen=signup-password]")
        page.fill("#new-password", "Nouveau-Acces-2026")
        page.check("#show-password")
        assert page.get_attribute("#new-password", "type") == "text"
        page.uncheck("#show-password")
        assert page.get_attribute("#new-password", "type") == "password"
        page.click("#idSIButton9")

        page.wait_for_selector("body[data-screen=signup-profile]")
        assert page.input_value("#country") == "FR"
        page.select_option("#birth-day", "14")
        page.select_option("#birth-month", "7")
        page.fill("#birth-year", "1985")
        page.click("#idSIButton9")

        page.wait_for_selector("body[data-screen=signup-verify-email]")
        mailbox = page.context.new_page()
        mailbox.goto(f"{base}/_emulator/mailbox?to={INVITED}")
        mailbox.click("[data-testid=message] a")
        mailbox.wait_for_selector("body[data-screen=mailbox-message]")
        code = re.search(r": (\d{4})\b", mailbox.inner_text("[data-testid=message-text]")).group(1)
        mailbox.close()
        page.fill("#otc", code)
        page.click("#idSIButton9")

        # The guide's request first ("Veuillez résoudre l'énigme…", Suivant), then the puzzle.
        page.wait_for_selector("body[data-screen=captcha-intro]")
        assert "Veuillez résoudre l'énigme" in page.inner_text("[data-testid=captcha-intro]")
        page.click("#idSIButton9")
        page.wait_for_selector("body[data-screen=captcha]")

        for _ in range(10):
            page.wait_for_load_state()
            if page.get_attribute("body", "data-screen") != "captcha":
                break
            with reader.app_context():
                answer = captcha.current_answer_for_email(INVITED)
            # Keyboard only: focus the first image, move with the arrow keys, submit with Enter.
            page.focus("[data-testid=captcha-choice] >> nth=0")
            page.keyboard.press("Space")
            for _ in range(6):
                if page.eval_on_selector("input[name=choice]:checked", "e => e.value") == answer:
                    break
                page.keyboard.press("ArrowRight")
            with page.expect_navigation():
                page.keyboard.press("Enter")
        assert page.get_attribute("body", "data-screen") == "tenant-consent"
        page.click("#idBtn_Accept")
        page.wait_for_load_state()
        assert re.search(r"/proofup/[^/]+/interrupt$", page.url)
