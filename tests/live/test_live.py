"""Against the real server (`idp-emulator serve` in a subprocess): authlib's client, MSAL over TLS, restarts, key rotation."""
import base64
import json
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import msal
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from bs4 import BeautifulSoup
from joserfc import jwt
from joserfc.jwk import KeySet

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, REDIRECT_URI, TENANT, TENANT_ID, LiveServer

ANSWERS = {"email": ("idSIButton9", {"loginfmt": "client.demo@example.fr"}),
           "password": ("idSIButton9", {"passwd": PASSWORD}),
           "kmsi": ("idSIButton9", {}),
           "app-consent": ("idBtn_Accept", {})}


def walk_screens(session, url, answers=ANSWERS, stop_prefix=REDIRECT_URI):
    """Play the browser with requests: follow redirects, answer each screen's form, stop at the client's callback."""
    seen = []
    response = session.get(url, allow_redirects=False)
    for _ in range(20):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(stop_prefix):
                return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}, seen
            response = session.get(location, allow_redirects=False)
            continue
        soup = BeautifulSoup(response.text, "html.parser")
        screen = soup.body["data-screen"]
        if screen == "form-post":  # response_mode=form_post: the page posts the code to the client
            form = soup.find("form")
            assert form["action"].startswith(stop_prefix)
            return {i["name"]: i["value"] for i in form.find_all("input")}, seen
        seen.append(screen)
        assert screen in answers, (seen, soup.get_text(" ", strip=True)[:500])
        button, data = answers[screen]
        form = soup.find(id=button).find_parent("form")
        fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name") and i.get("type") != "submit"}
        element = soup.find(id=button)
        if element.get("name"):
            fields[element["name"]] = element.get("value", "")
        fields.update(data)
        response = session.post(urljoin(response.url, form.get("action") or response.url), data=fields, allow_redirects=False)
    raise AssertionError(f"too many screens: {seen}")


def verify_id_token(server, id_token, verify=True):
    keys = requests.get(f"{server.base_url}/{TENANT}/discovery/v2.0/keys", verify=verify).json()
    return jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=["RS256"]).claims


def authlib_sign_in(server):
    metadata = requests.get(f"{server.base_url}/{TENANT}/v2.0/.well-known/openid-configuration").json()
    oauth = OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="openid profile email offline_access User.Read",
                          redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                          token_endpoint_auth_method="client_secret_post")
    verifier = "v" * 20 + re.sub(r"[^A-Za-z0-9]", "", CLIENT_SECRET) * 2
    url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-live")
    browser = requests.Session()
    params, seen = walk_screens(browser, url)
    assert params["state"] == state
    token = oauth.fetch_token(metadata["token_endpoint"], code=params["code"], code_verifier=verifier)
    return oauth, metadata, token, seen


def test_authlib_client_signs_in_refreshes_and_reads_userinfo(live_server):
    oauth, metadata, token, seen = authlib_sign_in(live_server)
    assert seen == ["email", "password", "kmsi", "app-consent"]
    claims = verify_id_token(live_server, token["id_token"])
    assert claims["iss"] == metadata["issuer"] == f"{live_server.base_url}/{TENANT_ID}/v2.0"
    assert claims["aud"] == CLIENT_ID and claims["nonce"] == "n-live" and claims["ver"] == "2.0"
    assert claims["tid"] == TENANT_ID and claims["preferred_username"] == "client.demo@example.fr"
    assert claims["email"] == "client.demo@example.fr" and claims["name"] == "Client Démo"
    for key in ("sub", "oid", "sid", "uti", "auth_time", "iat", "exp", "nbf"):
        assert claims[key]
    assert claims["signin_state"] == ["kmsi"]
    info = oauth.get(metadata["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["email"] == "client.demo@example.fr"
    refreshed = oauth.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert verify_id_token(live_server, refreshed["id_token"])["oid"] == claims["oid"]


def test_restart_keeps_keys_users_and_consents_and_rotation_keeps_old_tokens(live_server):
    _, _, before, _ = authlib_sign_in(live_server)
    live_server.restart()
    verify_id_token(live_server, before["id_token"])
    # the consent survived: a new sign-in shows no consent screen
    _, _, after, seen = authlib_sign_in(live_server)
    assert seen == ["email", "password", "kmsi"]
    rotated = live_server.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    _, _, newest, _ = authlib_sign_in(live_server)
    keys = requests.get(f"{live_server.base_url}/{TENANT}/discovery/v2.0/keys").json()["keys"]
    assert len(keys) == 2
    for token in (before, after, newest):
        verify_id_token(live_server, token["id_token"])
    header_kids = {json.loads(base64.urlsafe_b64decode(t["id_token"].split(".")[0] + "=="))["kid"] for t in (before, newest)}
    assert len(header_kids) == 2


def test_seed_command_is_idempotent_and_refuses_bad_files(live_server, tmp_path):
    first = live_server.cli("seed", "default")
    second = live_server.cli("seed", "default")
    assert first.returncode == second.returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tenant.yaml").write_text("id: not-a-guid\ndomain: x\nname: y\n")
    result = live_server.cli("seed", str(bad))
    assert result.returncode != 0 and "tenant.yaml" in result.stderr and "'id'" in result.stderr


@pytest.fixture
def tls_server(tmp_path):
    server = LiveServer(tmp_path / "tls", https=True)
    server.start()
    yield server
    server.stop()


def test_msal_confidential_client_over_https(tls_server, verify_with_the_emulator_ca):
    ca = str(tls_server.ca_path)
    assert "ca" in tls_server.ca_path.name and tls_server.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    log = tls_server.log_path.read_text()
    assert ca in log
    app = msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                             authority=f"{tls_server.base_url}/{TENANT}", instance_discovery=False,
                                             verify=ca)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post")
    browser = requests.Session()
    browser.verify = ca
    params, _ = walk_screens(browser, flow["auth_uri"])
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "client.demo@example.fr"
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["client.demo@example.fr"]
    assert accounts[0]["home_account_id"] == f"{result['id_token_claims']['oid']}.{TENANT_ID}"
    silent = app.acquire_token_silent(["User.Read"], account=accounts[0], force_refresh=True)
    assert silent and "access_token" in silent and silent["access_token"] != result["access_token"]


def test_servers_started_by_up_ignore_an_idp_folder_in_the_working_directory(tmp_path):
    """`up` starts its servers with `python -P`: a data folder named `idp` must not shadow the package."""
    import subprocess
    import sys

    from idp.cli import child_environment

    (tmp_path / "idp").mkdir()
    result = subprocess.run([sys.executable, "-P", "-m", "idp.cli", "serve", "--help"], cwd=tmp_path,
                            env=child_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Run the IdP alone." in result.stdout
