"""Microsoft's token semantics as real client libraries see them, against the real server: MSAL Python's
token cache and concurrent silent calls, PyJWT validating a custom API's access token as an API backend
does, and strict rotation's single winner under concurrency."""
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import jwt
import msal
import pytest
import requests

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, REDIRECT_URI, TENANT, TENANT_ID, LiveServer
from ..helpers import pkce
from .test_live import ANSWERS, walk_screens
from ..functional.test_resources import API_ID, API_SCOPE, GRAPH_ID


@pytest.fixture
def tls_server(client_libraries_server):
    """The session's `serve --https` (conftest): each test signs in as a user of its own."""
    return client_libraries_server


pytestmark = pytest.mark.usefixtures("verify_with_the_emulator_ca")


class CountingSession(requests.Session):
    """MSAL's http_client: a requests session that counts the calls to the token endpoint."""

    def __init__(self, ca):
        super().__init__()
        self.verify = ca
        self.token_requests = 0
        self.lock = threading.Lock()

    def request(self, method, url, *args, **kwargs):
        if url.endswith("/oauth2/v2.0/token"):
            with self.lock:
                self.token_requests += 1
        return super().request(method, url, *args, **kwargs)


def msal_sign_in(server, scopes, email):
    """MSAL's confidential auth-code flow, the user `email` answering the screens: (app, http client, result)."""
    http = CountingSession(str(server.ca_path))
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET, http_client=http,
                                             authority=f"{server.base_url}/{TENANT}", instance_discovery=False)
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, response_mode="form_post")
    browser = requests.Session()
    browser.verify = str(server.ca_path)
    answers = {**ANSWERS, "email": ("idSIButton9", {"loginfmt": email})}
    params, _ = walk_screens(browser, flow["auth_uri"], answers=answers)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    return app, http, result


def create_user(server, email):
    response = requests.post(f"{server.base_url}/_emulator/api/users", verify=str(server.ca_path),
                             json={"email": email, "password": PASSWORD, "state": "registered"})
    assert response.status_code == 201, response.text
    return email


def test_msal_answers_user_read_from_its_cache_after_the_code_flow(tls_server):
    email = create_user(tls_server, "semantics.cache@example.fr")
    app, http, result = msal_sign_in(tls_server, ["User.Read"], email)
    assert http.token_requests == 1
    account = app.get_accounts()[0]
    silent = app.acquire_token_silent(["User.Read"], account=account)
    assert silent["access_token"] == result["access_token"]
    assert http.token_requests == 1  # no request to the token endpoint: the cache matched "User.Read"


def test_eight_concurrent_forced_refreshes_all_succeed_and_the_user_stays_signed_in(tls_server):
    email = create_user(tls_server, "semantics.refresh@example.fr")
    app, http, _ = msal_sign_in(tls_server, ["User.Read"], email)
    account = app.get_accounts()[0]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: app.acquire_token_silent(["User.Read"], account=account, force_refresh=True),
                                range(8)))
    assert all(r and "access_token" in r for r in results), [r.get("error_description") for r in results if r]
    assert http.token_requests == 9
    assert [a["username"] for a in app.get_accounts()] == [email]
    again = app.acquire_token_silent(["User.Read"], account=app.get_accounts()[0], force_refresh=True)
    assert again and "access_token" in again, again


def test_an_api_backend_validates_its_access_token_with_pyjwt(tls_server):
    email = create_user(tls_server, "semantics.api@example.fr")
    _, _, result = msal_sign_in(tls_server, [API_SCOPE], email)
    ca = ssl.create_default_context(cafile=str(tls_server.ca_path))
    metadata = requests.get(f"{tls_server.base_url}/{TENANT}/v2.0/.well-known/openid-configuration",
                            verify=str(tls_server.ca_path)).json()
    keys = jwt.PyJWKClient(metadata["jwks_uri"], ssl_context=ca)
    token = result["access_token"]
    claims = jwt.decode(token, keys.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
                        audience=API_ID, issuer=metadata["issuer"], options={"require": ["exp", "iat", "nbf"]})
    assert claims["iss"] == f"{tls_server.base_url}/{TENANT_ID}/v2.0"
    assert claims["scp"] == "access_as_user" and claims["azp"] == CLIENT_ID and claims["tid"] == TENANT_ID
    # the same backend refuses a Microsoft Graph token, and any token whose signature is not the emulator's
    _, _, graph = msal_sign_in(tls_server, ["User.Read"], email)
    graph_token = graph["access_token"]
    assert jwt.decode(graph_token, options={"verify_signature": False})["aud"] == GRAPH_ID
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(graph_token, keys.get_signing_key_from_jwt(graph_token).key, algorithms=["RS256"],
                   audience=API_ID, issuer=metadata["issuer"])
    forged = token[: token.rindex(".") + 1] + ("A" if token[-1] != "A" else "B") * 20
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, keys.get_signing_key_from_jwt(token).key, algorithms=["RS256"], audience=API_ID,
                   issuer=metadata["issuer"])


@pytest.fixture
def rotating_server(tmp_path):
    server = LiveServer(tmp_path / "rotate", extra_env={"IDP_REFRESH_TOKENS": "rotate"})
    server.start()
    yield server
    server.stop()


def test_strict_rotation_has_exactly_one_winner_under_concurrency(rotating_server):
    """The raw protocol here: one refresh token, eight requests released at once."""
    server = rotating_server
    verifier, challenge = pkce()
    authorize = (f"{server.base_url}/{TENANT}/oauth2/v2.0/authorize?client_id={CLIENT_ID}&response_type=code"
                 f"&redirect_uri={REDIRECT_URI}&scope=openid%20offline_access%20User.Read"
                 f"&code_challenge={challenge}&code_challenge_method=S256")
    params, _ = walk_screens(requests.Session(), authorize)
    token_url = f"{server.base_url}/{TENANT}/oauth2/v2.0/token"
    first = requests.post(token_url, data={"grant_type": "authorization_code", "code": params["code"],
                                           "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
                                           "client_secret": CLIENT_SECRET, "code_verifier": verifier}).json()
    start = threading.Barrier(8)

    def race(_):
        start.wait()
        return requests.post(token_url, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                              "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(race, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 7, [r.text[:200] for r in responses]
    assert all(r.json()["error_codes"] == [700082] for r in responses if r.status_code == 400)
