"""Malformed, missing, repeated and oversized parameters on every endpoint: a 4xx in Microsoft's shape, never a 500."""
import pytest

from ..conftest import CLIENT_ID, CLIENT_SECRET, TENANT
from ..helpers import authorize_url

BIG = "x" * 5000
TOKEN = f"/{TENANT}/oauth2/v2.0/token"
AUTHORIZE = f"/{TENANT}/oauth2/v2.0/authorize"


def is_ms_json_error(response, status=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if status:
        assert response.status_code == status
    body = response.json
    assert body["error"] and body["error_codes"] and body["error_description"].startswith("AADSTS")
    return body


@pytest.mark.parametrize("data", [
    {},
    {"grant_type": ""},
    {"grant_type": "password", "username": "a", "password": "b", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "authorization_code", "code": "", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "authorization_code", "code": BIG, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "authorization_code", "code": "abc", "client_id": BIG, "client_secret": CLIENT_SECRET},
    {"grant_type": "authorization_code", "code": "abc"},
    {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "refresh_token", "refresh_token": "\x00\xff", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": BIG},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT_ID},
], ids=lambda d: "-".join(f"{k}={str(v)[:10]}" for k, v in d.items()) or "empty")
def test_token_endpoint_bad_bodies(client, data):
    is_ms_json_error(client.post(TOKEN, data=data))


def test_token_endpoint_repeated_parameter(client):
    from werkzeug.datastructures import MultiDict

    data = MultiDict([("grant_type", "client_credentials"), ("grant_type", "refresh_token")])
    body = is_ms_json_error(client.post(TOKEN, data=data))
    assert "repeated" in body["error_description"]


def test_token_endpoint_wrong_method_and_content(client):
    is_ms_json_error(client.get(TOKEN))
    is_ms_json_error(client.post(TOKEN, data="{not json", content_type="application/json"))
    is_ms_json_error(client.post(TOKEN, data=b"\xff\xfe" * 10, content_type="application/x-www-form-urlencoded"))


def test_token_endpoint_oversized_body(client):
    response = client.post(TOKEN, data={"grant_type": "client_credentials", "pad": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.json["error_codes"]


def test_token_endpoint_bad_basic_auth(client):
    for header in ("Basic !!!", "Basic " + "a" * 20, "Bearer x", "Basic"):
        response = client.post(TOKEN, headers={"Authorization": header}, data={"grant_type": "client_credentials",
                                                                               "scope": "https://graph.microsoft.com/.default"})
        is_ms_json_error(response)


@pytest.mark.parametrize("override", [
    {"response_type": None},
    {"response_type": "token"},
    {"response_type": "id_token token"},
    {"scope": None},
    {"scope": "openid https://a.example/x api://b/y"},
    {"response_mode": "weird"},
    {"prompt": "sometimes"},
    {"max_age": "-5"},
    {"code_challenge_method": "plain"},
    {"code_challenge": "short"},
    {"state": BIG},
], ids=lambda d: "-".join(f"{k}={str(v)[:10]}" for k, v in d.items()))
def test_authorize_bad_parameters_redirect_an_error(browser, override):
    url, _ = authorize_url(**override)
    response = browser.client.get(url)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        assert "error=" in response.location and "AADSTS" in response.location


@pytest.mark.parametrize("override", [{"client_id": None}, {"client_id": BIG}, {"redirect_uri": "javascript:alert(1)"},
                                      {"redirect_uri": BIG}], ids=["no-client", "big-client", "js-redirect", "big-redirect"])
def test_authorize_without_trusted_redirect_shows_the_error_page(browser, override):
    url, _ = authorize_url(**override)
    response = browser.client.get(url)
    assert response.status_code == 400 and response.location is None
    assert b"data-screen=\"error\"" in response.data and b"AADSTS" in response.data


def test_authorize_repeated_parameter(client):
    url, _ = authorize_url()
    response = client.get(url + "&client_id=" + CLIENT_ID)
    assert response.status_code == 400 and b"AADSTS9002313" in response.data


@pytest.mark.parametrize("path", [
    "/common/discovery/instance?authorization_endpoint=%%%",
    "/common/discovery/instance?authorization_endpoint=" + BIG,
    f"/{TENANT}/discovery/v2.0/keys?x=" + BIG,
    f"/{BIG[:300]}/v2.0/.well-known/openid-configuration",
    "/oidc/userinfo",
    "/v1.0/me",
    "/error?code=abc",
    "/login/unknown-flow/email",
    "/login/unknown-flow/password",
    "/_emulator/nope",
], ids=lambda p: p[:40])
def test_other_endpoints_never_500(client, path):
    response = client.get(path)
    assert response.status_code < 500


def test_screen_posts_with_garbage_never_500(browser, client):
    url, _ = authorize_url()
    page = browser.get(url)
    form = page.form()
    for data in ({"loginfmt": BIG}, {"loginfmt": "\x00"}, {"loginfmt": ["a@b.fr", "c@d.fr"]}, {}):
        response = client.post(page.url.replace("http://localhost", ""), data={**form.fields, **data})
        assert response.status_code < 500
    page = browser.submit(browser.get(url), {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    response = client.post(page.url.replace("http://localhost", ""), data={**page.form().fields, "passwd": BIG})
    assert response.status_code < 500
