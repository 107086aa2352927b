"""The Playwright page objects of idp.testing.pages, driven in headless Chromium against the `idp` fixture."""
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from idp.testing.pages import EmailPage, KmsiPage, MfaOtpPage, MfaPushPage, PasswordPage, current

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium):
    with chromium.new_context() as context:
        yield context.new_page()


def start(page, idp):
    """Stand in for the app: answer its redirect URI, open the authorization request."""
    page.route(f"{idp.redirect_uri.split('/auth/')[0]}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body='<body data-screen="client-callback">ok</body>'))
    query = urlencode({"client_id": idp.client_id, "response_type": "code", "redirect_uri": idp.redirect_uri,
                       "scope": "openid profile", "state": "qa", "nonce": "n"})
    page.goto(f"{idp.authority}/oauth2/v2.0/authorize?{query}")
    return EmailPage(page)


def test_totp_sign_in_with_the_page_objects(page, idp):
    idp.create_user("qa.pages@example.fr", state="mfa_totp", password="Secret-2026!")
    screen = start(page, idp).fill("qa.pages@example.fr").next()
    assert isinstance(screen, PasswordPage)
    screen = screen.fill("wrong").next()
    assert isinstance(screen, PasswordPage) and screen.error
    screen = screen.fill("Secret-2026!").next()
    assert isinstance(screen, MfaOtpPage)
    screen = screen.fill("000000").verify()
    assert isinstance(screen, MfaOtpPage) and screen.error
    screen = screen.fill(idp.totp("qa.pages@example.fr")).verify()
    assert isinstance(screen, KmsiPage)
    screen = screen.no().accept()
    assert screen.screen_id is None and current(page).page.get_attribute("body", "data-screen") == "client-callback"
    callback = parse_qs(urlsplit(page.url).query)
    assert callback["state"] == ["qa"] and callback["code"]


def test_push_sign_in_with_the_page_objects(page, idp):
    idp.create_user("qa.push@example.fr", state="mfa_authenticator", password="Secret-2026!")
    screen = start(page, idp).fill("qa.push@example.fr").next().fill("Secret-2026!").next()
    assert isinstance(screen, MfaPushPage)
    assert idp.approve_push("qa.push@example.fr", number=screen.number)["status"] == "approved"
    screen = screen.next()
    assert isinstance(screen, KmsiPage)
