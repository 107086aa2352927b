"""The v1.0 paths libraries still call: discovery, authorize (resource=), token, logout, device code, user realm."""
from urllib.parse import urlencode

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, REDIRECT_URI, TENANT, TENANT_ID
from ..helpers import callback_params, pkce
from .test_protocol import assert_aadsts, verify

V1_TOKEN = f"/{TENANT}/oauth2/token"


def test_v1_discovery_has_microsofts_v1_shape(client):
    for segment in (TENANT, TENANT_ID):
        doc = client.get(f"/{segment}/.well-known/openid-configuration").json
        assert doc["issuer"] == f"http://localhost/{TENANT_ID}/"  # https://sts.windows.net/{tid}/ on the emulator's base
        assert doc["authorization_endpoint"] == f"http://localhost/{segment}/oauth2/authorize"
        assert doc["token_endpoint"] == f"http://localhost/{segment}/oauth2/token"
        assert doc["end_session_endpoint"] == f"http://localhost/{segment}/oauth2/logout"
        assert doc["device_authorization_endpoint"] == f"http://localhost/{segment}/oauth2/devicecode"
        assert doc["jwks_uri"] == f"http://localhost/{segment}/discovery/keys"
        assert doc["microsoft_multi_refresh_token"] is True
        assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert client.get("/common/.well-known/openid-configuration").json["issuer"] == "http://localhost/{tenantid}/"
    assert_aadsts(client.get("/nope.onmicrosoft.com/.well-known/openid-configuration"), 90002)


def test_every_v1_endpoint_advertised_is_served(client):
    doc = client.get(f"/{TENANT}/.well-known/openid-configuration").json
    path = lambda key: doc[key].replace("http://localhost", "")  # noqa: E731
    assert client.get(path("jwks_uri")).json["keys"]
    assert client.get(path("authorization_endpoint") + f"?client_id={CLIENT_ID}").status_code in (302, 400)
    assert client.post(path("token_endpoint"), data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                     "client_secret": CLIENT_SECRET,
                                                     "resource": "https://graph.microsoft.com"}).status_code == 200
    assert client.get(path("end_session_endpoint")).status_code == 200
    assert client.post(path("device_authorization_endpoint"), data={"client_id": PUBLIC_CLIENT_ID,
                                                                    "resource": "https://graph.microsoft.com"}).json["user_code"]


def test_v1_authorize_with_resource_then_v1_token(client, browser):
    verifier, challenge = pkce()
    query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI, "state": "s1",
             "resource": "https://graph.microsoft.com", "code_challenge": challenge, "code_challenge_method": "S256"}
    page = browser.get(f"/{TENANT}/oauth2/authorize?{urlencode(query)}")
    assert page.screen == "email"
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idSIButton9")
    browser.submit(page, button="idBtn_Accept")
    params = callback_params(browser)
    assert params["state"] == "s1"
    response = client.post(V1_TOKEN, data={"grant_type": "authorization_code", "code": params["code"],
                                           "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "code_verifier": verifier,
                                           "resource": "https://graph.microsoft.com"})
    assert response.status_code == 200, response.json
    # v1.0 tokens (tests/test_v1_tokens.py): aud is the resource as named, the user is upn/unique_name
    assert verify(client, response.json["access_token"])["aud"] == "https://graph.microsoft.com"
    assert verify(client, response.json["id_token"])["upn"] == "client.demo@example.fr"


def test_v1_token_maps_resource_for_client_credentials_and_reports_errors(client):
    response = client.post(V1_TOKEN, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "resource": "https://graph.microsoft.com"})
    assert response.status_code == 200, response.json
    claims = verify(client, response.json["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com" and claims["idtyp"] == "app" and claims["ver"] == "1.0"
    assert claims["appid"] == CLIENT_ID and claims["appidacr"] == "1" and "azp" not in claims
    assert_aadsts(client.post(V1_TOKEN, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                              "client_secret": "wrong", "resource": "https://graph.microsoft.com"}),
                  7000215, status=401)
    assert_aadsts(client.post(V1_TOKEN, data={"client_id": CLIENT_ID}), 900144)
    assert_aadsts(client.post("/nope.onmicrosoft.com/oauth2/token", data={"grant_type": "client_credentials"}), 90002)


def test_v1_logout_signs_out_and_returns_to_the_app(client, browser):
    from ..helpers import sign_in

    sign_in(browser)
    response = client.get(f"/{TENANT}/oauth2/logout?post_logout_redirect_uri=http://localhost:8401/")
    assert response.status_code == 302 and response.location == "http://localhost:8401/"
    # signed out: a new request asks for the password again
    from ..helpers import authorize_url

    page = browser.get(authorize_url(login_hint="client.demo@example.fr")[0])
    assert page.screen == "password"
    never = client.get(f"/{TENANT}/oauth2/logout?post_logout_redirect_uri=https://evil.example/")
    assert never.status_code == 200 and "évil" not in never.get_data(as_text=True)


def test_user_realm_as_msal_calls_it(client):
    body = client.get("/common/userrealm/client.demo@example.fr?api-version=1.0").json
    assert body == {"ver": "1.0", "account_type": "Managed", "domain_name": "example.fr",
                    "cloud_instance_name": "localhost", "cloud_audience_urn": "urn:federation:MicrosoftOnline"}
    assert client.get(f"/common/userrealm/someone@{TENANT}?api-version=2.1").json["account_type"] == "Managed"
    assert client.get("/common/userrealm/nobody@unknown.example?api-version=1.0").json["account_type"] == "Unknown"
