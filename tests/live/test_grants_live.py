"""MSAL Python against the real server over https: device code (with the device page), ROPC, a certificate, on-behalf-of."""
import warnings
from pathlib import Path
from urllib.parse import urljoin

import msal
import pytest
import requests
from bs4 import BeautifulSoup
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, REDIRECT_URI, TENANT
from .test_live import ANSWERS, verify_id_token, walk_screens

DAEMON_ID = "9d4c7b2a-1e3f-4a5b-8c6d-0e1f2a3b4c5d"
API_ID = "3e7a9c1b-5d2f-4b8e-a6c4-8f1d2e3b4a59"
API_SECRET = "espace-client-api-secret-2026"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def tls(client_libraries_server):
    """The session's `serve --https` (conftest): each test signs in with users of its own."""
    return client_libraries_server


pytestmark = pytest.mark.usefixtures("verify_with_the_emulator_ca")


class KeepThePort(requests.Session):
    """MSAL calls home realm discovery on https://{host}/common/userrealm/… without the authority's port
    (Microsoft's is 443): send it to the emulator's port, as a host entry for login.microsoftonline.com would."""

    def __init__(self, server):
        super().__init__()
        self.server = server
        self.verify = str(server.ca_path)

    def request(self, method, url, *args, **kwargs):
        host_only = "https://127.0.0.1/"
        if url.startswith(host_only):
            url = f"{self.server.base_url}/{url[len(host_only):]}"
        return super().request(method, url, *args, **kwargs)


def public_app(server, client_id=PUBLIC_CLIENT_ID):
    return msal.PublicClientApplication(client_id, authority=f"{server.base_url}/{TENANT}", instance_discovery=False,
                                        http_client=KeepThePort(server))


def browser(server):
    session = requests.Session()
    session.verify = str(server.ca_path)
    return session


def create_user(server, email, consents=(), state="registered"):
    response = browser(server).post(f"{server.base_url}/_emulator/api/users",
                                    json={"email": email, "password": PASSWORD, "state": state, "consents": list(consents)})
    assert response.status_code in (200, 201), response.text


def sign_in_on_device_page(server, flow, email, consent="idBtn_Accept"):
    """A person at a browser: open the device page, type the code, then the normal sign-in screens."""
    session = browser(server)
    response = session.get(flow["verification_uri"])
    answers = {"device-code": ("idSIButton9", {"otc": flow["user_code"]}),
               "email": ("idSIButton9", {"loginfmt": email}), "password": ("idSIButton9", {"passwd": PASSWORD}),
               "kmsi": ("idSIButton9", {}), "app-consent": (consent, {})}
    seen = []
    for _ in range(12):
        soup = BeautifulSoup(response.text, "html.parser")
        screen = soup.body["data-screen"]
        if screen == "device-done":
            return seen, soup.get_text(" ", strip=True)
        seen.append(screen)
        button, data = answers[screen]
        form = soup.find(id=button).find_parent("form")
        fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name") and i.get("type") != "submit"}
        if soup.find(id=button).get("name"):
            fields[soup.find(id=button)["name"]] = soup.find(id=button).get("value", "")
        fields.update(data)
        response = session.post(urljoin(response.url, form.get("action") or response.url), data=fields)
    raise AssertionError(seen)


def test_msal_device_flow_with_the_device_page(tls):
    app = public_app(tls)
    flow = app.initiate_device_flow(scopes=["User.Read"])
    assert flow["user_code"] and flow["verification_uri"] == f"{tls.base_url}/devicelogin", flow
    assert flow["message"].startswith(f"Pour vous connecter, utilisez un navigateur web pour ouvrir la page {tls.base_url}/devicelogin")
    create_user(tls, "device.accept@example.fr")
    seen, text = sign_in_on_device_page(tls, flow, email="device.accept@example.fr")
    assert seen == ["device-code", "email", "password", "kmsi", "app-consent"]
    assert "Vous êtes connecté à l'application Outil de test (client public) sur votre appareil." in text
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "device.accept@example.fr"
    account = app.get_accounts()[0]
    assert app.acquire_token_silent(["User.Read"], account=account)["access_token"] == result["access_token"]  # cache hit


def test_msal_device_flow_polling_errors(tls):
    app = public_app(tls)
    flow = app.initiate_device_flow(scopes=["User.Read"])
    once = {"exit_condition": lambda flow: True}  # MSAL returns after one poll instead of waiting
    warnings.filterwarnings("ignore", "Attempted too soon", UserWarning)  # the declined flow's first poll
    assert app.acquire_token_by_device_flow(flow, **once)["error"] == "authorization_pending"
    assert app.acquire_token_by_device_flow(flow, **once)["error"] == "slow_down"  # MSAL warns as well
    create_user(tls, "device.decline@example.fr")
    declined = app.initiate_device_flow(scopes=["User.Read"])
    seen, text = sign_in_on_device_page(tls, declined, email="device.decline@example.fr", consent="idBtn_Back")
    assert seen[-1] == "app-consent" and "Vous avez refusé" in text
    assert app.acquire_token_by_device_flow(declined, **once)["error"] == "authorization_declined"
    clock = browser(tls).put(f"{tls.base_url}/_emulator/api/clock", json={"offset_seconds": 901})
    assert clock.status_code == 200
    try:
        result = app.acquire_token_by_device_flow(flow, **once)
        assert result["error"] == "expired_token" and 70020 in result["error_codes"], result
    finally:
        browser(tls).put(f"{tls.base_url}/_emulator/api/clock", json={"offset_seconds": 0})


@pytest.mark.filterwarnings("ignore:This API has been deprecated for public client flows:DeprecationWarning")
def test_msal_username_password(tls):
    create_user(tls, "ropc.live@example.fr", consents=[PUBLIC_CLIENT_ID])
    app = public_app(tls)
    result = app.acquire_token_by_username_password("ropc.live@example.fr", PASSWORD, scopes=["User.Read"])
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "ropc.live@example.fr"
    assert verify_id_token(tls, result["access_token"], verify=str(tls.ca_path))["aud"] == GRAPH_ID
    mfa = app.acquire_token_by_username_password("sms.demo@example.fr", PASSWORD, scopes=["User.Read"])
    assert mfa["error"] == "invalid_grant" and mfa["error_codes"] == [50076] and mfa["suberror"] == "basic_action"
    wrong = app.acquire_token_by_username_password("ropc.live@example.fr", "wrong", scopes=["User.Read"])
    assert wrong["error"] == "invalid_grant" and wrong["error_codes"] == [50126]
    refused = public_app(tls, CLIENT_ID).acquire_token_by_username_password("ropc.live@example.fr", PASSWORD,
                                                                             scopes=["User.Read"])
    assert refused["error"] == "invalid_client" and refused["error_codes"] == [7000218]


@pytest.mark.parametrize("credential", ["thumbprint", "public_certificate"])
def test_msal_client_credentials_with_a_certificate(tls, credential):
    private_key = (ROOT / "tests" / "data" / "daemon-key.pem").read_text()
    certificate = (ROOT / "seeds" / "default" / "certs" / "daemon.pem").read_text()
    if credential == "thumbprint":  # SHA-1 thumbprint: RS256 with x5t
        value = x509.load_pem_x509_certificate(certificate.encode()).fingerprint(hashes.SHA1()).hex()
    else:  # the certificate: MSAL signs PS256 with x5t#S256
        value = certificate
    app = msal.ConfidentialClientApplication(DAEMON_ID, client_credential={"private_key": private_key, credential: value},
                                             authority=f"{tls.base_url}/{TENANT}", instance_discovery=False,
                                             verify=str(tls.ca_path))
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    claims = verify_id_token(tls, result["access_token"], verify=str(tls.ca_path))
    assert claims["aud"] == GRAPH_ID and claims["azp"] == DAEMON_ID and claims["idtyp"] == "app"


def test_msal_on_behalf_of_from_the_api_token_to_graph(tls):
    create_user(tls, "obo.live@example.fr", consents=[API_ID])
    web = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                             authority=f"{tls.base_url}/{TENANT}", instance_discovery=False,
                                             verify=str(tls.ca_path))
    flow = web.initiate_auth_code_flow([f"api://{API_ID}/access_as_user"], redirect_uri=REDIRECT_URI,
                                       response_mode="form_post")
    answers = {**ANSWERS, "email": ("idSIButton9", {"loginfmt": "obo.live@example.fr"})}
    params, _ = walk_screens(browser(tls), flow["auth_uri"], answers=answers)
    incoming = web.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in incoming, incoming
    api = msal.ConfidentialClientApplication(API_ID, client_credential=API_SECRET, authority=f"{tls.base_url}/{TENANT}",
                                             instance_discovery=False, verify=str(tls.ca_path))
    result = api.acquire_token_on_behalf_of(incoming["access_token"], ["User.Read"])
    assert "access_token" in result, result
    claims = verify_id_token(tls, result["access_token"], verify=str(tls.ca_path))
    assert claims["aud"] == GRAPH_ID and claims["scp"] == "User.Read" and claims["azp"] == API_ID
    me = browser(tls).get(f"{tls.base_url}/v1.0/me", headers={"Authorization": f"Bearer {result['access_token']}"})
    assert me.json()["mail"] == "obo.live@example.fr"
    # A token that is not for the API (the Espace Client's ID token) is refused.
    refused = api.acquire_token_on_behalf_of(incoming["id_token"], ["User.Read"])
    assert refused.get("error") == "invalid_grant" and refused["error_codes"] == [50013], refused
