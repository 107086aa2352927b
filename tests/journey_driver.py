"""One driver for the browser journeys against `idp-emulator up` (tests/test_e2e_demo.py, tests/test_guide_journey.py):
a person who acts on each screen as the guide says, with the virtual phone and the dev mailbox beside the browser.
Each test adds its own checks, per screen, and asserts the screens seen."""
import re
import time

import requests
from playwright.sync_api import expect

from idp.trainer.guide import held


def screen_of(page):
    page.wait_for_load_state()
    return page.locator("body").get_attribute("data-screen")


def click(page, testid):
    with page.expect_navigation():
        page.locator(f'[data-testid="{testid}"]').first.click()


def left(page, screen):
    """Wait until the page has moved on from `screen` by itself (its polling script)."""
    expect(page.locator("body")).not_to_have_attribute("data-screen", screen, timeout=20_000)


class Phone:
    """The virtual phone of one number: read the newest SMS code, never the same one twice.

    Each look opens the phone in a new tab and closes it: the messages screen reloads itself when an SMS
    arrives, and a tab kept open would race that reload with our next navigation."""

    def __init__(self, context, demo, number):
        self.context = context
        self.url = f"{demo.idp}/_emulator/phone/{number}"
        self.used = set()

    def newest_sms(self):
        page = self.context.new_page()
        try:
            page.goto(self.url)
            click(page, "open-messages")
            sms = page.locator('[data-testid="sms"]')
            return sms.first.inner_text() if sms.count() else ""
        finally:
            page.close()

    def code(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = re.search(r"\b(\d{6})\b", self.newest_sms())
            if found and found.group(1) not in self.used:
                self.used.add(found.group(1))
                return found.group(1)
            time.sleep(0.5)
        raise AssertionError("no new SMS code on the virtual phone")


def email_code(context, demo, email):
    """Open the newest mail of the dev mailbox for `email` and read its 4-digit code."""
    mailbox = context.new_page()
    mailbox.goto(f"{demo.idp}/_emulator/mailbox?to={email}")
    click(mailbox, "message-open")
    code = re.search(r"\b(\d{4})\b", mailbox.locator('[data-testid="message-text"]').inner_text()).group(1)
    mailbox.close()
    return code


def api(demo, method, path, **kwargs):
    response = requests.request(method, f"{demo.idp}/_emulator/api{path}", timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


class Person:
    """Someone following the guide: the browser (`context`) and beside it their phone (`pocket`, by default the
    same browser). With a `phone` ({"number": E.164, "national": as typed}) they choose SMS, else the app.

    `checks`: {screen: check(page)}, run on each screen before acting on it.
    """

    def __init__(self, demo, email, password, context, pocket=None, phone=None, checks=None):
        self.demo, self.email, self.password, self.context = demo, email, password, context
        self.pocket = pocket or context
        self.national = phone["national"] if phone else None
        self.sms = Phone(self.pocket, demo, phone["number"]) if phone else None
        self.checks = checks or {}

    def walk(self, page, stop_at):
        """Act on each screen until one of `stop_at`; return the data-screen of every page seen."""
        seen = []
        for _ in range(40):
            page.wait_for_selector("body[data-screen]", state="attached")
            current = screen_of(page)
            seen.append(current)
            if current in stop_at:
                return seen
            if current in self.checks:
                self.checks[current](page)
            self.act(page, current, seen)
        raise AssertionError(f"the journey never reached {stop_at}: {seen}")

    def act(self, page, current, seen):
        if current == "email":
            page.fill("#i0116", self.email)
            click(page, "idSIButton9")
        elif current == "account-picker":
            click(page, "account-tile")
        elif current == "password":
            page.fill("#i0118", self.password)
            click(page, "idSIButton9")
        elif current == "signup-password":
            page.fill('[data-testid="new-password"]', self.password)
            click(page, "idSIButton9")
        elif current == "signup-profile":
            page.select_option('[data-testid="birth-day"]', "14")
            page.select_option('[data-testid="birth-month"]', "6")
            page.fill('[data-testid="birth-year"]', "1984")
            click(page, "idSIButton9")
        elif current == "signup-verify-email":
            page.fill('[data-testid="otc"]', email_code(self.context, self.demo, self.email))
            click(page, "idSIButton9")
        elif current == "captcha":
            if page.locator('[data-testid="captcha-choice"]').count():  # a puzzle: answered as a QA script reads it
                answer = api(self.demo, "GET", "/captcha", params={"email": self.email})["answer"]
                page.check(f'[data-testid="captcha-choice"][value="{answer}"]')
            click(page, "idSIButton9")  # IDP_CAPTCHA=auto: passes with one click
        elif current in ("tenant-consent", "app-consent"):
            click(page, "idBtn_Accept")
        elif current == "proofup-interrupt":
            click(page, "idSubmit_ProofUp_Redirect")
        elif current == "proofup-app-intro":
            click(page, "next" if self.sms is None else "other-method")  # the guide's "Double Authentification avec SMS"
        elif current == "proofup-method-choice":
            page.select_option('[data-testid="method"]', "phone")
            click(page, "confirm")
        elif current == "proofup-sms-phone":
            page.fill('[data-testid="phone-number"]', self.national)
            click(page, "next")
        elif current == "proofup-sms-code":
            page.fill('[data-testid="otc"]', self.sms.code())
            click(page, "next")
        elif current in ("captcha-intro", "kmsi"):
            click(page, "idSIButton9")
        elif current in ("proofup-app-setup", "proofup-app-approved", "proofup-sms-verified"):
            click(page, "next")
        elif current == "proofup-app-qr":
            self.scan_qr()
            left(page, current)  # the page notices the scan by itself
        elif current in ("proofup-app-try", "mfa-push"):
            self.approve(page.locator("#idRichContext_DisplaySign").inner_text().strip())
            left(page, current)  # the page notices the approval by itself
        elif current == "proofup-success":
            click(page, "done")
        elif current == "mfa-method-choice":
            with page.expect_navigation():
                page.locator(f'[data-value="{"OneWaySMS" if self.sms else "PhoneAppNotification"}"]').first.click()
        elif current == "mfa-otp":
            page.fill("#idTxtBx_SAOTCC_OTC", self.sms.code())
            click(page, "idSubmit_SAOTCC_Continue")
        elif current == "client-connect":
            click(page, "connect")
        elif current == "client-cgu":
            click(page, "accept-cgu")
        else:
            raise AssertionError(f"unexpected screen {current!r} after {seen}: {page.url}")

    def scan_qr(self):
        """Authenticator: "+" → "Compte professionnel ou scolaire" → "Scanner un code QR" (guide, étapes 1 à 4)."""
        phone = self.pocket.new_page()
        try:
            phone.goto(f"{self.demo.idp}/_emulator/phone/{self.email}")
            click(phone, "open-authenticator")
            click(phone, "add-account")
            click(phone, "work-or-school")
            # Once scanned, the phone goes to the notification by itself: its questions wait until the result is seen.
            with held(self.pocket):
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
