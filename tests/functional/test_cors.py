"""CORS: what a script of another origin may read, and the single-page app's cross-origin code redemption."""
import pytest

from ..conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TENANT
from ..helpers import sign_in

SPA_CLIENT_ID = "5b8e2d1f-3c4a-4f6b-9a7d-1e2c3b4a5d6e"
SPA_ORIGIN = "http://127.0.0.1:8403"
# A loopback SPA redirect URI on another port than the registered one (http://127.0.0.1:8403/): the port is ignored.
SPA_REDIRECT_URI = "http://127.0.0.1:52017/"
OTHER_ORIGIN = "https://evil.example"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
PUBLIC_PATHS = [f"/{TENANT}/v2.0/.well-known/openid-configuration", f"/{TENANT}/discovery/v2.0/keys",
                f"/{TENANT}/.well-known/openid-configuration", f"/{TENANT}/discovery/keys",
                "/common/discovery/instance", "/common/userrealm/client.demo@example.fr?api-version=1.0",
                "/common/UserRealm/client.demo@example.fr", "/oidc/userinfo", "/v1.0/me"]


def spa_sign_in(browser, redirect_uri=SPA_REDIRECT_URI):
    params, verifier, _ = sign_in(browser, client_id=SPA_CLIENT_ID, redirect_uri=redirect_uri)
    assert "code" in params, params
    return params["code"], verifier


def redeem(client, code, verifier, origin=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
           redirect_uri=REDIRECT_URI):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
            "client_secret": client_secret, "code_verifier": verifier}
    return client.post(TOKEN_PATH, data={k: v for k, v in data.items() if v},
                       headers={"Origin": origin} if origin else {})


def spa_redeem(client, code, verifier, origin="http://127.0.0.1:52017"):
    return redeem(client, code, verifier, origin, client_id=SPA_CLIENT_ID, client_secret=None,
                  redirect_uri=SPA_REDIRECT_URI)


def test_published_and_resource_endpoints_answer_any_origin_without_credentials(client):
    for path in PUBLIC_PATHS * 2:  # the second discovery/JWKS answer is replayed by the published-documents layer
        response = client.get(path, headers={"Origin": OTHER_ORIGIN})
        assert response.headers.get("Access-Control-Allow-Origin") == "*", path
        assert "Access-Control-Allow-Credentials" not in response.headers, path


def test_preflight_of_a_resource_call_with_a_bearer_token_is_answered(client):
    for path in PUBLIC_PATHS:
        response = client.options(path, headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET",
                                                 "Access-Control-Request-Headers": "authorization,client-request-id"})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower(), path
        assert "GET" in response.headers["Access-Control-Allow-Methods"], path
        assert "Access-Control-Allow-Credentials" not in response.headers, path


@pytest.mark.parametrize("path", [f"/{TENANT}/oauth2/v2.0/authorize?client_id={CLIENT_ID}", "/_emulator/api/users"])
def test_sign_in_screens_and_the_control_api_have_no_cors(client, path):
    response = client.get(path, headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("path", [TOKEN_PATH, f"/{TENANT}/oauth2/token"])  # v2.0 and v1
def test_token_endpoint_preflight_only_for_spa_origins(client, path):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options(path, headers={"Origin": SPA_ORIGIN, **ask})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Origin" in allowed.headers["Vary"]
    refused = client.options(path, headers={"Origin": OTHER_ORIGIN, **ask})
    assert "Access-Control-Allow-Origin" not in refused.headers
    # a loopback SPA may run on any port, as its redirect URI matches on any port
    other_port = client.options(path, headers={"Origin": "http://localhost:3000", **ask})
    assert other_port.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    https_loopback = client.options(path, headers={"Origin": "https://localhost:8403", **ask})
    assert "Access-Control-Allow-Origin" not in https_loopback.headers


def test_spa_code_is_redeemed_cross_origin_with_cors(browser, client):
    code, verifier = spa_sign_in(browser)
    response = spa_redeem(client, code, verifier)
    assert response.status_code == 200, response.json
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:52017"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.json["access_token"] and response.json["refresh_token"]


def test_spa_token_answer_is_not_readable_from_another_origin(browser, client):
    code, verifier = spa_sign_in(browser)
    response = spa_redeem(client, code, verifier, origin=OTHER_ORIGIN)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_spa_code_redeemed_without_origin_is_9002327(browser, client):
    code, verifier = spa_sign_in(browser)
    response = spa_redeem(client, code, verifier, origin=None)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request" and response.json["error_codes"] == [9002327]
    assert response.json["error_description"].startswith(
        "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via "
        "cross-origin requests.")


def test_web_app_code_redeemed_cross_origin_is_9002326_without_cors(browser, client):
    params, verifier, _ = sign_in(browser)
    response = redeem(client, params["code"], verifier, origin="http://localhost:8401")
    assert response.status_code == 400 and response.json["error_codes"] == [9002326]
    assert response.json["error_description"].startswith(
        "AADSTS9002326: Cross-origin token redemption is permitted only for the 'Single-Page Application' "
        "client-type. Request origin: 'http://localhost:8401'.")
    assert "Access-Control-Allow-Origin" not in response.headers
    # the code was not spent: the server redeems it
    assert redeem(client, params["code"], verifier).status_code == 200


def test_spa_refresh_token_is_redeemed_cross_origin_only(browser, client):
    code, verifier = spa_sign_in(browser)
    refresh_token = spa_redeem(client, code, verifier).json["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": SPA_CLIENT_ID,
            "scope": "openid profile offline_access User.Read"}
    from_server = client.post(TOKEN_PATH, data=data)
    assert from_server.status_code == 400 and from_server.json["error_codes"] == [9002327]
    from_browser = client.post(TOKEN_PATH, data=data, headers={"Origin": SPA_ORIGIN})
    assert from_browser.status_code == 200, from_browser.json
    assert from_browser.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN


def test_web_app_refresh_token_redeemed_cross_origin_is_9002326(browser, client):
    params, verifier, _ = sign_in(browser)
    refresh_token = redeem(client, params["code"], verifier).json["refresh_token"]
    response = client.post(TOKEN_PATH, headers={"Origin": OTHER_ORIGIN}, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert response.status_code == 400 and response.json["error_codes"] == [9002326]


def test_a_refused_token_request_body_is_an_error_not_a_crash(client):
    too_large = client.post(TOKEN_PATH, data={"client_id": "x" * 2_000_000}, headers={"Origin": SPA_ORIGIN})
    assert too_large.status_code == 413 and too_large.json["error"] == "invalid_request"
    wrong_grant = client.post(TOKEN_PATH, headers={"Origin": SPA_ORIGIN}, data={
        "client_id": SPA_CLIENT_ID, "grant_type": "authorization_code", "code": "unknown", "redirect_uri": SPA_REDIRECT_URI})
    # the SPA may read the errors of its own requests
    assert wrong_grant.status_code == 400 and wrong_grant.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN


GRAPH_DEFAULT = "https://graph.microsoft.com/.default"


@pytest.mark.parametrize("data", [
    {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
     "scope": GRAPH_DEFAULT},
    {"grant_type": "password", "client_id": "2f1e9d7c-4b3a-4c5d-8e6f-7a8b9c0d1e2f", "username": "client.demo@example.fr",
     "password": "Demo-2026!", "scope": "User.Read openid profile offline_access"},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "2f1e9d7c-4b3a-4c5d-8e6f-7a8b9c0d1e2f",
     "device_code": "any"},
], ids=["client_credentials", "password", "device_code"])
def test_other_grants_sent_cross_origin_are_9002326(client, data):
    response = client.post(TOKEN_PATH, data=data, headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 400, response.json
    assert response.json["error"] == "invalid_request" and response.json["error_codes"] == [9002326]
    assert response.json["error_description"].startswith(
        f"AADSTS9002326: Cross-origin token redemption is permitted only for the 'Single-Page Application' "
        f"client-type. Request origin: '{OTHER_ORIGIN}'.")
    assert "Access-Control-Allow-Origin" not in response.headers
    # The same request from a server (no Origin) is not refused for its origin.
    from_server = client.post(TOKEN_PATH, data=data)
    assert 9002326 not in (from_server.json.get("error_codes") or [])
