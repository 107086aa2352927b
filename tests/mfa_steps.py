"""Actions shared by the proof-up, MFA and phone tests: a person at the browser and at the virtual phone."""
import re

from idp import seeds
from idp.models import Tenant
from idp.extensions import db
from idp.oidc import tokens

from .conftest import PASSWORD, TENANT_ID
from .helpers import callback_params, redeem

CODE = re.compile(r"\b(\d{6})\b")


def invited_user(app, email, password=PASSWORD):
    """An invited client who already created the Microsoft account but has no MFA method yet."""
    with app.app_context():
        tenant = db.session.get(Tenant, TENANT_ID)
        seeds.apply_user(tenant, {"email": email, "password": password, "state": "registered", "invited": True})
        db.session.commit()


def finish_sign_in(browser, page):
    """Answer "Rester connecté ?" and the app consent; return the parameters the client's callback got."""
    if page.screen == "kmsi":
        page = browser.submit(page, button="idSIButton9")
    if page.screen == "app-consent":
        page = browser.submit(page, button="idBtn_Accept")
    assert page.screen not in ("kmsi", "app-consent"), page.text()
    return callback_params(browser)


def access_token_claims(app, client, params, verifier):
    response = redeem(client, params["code"], verifier)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    with app.app_context():
        return tokens.decode(body["access_token"]), tokens.decode(body["id_token"])


# --- the virtual phone, through its pages -------------------------------------------------------------

def phone_page(browser, key, path=""):
    return browser.get(f"/_emulator/phone/{key}{path}")


def read_sms_codes(browser, key):
    """Open the phone's Messages app and return the 6-digit codes of its SMS, newest first."""
    home = phone_page(browser, key)
    assert home.screen == "phone-home"
    page = browser.get(home.testid("open-messages")["href"])
    assert page.screen == "phone-messages"
    codes = []
    for sms in page.testids("sms"):
        found = CODE.search(sms.get_text(" ", strip=True))
        if found:
            codes.append(found.group(1))
    return codes


def scan_qr_with_phone(browser, key):
    """Authenticator: "+" → "Compte professionnel ou scolaire" → "Scanner un code QR"; return the result page."""
    home = phone_page(browser, key)
    app = browser.get(home.testid("open-authenticator")["href"])
    assert app.screen == "phone-authenticator"
    add = browser.get(app.testid("add-account")["href"])
    assert add.screen == "phone-add-account"
    kind = browser.get(add.testid("work-or-school")["href"])
    assert kind.screen == "phone-account-type"
    return browser.submit(kind, button="scan-qr")


def answer_notification(browser, key, number, approve=True):
    """Open the pending notification on the phone, type the number and tap Approuver (or Refuser)."""
    page = phone_page(browser, key, "/notification")
    assert page.screen == "phone-notification"
    assert page.testid("notification-number") is not None, page.text()
    return browser.submit(page, {"number": str(number)}, button="approve" if approve else "deny")


def phone_totp_codes(browser, key):
    page = phone_page(browser, key, "/authenticator")
    return [el.get_text(strip=True).replace(" ", "") for el in page.testids("totp-code")]
