"""The whole demo in a real browser: `idp-emulator up`, `idp-emulator invite`, the invitation email, the journey
(sign-up, captcha, tenant consent, proof-up by SMS), the CGU, the dashboard, sign-out, and a returning sign-in."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ..conftest import FAST_HASH, TENANT, free_port
from ..journey_driver import Person, click, screen_of

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "camille.durand@example.fr"
PASSWORD = "Camille-2026!"
PHONE_NATIONAL = "0698765432"
PHONE = "+33698765432"
TILES = ["COFFRE-FORT", "MES FACTURES", "MESSAGERIE", "AGENDA", "BANQUE", "DÉPÔT DOC",
         "MA COMPTA", "MES SALARIÉS", "CASH MANAGER", "MA FACTURATION"]


class Demo:
    """`idp-emulator up` in a subprocess on free ports, with its own data folders."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.idp_port, self.client_port, self.smtp_port = free_port(), free_port(), free_port()
        self.idp = f"http://localhost:{self.idp_port}"
        self.client = f"http://localhost:{self.client_port}"
        # `up` runs in its own folder: PYTHONPATH makes it run this checkout's code, not another installed copy.
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**os.environ, "PYTHONPATH": path, "IDP_DATA_DIR": str(self.folder / "idp-data"),
                    "CLIENT_DATA_DIR": str(self.folder / "client-data"), "IDP_PASSWORD_HASH": FAST_HASH,
                    "IDP_CAPTCHA": "auto", "IDP_SMTP_PORT": str(self.smtp_port)}
        for name in ("CLIENT_AUTHORITY", "CLIENT_BASE_URL", "CLIENT_CA_BUNDLE", "IDP_BASE_URL", "CLIENT_ID", "CLIENT_SECRET"):
            self.env.pop(name, None)
        self.log_path = self.folder / "up.log"

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "idp.cli", "up", "--idp-port", str(self.idp_port), "--client-port",
             str(self.client_port), "--workers", "2"], env=self.env, cwd=self.folder, stdout=self.log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "Press Ctrl-C to stop." in self.output():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"idp-emulator up did not start: {self.output()}")

    def output(self):
        return self.log_path.read_text(errors="replace")

    def cli(self, *args):
        return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=self.env, cwd=self.folder,
                              capture_output=True, text=True, timeout=60)

    def stop(self):
        """Ctrl-C: both servers stop, `up` exits cleanly."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
            finally:
                self.log.close()
        self.log.close()
        return self.process.returncode


@pytest.fixture
def demo(tmp_path):
    demo = Demo(tmp_path / "demo").start()
    yield demo
    demo.stop()


# What this journey checks on its way, besides the screens' order (the driver acts the same on every journey).
CHECKS = {
    "captcha-intro": lambda page: _contains(page, "Veuillez résoudre l'énigme"),
    "tenant-consent": lambda page: _contains(page, "Autorisation demandée par"),
    "app-consent": lambda page: _contains(page, "Espace Client"),
}


def _contains(page, text):
    assert text in page.content(), text


def test_invitation_to_dashboard_sign_out_and_returning_sign_in(demo, chromium):
    output = demo.output()
    for line in ("Start here:", f"{demo.client}/", f"{demo.idp}/_emulator/mailbox", f"{demo.idp}/_emulator/phone/",
                 f"{demo.idp}/{TENANT}/v2.0/.well-known/openid-configuration", f"{demo.idp}/_emulator/api/openapi.json"):
        assert line in output, line

    invited = demo.cli("invite", EMAIL, "--name", "Camille Durand")
    assert invited.returncode == 0, invited.stderr
    assert "via the Graph API" in invited.stdout

    context = chromium.new_context(locale="fr-FR")
    person = Person(demo, EMAIL, PASSWORD, context, phone={"number": PHONE, "national": PHONE_NATIONAL}, checks=CHECKS)
    page = context.new_page()
    page.goto(f"{demo.idp}/_emulator/mailbox?to={EMAIL}")
    assert screen_of(page) == "mailbox"
    click(page, "message-open")
    assert screen_of(page) == "mailbox-message"
    assert "Espace client Baker Tilly" in page.locator('[data-testid="message-from"]').inner_text()
    mail = page.frame_locator('[data-testid="message-html"]')
    assert "vos données ne seront pas stockées par Microsoft mais par Baker Tilly" in mail.locator("body").inner_text()
    button = mail.get_by_text("Je configure mon nouvel accès")
    redeem = button.get_attribute("href")
    assert "/redeem?" in redeem
    # The mail's HTML is shown in a fully sandboxed frame; the mailbox lists the mail's links as real links.
    with page.expect_navigation():
        page.locator(f'[data-testid="message-link"][href="{redeem}"]').click()

    # Part 1: account creation and proof-up, back to the client's "step 2" page.
    seen = person.walk(page, stop_at={"client-connect"})
    assert seen == ["email", "signup-password", "signup-profile", "signup-verify-email", "captcha-intro", "captcha",
                    "tenant-consent", "proofup-interrupt", "proofup-app-intro", "proofup-method-choice",
                    "proofup-sms-phone", "proofup-sms-code", "proofup-sms-verified", "proofup-success",
                    "client-connect"], seen
    assert page.url.startswith(demo.client)
    assert "Connectez-vous à votre Espace Client" in page.content()

    # Part 2: Se connecter, app consent, CGU (a new client), the dashboard: no MFA, the method was just registered.
    click(page, "connect")
    seen = person.walk(page, stop_at={"client-dashboard"})
    assert seen == ["app-consent", "client-cgu", "client-dashboard"], seen
    tiles = page.locator('[data-testid="tile"]')
    assert [tiles.nth(i).get_attribute("data-tile") for i in range(tiles.count())] == TILES
    assert "Être recontacté" in page.content() and "Demander un rendez-vous" in page.content()

    # Sign-out through the IdP, back to the connect page.
    click(page, "logout")
    page.wait_for_url(f"{demo.client}/**")
    assert screen_of(page) == "client-connect"
    assert page.locator('[data-testid="signed-out"]').count() == 1

    # Returning sign-in: account picker, password, MFA by SMS, straight to the dashboard (no CGU again).
    click(page, "connect")
    seen = person.walk(page, stop_at={"client-dashboard"})
    assert "client-cgu" not in seen and "app-consent" not in seen, seen
    assert "password" in seen and "mfa-otp" in seen, seen
    assert seen[0] == "account-picker", seen
    assert page.locator('[data-testid="tile"]').count() == len(TILES)
    context.close()

    # Ctrl-C stops both servers cleanly.
    assert demo.stop() == 0
    for url in (demo.idp, demo.client):
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/", timeout=2)
