"""English: every screen of the journey, the mails, the SMS, the phone, the mailbox and the emulator's pages.

The language is chosen by `ui_locales` on the authorization request (kept by the journey for every screen),
else the `language` setting, else the browser's Accept-Language; French stays the default. Each English page is
also checked for leaks: no French message of the catalogue appears in it untranslated.
"""
import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from idp.extensions import db
from idp.models import Message, Setting

from ..conftest import PASSWORD
from ..helpers import authorize_url, callback_params
from ..mfa_steps import invited_user
from ..pages import Browser
from .test_signup import INVITED, NEW_PASSWORD, solve_captcha

PO = Path(__file__).resolve().parents[2] / "idp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PHONE_NUMBER = "0675064572"
PHONE = "+33675064572"
FRENCH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


@cache
def french_fragments():
    """The French text of every catalogue message whose English differs, split at its placeholders."""
    with open(PO, "rb") as fh:
        catalog = read_po(fh, locale="en")
    fragments = set()
    english_texts = " | ".join(m.string for m in catalog if m.id and isinstance(m.string, str))
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or message.string == message.id:
            continue
        for piece in re.split(r"%\(\w+\)[sd]", message.id):
            piece = piece.strip(" ,.:;")
            # A piece the English also uses ("Email", "Code") proves nothing.
            if len(piece) >= 2 and any(c.isalpha() for c in piece) and not re.search(
                    r"(?<!\w)" + re.escape(piece) + r"(?!\w)", english_texts):
                fragments.add(piece)
    return tuple(sorted(fragments))


def french_leaks(text):
    return [piece for piece in french_fragments()
            if re.search(r"(?<!\w)" + re.escape(piece) + r"(?!\w)", text)]


def english(page, *texts, data=()):
    """Assert the page is in English: lang="en", the texts given, and no French message of the catalogue.

    `data`: CSS selectors of what the page shows as data rather than its own words (a French mail's snippet)."""
    assert page.status == 200, (page.screen, page.status, page.text()[:300])
    assert page.soup.html.get("lang") == "en", page.screen
    body = page.text()
    for text in texts:
        assert text in body, (page.screen, text, body[:600])
    for selector in data:
        for element in page.soup.select(selector):
            element.decompose()
    body = page.text()
    assert not french_leaks(body), (page.screen, french_leaks(body))
    return page


def browser_of(app, headers):
    client = app.test_client()
    client.environ_base.update(headers)
    return Browser(client)


def newest(app, channel, to):
    with app.app_context():
        return (db.session.query(Message).filter_by(channel=channel, to=to)
                .order_by(Message.id.desc()).first())


def test_default_is_french_and_accept_language_english_works(app):
    url, _ = authorize_url()
    page = browser_of(app, {}).get(url)
    assert page.screen == "email" and page.soup.html["lang"] == "fr"
    assert page.soup.find("h1").get_text(strip=True) == "Se connecter"
    assert browser_of(app, FRENCH_BROWSER).get(url).soup.find("h1").get_text(strip=True) == "Se connecter"
    # A language the emulator lacks falls back to French.
    assert browser_of(app, {"HTTP_ACCEPT_LANGUAGE": "de-DE"}).get(url).soup.html["lang"] == "fr"

    browser = browser_of(app, ENGLISH_BROWSER)
    page = english(browser.get(url), "Sign in", "Email, phone, or Skype", "Can't access your account?", "Next")
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    english(page, "Enter password", "Forgot password?")
    page = english(browser.submit(page, {"passwd": "wrong"}, button="idSIButton9"),
                   "Your account or password is incorrect.")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert page.screen == "kmsi", page.screen
    english(page, "Stay signed in?", "Do this to reduce the number of times you are asked to sign in.",
            "Don't show this again", "Yes", "No")


def test_ui_locales_wins_over_the_browser_and_the_journey_keeps_it(app):
    """The whole journey in English from ui_locales=en alone (a French browser): account creation, the email code
    mail, the captcha, the tenant consent, SMS proof-up with the SMS, Stay signed in, the app consent."""
    browser = browser_of(app, FRENCH_BROWSER)
    url, _ = authorize_url(ui_locales="en-US")
    page = english(browser.get(url), "Sign in", "No account?")
    page = browser.submit(page, {"loginfmt": INVITED}, button="idSIButton9")
    assert page.screen == "signup-password"
    english(page, "Create a password", "Enter the password you would like to use with your account.", "Show password")
    page = english(browser.submit(page, {"new-password": "short"}, button="idSIButton9"),
                   "Passwords must have at least 8 characters")
    page = browser.submit(page, {"new-password": NEW_PASSWORD}, button="idSIButton9")
    assert page.screen == "signup-profile"
    english(page, "Create account", "We need just a little more info", "Country/region", "Birthdate", "July")
    assert page.soup.find("option", value="DE").get_text() == "Germany"
    page = english(browser.submit(page, {"birth-day": "31", "birth-month": "2", "birth-year": "1985"},
                                  button="idSIButton9"), "That date doesn't exist.")
    page = browser.submit(page, {"birth-day": "14", "birth-month": "7", "birth-year": "1985"}, button="idSIButton9")
    assert page.screen == "signup-verify-email"
    english(page, "Verify email", "Enter the code we sent to", "try again", "Microsoft Services Agreement")

    # The mail is in the journey's language, whatever the mailbox's page.
    mail = newest(app, "email", INVITED)
    assert mail.subject == "Verify your email address"
    assert mail.sender.startswith("Microsoft account team <")
    code = re.search(r"To verify your email address, use this security code: (\d{4})\b", mail.body_text).group(1)
    assert "The Microsoft account team" in mail.body_text and "Vérifiez" not in mail.body_html
    assert '<html lang="en">' in mail.body_html and not french_leaks(mail.body_html)

    wrong = "0000" if code != "0000" else "1111"
    page = english(browser.submit(page, {"otc": wrong}, button="idSIButton9"), "That code didn't work.")
    page = browser.submit(page, {"otc": code}, button="idSIButton9")
    assert page.screen == "captcha-intro"
    english(page, "Create account", "Please solve the puzzle so we know you're not a robot.")
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "captcha"
    english(page, "Pick the image", "Next")
    assert re.search(r"\(1 of \d\)", page.testid("captcha-round").get_text(strip=True))
    page = solve_captcha(app, browser, page)
    assert page.screen == "tenant-consent"
    english(page, "Permissions requested by:", "By accepting, you allow this organization to:",
            "Receive your profile data", "Accept", "Cancel")
    page = browser.submit(page, button="idBtn_Accept")
    assert page.screen == "proofup-interrupt"
    english(page, "More information required", "Your organization needs more information to keep your account secure.")
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    assert page.screen == "proofup-app-intro"
    english(page, "Keep your account secure", "Start by getting the app", "I want to set up a different method")
    page = browser.submit(page, button="other-method")
    assert page.screen == "proofup-method-choice"
    english(page, "Choose a different method", "Which method would you like to use?", "Authenticator app")
    page = browser.submit(page, {"method": "phone"}, button="confirm")
    assert page.screen == "proofup-sms-phone"
    english(page, "What phone number would you like to use?", "Message and data rates may apply.")
    assert any(o.get_text().startswith("Germany (+49)") for o in page.soup.find_all("option"))
    page = english(browser.submit(page, {"phone-number": "12ab"}, button="next"),
                   "The phone number must contain digits only.")
    page = browser.submit(page, {"phone-number": PHONE_NUMBER}, button="next")
    assert page.screen == "proofup-sms-code"
    english(page, "We just sent a 6 digit code to +33 675064572. Enter the code below.", "Resend code")

    sms = newest(app, "sms", PHONE)
    found = re.fullmatch(r"Use verification code (\d{6}) for Microsoft authentication\.", sms.body_text)
    assert found, sms.body_text
    page = english(browser.submit(page, {"otc": "000000" if found.group(1) != "000000" else "111111"}, button="next"),
                   "The code you entered doesn't match.")
    page = browser.submit(page, {"otc": found.group(1)}, button="next")
    assert page.screen == "proofup-sms-verified"
    english(page, "SMS verified. Your phone was registered successfully.")
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    english(page, "Success!", "Great job! You have successfully set up your security info.",
            "Default sign-in method:", "Phone - text", "Done")
    page = browser.submit(page, button="done")
    assert page.screen == "app-consent"  # no "Stay signed in?" after creating the account (the guide)
    english(page, "Permissions requested", "This app would like to:", "Sign you in and read your profile")
    browser.submit(page, button="idBtn_Accept")
    assert callback_params(browser)["code"]

    # A returning sign-in with the SMS: its screens too, and "Sign in another way".
    other = browser_of(app, FRENCH_BROWSER)
    url, _ = authorize_url(ui_locales="en", login_hint=INVITED)
    page = other.submit(other.get(url), {"passwd": NEW_PASSWORD}, button="idSIButton9")
    assert page.screen == "mfa-otp"
    english(page, "Enter code", "We texted your phone", "Verify")
    page = english(other.submit(page, {"otc": "12"}, button="idSubmit_SAOTCC_Continue"), "Enter the 6-digit code.")


def test_authenticator_screens_and_the_phone_in_english(app):
    """Proof-up with Microsoft Authenticator (ui_locales=en), the phone in English (its browser says en), then a
    returning sign-in's "Approve sign in request" and "Verify your identity"."""
    email = "english.client@example.fr"
    invited_user(app, email)
    browser = browser_of(app, FRENCH_BROWSER)
    phone = browser_of(app, ENGLISH_BROWSER)
    url, _ = authorize_url(ui_locales="en")
    page = browser.submit(browser.get(url), {"loginfmt": email}, button="idSIButton9")
    page = browser.submit(page, {"passwd": "Demo-2026!"}, button="idSIButton9")
    assert page.screen == "proofup-interrupt"
    page = browser.submit(page, button="idSubmit_ProofUp_Redirect")
    english(page, "On your phone, install the Microsoft Authenticator app.", "Download now")
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-setup"
    english(page, "Set up your account", "If prompted, allow notifications.", "Back")
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-qr"
    english(page, "Scan the QR code", "Can't scan image?", "This emulator's virtual phone:")

    home = english(phone.get(f"/_emulator/phone/{email}"), "Messages")
    app_page = english(phone.get(home.testid("open-authenticator")["href"]), "No accounts.")
    add = english(phone.get(app_page.testid("add-account")["href"]), "WHAT KIND OF ACCOUNT ARE YOU ADDING?",
                  "Work or school account", "Personal account")
    kind = english(phone.get(add.testid("work-or-school")["href"]), "Add work or school account", "Scan a QR code")
    english(phone.submit(kind, button="scan-qr"), "Account added successfully")

    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-try"
    english(page, "Let's try it out", "Approve the notification we're sending to your app.")
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    notification = english(phone.get(f"/_emulator/phone/{email}/notification"), "Approve sign-in?",
                           "Enter the number shown to sign in.", "Deny", "Approve")
    english(phone.submit(notification, {"number": number}, button="approve"), "Sign-in approved.")
    page = browser.submit(browser.get(page.url), button="next")
    assert page.screen == "proofup-app-approved"
    english(page, "Notification approved")
    page = browser.submit(page, button="next")
    english(page, "Success!", "Microsoft Authenticator app was successfully registered")
    page = browser.submit(page, button="done")
    while page.screen in ("kmsi", "app-consent"):
        page = browser.submit(english(page), button="idSIButton9" if page.screen == "kmsi" else "idBtn_Accept")
    assert callback_params(browser)["code"]

    # A returning sign-in: the push screen, then the other ways to sign in.
    other = browser_of(app, FRENCH_BROWSER)
    url, _ = authorize_url(ui_locales="en", login_hint=email)
    page = other.submit(other.get(url), {"passwd": "Demo-2026!"}, button="idSIButton9")
    assert page.screen == "mfa-push"
    english(page, "Approve sign in request", "Open your Authenticator app, and enter the number shown to sign in.",
            "I can't use my Microsoft Authenticator app right now")
    page = other.submit(page, button="signInAnotherWay")
    assert page.screen == "mfa-method-choice"
    english(page, "Verify your identity", "Approve a request on my Microsoft Authenticator app")


def test_mailbox_emulator_and_error_pages_in_english(app):
    browser = browser_of(app, ENGLISH_BROWSER)
    url, _ = authorize_url()
    page = browser.submit(browser.get(url), {"loginfmt": INVITED}, button="idSIButton9")
    page = browser.submit(page, {"new-password": NEW_PASSWORD}, button="idSIButton9")
    browser.submit(page, {"birth-day": "14", "birth-month": "7", "birth-year": "1985"}, button="idSIButton9")
    # The seed's invitation (sent in French when the seed loaded) and the code's mail (in English).
    listing = english(browser.get(f"/_emulator/mailbox/?to={INVITED}"), "Development mailbox", f"Inbox of {INVITED}",
                      "Filter", "2 unread", data=(".m-subject", ".m-snippet"))
    mail = english(browser.get(listing.testids("message")[0].find("a")["href"]), "Verify your email address",
                   "Back to the list", "To ", data=(".m-subject", ".m-snippet"))
    assert re.search(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d+ \w+ \d{4} at \d\d:\d\d UTC",
                     mail.testid("message-date").get_text(strip=True))
    english(browser.get("/_emulator/"), "Users", "Recent journeys", "Development mailbox")
    english(browser.get("/_emulator/phone/"), "Virtual phones")
    page = browser.get("/no/such/page")
    assert page.status == 404 and page.soup.html["lang"] == "en"
    assert "This page doesn't exist or is no longer available." in page.text()
    assert not french_leaks(page.text())


def test_language_setting_and_the_invitation_mail(app, client):
    """The `language` setting: every page in English for a French browser (ui_locales still wins), and the firm's
    invitation mail in natural English."""
    with app.app_context():
        Setting.put("language", "en")
        db.session.commit()
    url, _ = authorize_url()
    english(browser_of(app, FRENCH_BROWSER).get(url), "Sign in")
    url, _ = authorize_url(ui_locales="fr")
    assert browser_of(app, ENGLISH_BROWSER).get(url).soup.find("h1").get_text(strip=True) == "Se connecter"

    response = client.post("/_emulator/api/invitations", json={"email": "guest.english@example.fr"})
    assert response.status_code == 201, response.get_json()
    mail = newest(app, "email", "guest.english@example.fr")
    assert mail.subject.endswith("– Set up your new access to your Espace Client")
    assert mail.body_text.startswith("Dear Client,")
    for text in ("To strengthen the security of your tools", "Important: this is now required",
                 "Set up my new access", "See you soon,"):
        assert text in mail.body_text and text in mail.body_html, text
    assert not french_leaks(mail.body_text) and not french_leaks(mail.body_html)

    with app.app_context():
        Setting.put("language", None)
        db.session.commit()
    client.post("/_emulator/api/invitations", json={"email": "guest.french@example.fr"})
    assert newest(app, "email", "guest.french@example.fr").body_text.startswith("Madame, Monsieur, Cher client,")


def test_device_code_message_and_page_in_english(app):
    """The device code flow: the message the device prints follows the request's language, and so do its pages."""
    from .test_grants import DEVICE_URL, PUBLIC_CLIENT_ID

    client = app.test_client()
    client.environ_base.update(ENGLISH_BROWSER)
    device = client.post(DEVICE_URL, data={"client_id": PUBLIC_CLIENT_ID, "scope": "User.Read"}).json
    assert device["message"] == ("To sign in, use a web browser to open the page http://localhost/devicelogin and "
                                 f"enter the code {device['user_code']} to authenticate.")
    page = english(Browser(client).get("/devicelogin"), "Enter code", "Enter the code displayed on your app or device.")
    assert page.screen == "device-code"
    page = english(Browser(client).submit(page, {"otc": "NOPE1234"}, button="idSIButton9"),
                   "That code wasn't recognized or has expired.")


def test_captcha_support_advice_in_english(app):
    """The loop case's advice to contact the firm's support, in English; the subject to copy stays the firm's."""
    from .test_signup import answer_of, set_setting

    browser = browser_of(app, FRENCH_BROWSER)
    url, _ = authorize_url(ui_locales="en")
    page = browser.submit(browser.get(url), {"loginfmt": INVITED}, button="idSIButton9")
    page = browser.submit(page, {"new-password": NEW_PASSWORD}, button="idSIButton9")
    page = browser.submit(page, {"birth-day": "14", "birth-month": "7", "birth-year": "1985"}, button="idSIButton9")
    code = re.search(r"security code: (\d{4})", newest(app, "email", INVITED).body_text).group(1)
    page = browser.submit(browser.submit(page, {"otc": code}, button="idSIButton9"), button="idSIButton9")
    assert page.screen == "captcha"
    set_setting(app, "captcha", "loop")
    for _ in range(3):
        page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    english(page, "If this step keeps “going round in circles”, please contact", "or by phone at")
    assert ("copying and pasting the following subject: “Connexion Espace client - Problème de Capcha”"
            in page.testid("captcha-support").get_text())


def test_an_unreadable_body_gets_its_error_page_in_english(app):
    """Choosing the language reads a posted form's ui_locales: a body too large to read still gets its page."""
    client = app.test_client()
    client.environ_base.update(ENGLISH_BROWSER)
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/devicelogin", data={"otc": "x" * (limit + 1)})
    assert response.status_code == 413
    page = english(Browser(client).get("/devicelogin"))  # the app still answers, in English
    assert page.screen == "device-code"
    assert "The request is too large." in response.get_data(as_text=True)
