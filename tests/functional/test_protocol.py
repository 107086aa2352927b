"""The protocol in-process: discovery, tokens and claims, and every Microsoft error this issue covers."""
import base64
import json
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp import clock, seeds
from idp.models import User

from ..conftest import (CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, PUBLIC_REDIRECT_URI, REDIRECT_URI,
                       TENANT, TENANT_ID)
from ..helpers import authorize_url, callback_params, redeem, sign_in

TOKEN_URL = f"/{TENANT}/oauth2/v2.0/token"


def claims_of(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def verify(client, token):
    keys = KeySet.import_key_set(client.get(f"/{TENANT}/discovery/v2.0/keys").json)
    return jwt.decode(token, keys, algorithms=["RS256"]).claims


def assert_aadsts(response, code, error=None, status=400):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"]
    for key in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert body[key]
    if error:
        assert body["error"] == error
    return body


def test_discovery_per_tenant_has_concrete_issuer_and_microsoft_fields(client):
    for segment in (TENANT, TENANT_ID):
        doc = client.get(f"/{segment}/v2.0/.well-known/openid-configuration").json
        assert doc["issuer"] == f"http://localhost/{TENANT_ID}/v2.0"
        assert doc["jwks_uri"] == f"http://localhost/{segment}/discovery/v2.0/keys"
        assert doc["code_challenge_methods_supported"] == ["S256"]
        assert doc["subject_types_supported"] == ["pairwise"]
        assert doc["request_uri_parameter_supported"] is False
        for key in ("authorization_endpoint", "token_endpoint", "end_session_endpoint", "userinfo_endpoint",
                    "device_authorization_endpoint", "response_modes_supported", "scopes_supported",
                    "token_endpoint_auth_methods_supported", "claims_supported", "http_logout_supported",
                    "frontchannel_logout_supported", "cloud_instance_name", "tenant_region_scope", "msgraph_host"):
            assert key in doc


def test_meta_tenants_publish_the_issuer_template(client):
    assert client.get("/common/v2.0/.well-known/openid-configuration").json["issuer"] == "http://localhost/{tenantid}/v2.0"
    assert client.get("/organizations/v2.0/.well-known/openid-configuration").json["issuer"].endswith("/{tenantid}/v2.0")
    consumers = client.get("/consumers/v2.0/.well-known/openid-configuration").json
    assert consumers["issuer"] == "http://localhost/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"


def test_unknown_tenant_is_aadsts90002(client):
    assert_aadsts(client.get("/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration"), 90002)
    page = client.get("/nope.onmicrosoft.com/oauth2/v2.0/authorize?client_id=x")
    assert page.status_code == 400 and "AADSTS90002" in page.get_data(as_text=True)


def test_jwks_has_microsoft_key_fields(client):
    keys = client.get(f"/{TENANT}/discovery/v2.0/keys").json["keys"]
    assert keys and all(set(k) >= {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} for k in keys)
    assert keys[0]["issuer"] == f"http://localhost/{TENANT_ID}/v2.0"


def test_instance_discovery_answers_as_msal_expects(client):
    body = client.get("/common/discovery/instance?api-version=1.1&authorization_endpoint="
                      f"http://localhost/{TENANT}/oauth2/v2.0/authorize").json
    assert body["tenant_discovery_endpoint"] == f"http://localhost/{TENANT}/v2.0/.well-known/openid-configuration"
    assert body["metadata"][0]["aliases"] == ["localhost"]


def test_sign_in_issues_verifiable_tokens_with_microsoft_claims(browser, client):
    params, verifier, _ = sign_in(browser)
    assert params["state"] == "state-123"
    response = redeem(client, params["code"], verifier, client_info="1")
    assert response.status_code == 200, response.json
    token = response.json
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["ext_expires_in"] == 3600
    assert "refresh_token" in token
    assert token["scope"] == "User.Read profile openid email"  # Microsoft's short form for Graph
    claims = verify(client, token["id_token"])
    assert claims["iss"] == f"http://localhost/{TENANT_ID}/v2.0"
    assert claims["aud"] == CLIENT_ID and claims["nonce"] == "nonce-456" and claims["ver"] == "2.0"
    assert claims["tid"] == TENANT_ID and claims["preferred_username"] == "client.demo@example.fr"
    assert claims["email"] == "client.demo@example.fr" and claims["name"] == "Client Démo"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    for key in ("sub", "oid", "sid", "uti", "aio", "rh", "auth_time"):
        assert claims[key]
    assert claims["signin_state"] == ["kmsi"]
    with client.application.app_context():
        assert claims["oid"] == User.by_email("client.demo@example.fr").oid
    header = json.loads(base64.urlsafe_b64decode(token["id_token"].split(".")[0] + "=="))
    assert header["typ"] == "JWT" and header["alg"] == "RS256" and header["kid"]
    access = verify(client, token["access_token"])
    assert access["aud"] == "00000003-0000-0000-c000-000000000000" and access["scp"] == "User.Read"
    assert access["azp"] == CLIENT_ID and access["oid"] == claims["oid"]
    info = json.loads(base64.urlsafe_b64decode(token["client_info"] + "=="))
    assert info == {"uid": claims["oid"], "utid": TENANT_ID}
    userinfo = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert userinfo.status_code == 200 and userinfo.json["sub"] == claims["sub"]
    me = client.get("/v1.0/me", headers={"Authorization": f"Bearer {token['access_token']}"}).json
    assert me["id"] == claims["oid"] and me["userPrincipalName"] == "client.demo@example.fr"


def test_no_kmsi_means_no_signin_state(browser, client):
    params, verifier, _ = sign_in(browser, kmsi=False)
    claims = claims_of(redeem(client, params["code"], verifier).json["id_token"])
    assert "signin_state" not in claims


def test_sub_is_pairwise_and_oid_is_not(app, browser, client):
    params, verifier, _ = sign_in(browser)
    first = claims_of(redeem(client, params["code"], verifier).json["id_token"])
    url, verifier = authorize_url(client_id=PUBLIC_CLIENT_ID, redirect_uri=PUBLIC_REDIRECT_URI)
    page = browser.get(url)  # signed in already: only the app consent remains
    assert page.screen == "app-consent"
    browser.submit(page, button="idBtn_Accept")
    code = callback_params(browser)["code"]
    second = client.post(TOKEN_URL, data={"grant_type": "authorization_code", "code": code, "client_id": PUBLIC_CLIENT_ID,
                                          "redirect_uri": PUBLIC_REDIRECT_URI, "code_verifier": verifier}).json
    other = claims_of(second["id_token"])
    assert other["oid"] == first["oid"] and other["sub"] != first["sub"]


def test_sso_second_request_skips_the_screens(browser, client):
    sign_in(browser)
    url, _ = authorize_url()
    browser.get(url)
    assert "code" in callback_params(browser)


def test_form_post_response_mode_posts_the_code(browser):
    url, _ = authorize_url(response_mode="form_post")
    page = browser.get(url)
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idSIButton9")
    page = browser.submit(page, button="idBtn_Accept")
    assert page.screen == "form-post"
    form = page.soup.find("form")
    assert form["action"] == REDIRECT_URI
    fields = {i["name"]: i["value"] for i in form.find_all("input")}
    assert fields["state"] == "state-123" and fields["code"]


def test_login_hint_goes_straight_to_password(browser):
    url, _ = authorize_url(login_hint="client.demo@example.fr")
    assert browser.get(url).screen == "password"


def test_prompt_login_asks_the_password_again(browser):
    sign_in(browser)
    url, _ = authorize_url(prompt="login")
    assert browser.get(url).screen == "password"


def test_prompt_select_account_shows_the_picker(browser):
    sign_in(browser)
    url, _ = authorize_url(prompt="select_account")
    page = browser.get(url)
    assert page.screen == "account-picker"
    tiles = page.testids("account-tile")
    assert [t["data-upn"] for t in tiles] == ["client.demo@example.fr"]
    assert page.soup.find(id="otherTile")
    page = browser.submit(page, button="otherTile")
    assert page.screen == "email"


def test_prompt_consent_asks_again(browser):
    sign_in(browser)
    url, _ = authorize_url(prompt="consent")
    assert browser.get(url).screen == "app-consent"


def test_max_age_exceeded_asks_the_password(app, browser):
    sign_in(browser)
    with app.app_context():
        clock.set_offset(120)
    url, _ = authorize_url(max_age="60")
    assert browser.get(url).screen == "password"


def test_prompt_none_without_session_is_login_required(browser):
    url, _ = authorize_url(prompt="none")
    browser.get(url)
    params = callback_params(browser)
    assert params["error"] == "login_required" and params["state"] == "state-123"
    assert params["error_description"].startswith("AADSTS50058")


def test_prompt_none_with_session_returns_a_code(browser):
    sign_in(browser)
    url, _ = authorize_url(prompt="none")
    browser.get(url)
    assert "code" in callback_params(browser)


def test_prompt_none_without_consent_is_consent_required(browser):
    sign_in(browser)
    url, _ = authorize_url(prompt="none", client_id=PUBLIC_CLIENT_ID, redirect_uri=PUBLIC_REDIRECT_URI)
    browser.get(url)
    assert callback_params(browser)["error"] == "consent_required"


def test_consent_declined_is_access_denied_with_state(browser):
    url, _ = authorize_url()
    page = browser.get(url)
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idBtn_Back")
    page = browser.submit(page, button="idBtn_Back")
    params = callback_params(browser)
    assert params["error"] == "access_denied" and params["state"] == "state-123"
    assert params["error_description"].startswith("AADSTS65004")


def test_wrong_password_is_inline_50126_and_counted(app, browser):
    url, _ = authorize_url(login_hint="client.demo@example.fr")
    page = browser.get(url)
    page = browser.submit(page, {"passwd": "wrong"}, button="idSIButton9")
    assert page.screen == "password"
    assert page.soup.find(id="passwordError") and "incorrect" in page.error and "50126" in page.error
    assert page.soup.find(id="i0118").get("value") in (None, "")
    with app.app_context():
        assert User.by_email("client.demo@example.fr").failed_logins == 1


def test_ten_wrong_passwords_lock_the_account(app, browser):
    url, _ = authorize_url(login_hint="client.demo@example.fr")
    page = browser.get(url)
    for _ in range(10):
        page = browser.submit(page, {"passwd": "wrong"}, button="idSIButton9")
    assert "verrouillé" in page.error and "50053" in page.error
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert page.screen == "password" and "50053" in page.error
    with app.app_context():
        clock.set_offset(3600)
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert page.screen == "kmsi"


def test_seeded_locked_account_is_refused(browser):
    url, _ = authorize_url(login_hint="verrouille.demo@example.fr")
    page = browser.submit(browser.get(url), {"passwd": PASSWORD}, button="idSIButton9")
    assert "50053" in page.error


def test_unknown_user_is_inline_50034(browser):
    url, _ = authorize_url()
    page = browser.submit(browser.get(url), {"loginfmt": "personne@example.fr"}, button="idSIButton9")
    assert page.screen == "email" and "50034" in page.error
    assert page.soup.find(id="usernameError")
    assert page.soup.find(id="i0116")["value"] == "personne@example.fr"


def test_malformed_email_is_inline(browser):
    url, _ = authorize_url()
    page = browser.submit(browser.get(url), {"loginfmt": "pas-un-email"}, button="idSIButton9")
    assert page.screen == "email" and page.error


@pytest.mark.parametrize("redirect_uri", ["http://evil.example/cb", REDIRECT_URI + "/", REDIRECT_URI.upper()])
def test_bad_redirect_uri_is_never_redirected(browser, redirect_uri):
    url, _ = authorize_url(redirect_uri=redirect_uri)
    response = browser.client.get(url)
    assert response.status_code == 400 and response.location is None
    page = browser.get(url)
    assert page.screen == "error" and "AADSTS50011" in page.text()
    assert f"The redirect URI '{redirect_uri}' specified" in page.text()
    assert page.testid("request-id") and page.testid("correlation-id") and page.testid("timestamp")


def test_unknown_client_is_never_redirected(browser):
    url, _ = authorize_url(client_id="00000000-0000-0000-0000-000000000000")
    page = browser.get(url)
    assert page.status == 400 and "AADSTS700016" in page.text()


def test_bad_and_missing_secret(browser, client):
    params, verifier, _ = sign_in(browser)
    assert_aadsts(redeem(client, params["code"], verifier, client_secret="nope"), 7000215, "invalid_client", 401)
    assert_aadsts(redeem(client, params["code"], verifier, client_secret=None), 7000218, "invalid_client", 401)


def test_client_secret_basic_is_accepted(browser, client):
    params, verifier, _ = sign_in(browser)
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = client.post(TOKEN_URL, headers={"Authorization": f"Basic {auth}"}, data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert response.status_code == 200, response.json


def test_code_reused_is_54005_and_revokes_nothing(browser, client):
    params, verifier, _ = sign_in(browser)
    first = redeem(client, params["code"], verifier).json
    assert_aadsts(redeem(client, params["code"], verifier), 54005, "invalid_grant")
    refresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                           "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert refresh.status_code == 200, refresh.json  # as Microsoft: the replay is refused, nothing is revoked


def test_code_expired_is_70008(app, browser, client):
    params, verifier, _ = sign_in(browser)
    with app.app_context():
        clock.set_offset(11 * 60)
    assert_aadsts(redeem(client, params["code"], verifier), 70008, "invalid_grant")


def test_pkce_mismatch_is_501481(browser, client):
    params, _, _ = sign_in(browser)
    assert_aadsts(redeem(client, params["code"], "x" * 50), 501481, "invalid_grant")


def test_public_client_must_use_pkce(browser):
    url, _ = authorize_url(client_id=PUBLIC_CLIENT_ID, redirect_uri=PUBLIC_REDIRECT_URI, code_challenge=None,
                           code_challenge_method=None)
    browser.get(url)
    params = callback_params(browser)
    assert params["error"] == "invalid_request" and "AADSTS900144" in params["error_description"]


def test_redirect_uri_must_match_at_the_token_endpoint(browser, client):
    params, verifier, _ = sign_in(browser)
    response = client.post(TOKEN_URL, data={"grant_type": "authorization_code", "code": params["code"],
                                            "redirect_uri": "http://127.0.0.1:8401/auth/callback", "client_id": CLIENT_ID,
                                            "client_secret": CLIENT_SECRET, "code_verifier": verifier})
    assert_aadsts(response, 70000, "invalid_grant")


def test_refresh_gives_a_new_token_and_the_old_one_stays_valid(browser, client):
    params, verifier, _ = sign_in(browser)
    first = redeem(client, params["code"], verifier).json
    data = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    second = client.post(TOKEN_URL, data={**data, "refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert claims_of(second.json["id_token"])["sub"] == claims_of(first["id_token"])["sub"]
    # Microsoft does not revoke a refresh token when it is used (strict rotation: tests/functional/test_token_semantics.py)
    assert client.post(TOKEN_URL, data={**data, "refresh_token": first["refresh_token"]}).status_code == 200
    assert client.post(TOKEN_URL, data={**data, "refresh_token": second.json["refresh_token"]}).status_code == 200


def test_refresh_token_expires(app, browser, client):
    params, verifier, _ = sign_in(browser)
    token = redeem(client, params["code"], verifier).json
    with app.app_context():
        clock.set_offset(91 * 24 * 3600)
    response = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert_aadsts(response, 700082)


def test_no_refresh_token_without_offline_access(browser, client):
    params, verifier, _ = sign_in(browser, scope="openid profile")
    assert "refresh_token" not in redeem(client, params["code"], verifier).json


def test_client_credentials_issue_an_app_token_with_roles(client):
    response = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                            "client_secret": CLIENT_SECRET, "scope": "https://graph.microsoft.com/.default"})
    assert response.status_code == 200, response.json
    claims = verify(client, response.json["access_token"])
    assert claims["roles"] == ["User.Invite.All"] and claims["idtyp"] == "app"
    assert claims["aud"] == "00000003-0000-0000-c000-000000000000" and "scp" not in claims
    bad = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                       "client_secret": CLIENT_SECRET, "scope": "User.Read"})
    assert_aadsts(bad, 70011, "invalid_scope")


def test_userinfo_refuses_missing_or_forged_tokens(client):
    assert client.get("/oidc/userinfo").status_code == 401
    assert client.get("/oidc/userinfo", headers={"Authorization": "Bearer abc.def.ghi"}).status_code == 401


def test_logout_signs_out_and_redirects_to_registered_uri(browser, client):
    sign_in(browser)
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=http://localhost:8401/&state=s1")
    assert response.status_code == 302 and response.location == "http://localhost:8401/?state=s1"
    url, _ = authorize_url(prompt="none")
    browser.get(url)
    assert callback_params(browser)["error"] == "login_required"
    url, _ = authorize_url()
    page = browser.get(url)
    assert page.screen == "account-picker"  # the browser still remembers the account
    assert page.testid("account-tile")["data-upn"] == "client.demo@example.fr"


def test_logout_never_redirects_to_an_unregistered_uri(client):
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=http://evil.example/")
    assert response.status_code == 200 and b"signed-out" in response.data


def test_skipping_a_step_by_url_does_not_skip_it(browser, client):
    url, _ = authorize_url()
    page = browser.get(url)
    flow_path = urlsplit(page.url).path.rsplit("/", 1)[0]
    assert browser.get(f"{flow_path}/kmsi").screen == "email"
    assert browser.get(f"{flow_path}/app-consent").screen == "email"
    response = client.post(f"{flow_path}/app-consent", data={"accept": "1"})
    assert response.status_code in (302, 400)
    assert browser.get(url).screen == "email"


def test_another_browser_cannot_use_a_flow(app, browser):
    url, _ = authorize_url()
    page = browser.get(url)
    other = app.test_client()
    assert other.get(urlsplit(page.url).path).status_code == 404


def test_forms_require_csrf(browser, client):
    url, _ = authorize_url()
    page = browser.get(url)
    response = client.post(urlsplit(page.url).path, data={"loginfmt": "client.demo@example.fr"})
    assert response.status_code == 400 and "jeton" in response.get_data(as_text=True)


def test_every_screen_marks_the_emulator(browser):
    url, _ = authorize_url()
    page = browser.get(url)
    assert "pas le service Microsoft" in page.testid("emulator-marker").get_text()


def test_seed_loading_is_idempotent(app):
    from idp.extensions import db
    from idp.models import Client, Consent, Tenant

    def snapshot():
        rows = []
        for model in (Tenant, Client, User, Consent):
            for row in db.session.query(model).all():
                rows.append({c.name: getattr(row, c.name) for c in model.__table__.columns})
        return rows

    with app.app_context():
        before = snapshot()
        seeds.load("default")
        assert snapshot() == before


def test_bad_seed_files_name_file_entry_and_field(app, tmp_path):
    import shutil

    folder = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), folder)
    (folder / "users.yaml").write_text("- email: a@example.fr\n  password: x\n- email: b@example.fr\n  state: flying\n")
    with app.app_context(), pytest.raises(seeds.SeedError) as caught:
        seeds.load(folder)
    message = str(caught.value)
    assert "users.yaml" in message and "entry 2" in message and "'state'" in message
    (folder / "users.yaml").write_text("- email: a@example.fr\n  state: mfa_sms\n  password: x\n")
    with app.app_context(), pytest.raises(seeds.SeedError, match="entry 1, field 'phone'"):
        seeds.load(folder)
    (folder / "clients.yaml").write_text("- name: x\n")
    with app.app_context(), pytest.raises(seeds.SeedError, match="clients.yaml, entry 1, field 'client_id'"):
        seeds.load(folder)
    (folder / "tenant.yaml").write_text("id: [unclosed\n")
    with app.app_context(), pytest.raises(seeds.SeedError, match="tenant.yaml: not valid YAML"):
        seeds.load(folder)


def test_a_kept_browser_cookie_is_renewed_by_its_pages_not_by_the_token_endpoints(browser, client):
    """"Oui" on kmsi keeps the cookie: the browser's pages renew it; a request that never reads it (the token
    endpoint, userinfo: a client's calls) leaves it as it is and pays nothing for it."""
    params, verifier, _ = sign_in(browser)
    token = redeem(client, params["code"], verifier)
    assert token.status_code == 200 and "Set-Cookie" not in token.headers
    info = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token.json['access_token']}"})
    assert info.status_code == 200 and "Set-Cookie" not in info.headers
    url, _ = authorize_url()
    page = client.get(url)  # signed in already: straight back to the client, and the cookie lives on
    assert page.status_code == 302 and "code=" in page.headers["Location"]
    renewed = page.headers.get("Set-Cookie", "")
    assert renewed.startswith("ESTSAUTH=") and "Expires=" in renewed
