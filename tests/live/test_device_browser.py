"""The device page in headless Chromium, with the QA page objects: type the code, sign in, the device gets tokens."""
import pytest
import requests

from idp.testing.pages import ConsentPage, DeviceCodePage, DeviceDonePage, EmailPage, KmsiPage, PasswordPage

from ..conftest import PASSWORD, PUBLIC_CLIENT_ID

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium):
    with chromium.new_context(locale="fr-FR") as context:  # the French screens (Chromium says en-US otherwise)
        yield context.new_page()


def test_device_code_sign_in_in_a_real_browser(page, idp):
    device = requests.post(f"{idp.authority}/oauth2/v2.0/devicecode",
                           data={"client_id": PUBLIC_CLIENT_ID, "scope": "User.Read openid offline_access"}).json()
    page.goto(device["verification_uri"])
    screen = DeviceCodePage(page).fill("WRONG-CODE").next()
    assert isinstance(screen, DeviceCodePage) and "n'est pas reconnu" in screen.error
    screen = screen.fill(device["user_code"]).next()
    assert isinstance(screen, EmailPage)
    screen = screen.fill("client.demo@example.fr").next()
    assert isinstance(screen, PasswordPage)
    screen = screen.fill(PASSWORD).next()
    assert isinstance(screen, KmsiPage)
    screen = screen.no()
    assert isinstance(screen, ConsentPage)
    screen = screen.accept()
    assert isinstance(screen, DeviceDonePage) and screen.approved
    assert "Vous pouvez maintenant fermer cette fenêtre." in screen.text("device-done")
    token = requests.post(f"{idp.authority}/oauth2/v2.0/token",
                          data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                "client_id": PUBLIC_CLIENT_ID, "device_code": device["device_code"]})
    assert token.status_code == 200, token.text
    assert token.json()["refresh_token"] and token.json()["id_token"]
