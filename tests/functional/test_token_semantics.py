"""Microsoft's token semantics, one rule per test (microsoft-reference.md, "Token semantics that client libraries depend on")."""
import pytest

from idp import clock, create_app, seeds

from ..conftest import CLIENT_ID, CLIENT_SECRET, FAST_HASH, make_app
from ..helpers import redeem, sign_in
from .test_protocol import TOKEN_URL, assert_aadsts, claims_of, verify
from .test_resources import API_ID, API_SCOPE, GRAPH_ID

SPA_CLIENT_ID = "5b8e2d1f-3c4a-4f6b-9a7d-1e2c3b4a5d6e"
SPA_REDIRECT_URI = "http://localhost:8403/"
SPA_ORIGIN = "http://localhost:8403"


def refresh(client, token, scope=None, client_id=CLIENT_ID, secret=CLIENT_SECRET, headers=None):
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id, "client_secret": secret,
            "scope": scope}
    return client.post(TOKEN_URL, data={k: v for k, v in data.items() if v}, headers=headers or {})


def signed_in(browser, client, **params):
    """Sign in (SSO after the first time) and redeem the code: the token response."""
    callback, verifier, _ = sign_in(browser, **params)
    response = redeem(client, callback["code"], verifier)
    assert response.status_code == 200, response.json
    return response.json


def move_clock(app, seconds):
    with app.app_context():
        clock.set_offset(seconds)


def test_a_used_refresh_token_stays_valid_and_the_lifetime_slides(app, browser, client):
    first = signed_in(browser, client)["refresh_token"]
    for _ in range(3):  # the same token, again and again: Microsoft does not revoke it when it is used
        assert refresh(client, first).status_code == 200
    move_clock(app, 80 * 24 * 3600)
    second = refresh(client, first).json["refresh_token"]  # day 80: a new token, for 90 more days
    move_clock(app, 100 * 24 * 3600)
    assert_aadsts(refresh(client, first), 700082, "invalid_grant")  # the first one expired at day 90
    assert refresh(client, second).status_code == 200


def test_code_replay_is_54005_with_microsofts_words_and_revokes_nothing(browser, client):
    first_callback, first_verifier, _ = sign_in(browser)
    first = redeem(client, first_callback["code"], first_verifier).json
    other = signed_in(browser, client)  # another sign-in of the same user to the same app
    body = assert_aadsts(redeem(client, first_callback["code"], first_verifier), 54005, "invalid_grant")
    assert body["error_description"].startswith(
        "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
        "existing refresh token.\r\n")
    for token in (first, other):  # neither this sign-in's tokens nor the other's are revoked
        assert refresh(client, token["refresh_token"]).status_code == 200


def test_graph_scopes_are_returned_in_microsofts_short_form(browser, client):
    token = signed_in(browser, client, scope="openid profile email offline_access https://graph.microsoft.com/User.Read")
    assert token["scope"] == "User.Read profile openid email"
    again = refresh(client, token["refresh_token"], scope="https://graph.microsoft.com/User.Read openid offline_access").json
    assert again["scope"] == "User.Read openid"


def test_refresh_accepts_the_scope_it_was_given_and_graph_default(browser, client):
    token = signed_in(browser, client)
    # what the token response said, sent back as is (oidc-client-ts' silent renew does this)
    same = refresh(client, token["refresh_token"], scope=token["scope"] + " offline_access")
    assert same.status_code == 200, same.json
    default = refresh(client, token["refresh_token"], scope="https://graph.microsoft.com/.default offline_access")
    assert default.status_code == 200, default.json
    assert default.json["scope"] == "User.Read"
    assert verify(client, default.json["access_token"])["scp"] == "User.Read"


def test_refresh_for_another_consented_resource_gets_a_token_for_it(browser, client):
    signed_in(browser, client, scope=f"openid profile offline_access {API_SCOPE}")  # consented to the API once
    graph = signed_in(browser, client)  # a later sign-in for Microsoft Graph
    assert verify(client, graph["access_token"])["aud"] == GRAPH_ID
    for scope in (f"{API_SCOPE} openid offline_access", f"api://{API_ID}/.default"):
        response = refresh(client, graph["refresh_token"], scope=scope)
        assert response.status_code == 200, response.json
        claims = verify(client, response.json["access_token"])
        assert claims["aud"] == API_ID and claims["scp"] == "access_as_user"
        assert response.json["scope"].startswith(API_SCOPE)


def test_refresh_for_a_scope_not_consented_is_65001(browser, client):
    token = signed_in(browser, client)
    for scope in ("Mail.Read offline_access", f"{API_SCOPE} offline_access", f"api://{API_ID}/.default"):
        body = assert_aadsts(refresh(client, token["refresh_token"], scope=scope), 65001, "invalid_grant")
        assert body["suberror"] == "consent_required"
        assert f"with ID '{CLIENT_ID}' named 'Espace Client'" in body["error_description"]
    assert_aadsts(refresh(client, token["refresh_token"], scope="https://evil.example/.default"), 500011)


def spa_tokens(browser, client):
    callback, verifier, _ = sign_in(browser, client_id=SPA_CLIENT_ID, redirect_uri=SPA_REDIRECT_URI)
    response = client.post(TOKEN_URL, headers={"Origin": SPA_ORIGIN}, data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": SPA_REDIRECT_URI,
        "client_id": SPA_CLIENT_ID, "code_verifier": verifier})
    assert response.status_code == 200, response.json
    return response.json


def test_a_spa_refresh_token_lives_24_hours_from_the_sign_in_without_sliding(app, browser, client):
    first = spa_tokens(browser, client)["refresh_token"]
    move_clock(app, 20 * 3600)
    second = refresh(client, first, client_id=SPA_CLIENT_ID, secret=None, headers={"Origin": SPA_ORIGIN})
    assert second.status_code == 200, second.json
    move_clock(app, 25 * 3600)  # past the sign-in's 24 hours: the refreshed token expired with it
    for token in (second.json["refresh_token"], first):
        assert_aadsts(refresh(client, token, client_id=SPA_CLIENT_ID, secret=None, headers={"Origin": SPA_ORIGIN}),
                      700082, "invalid_grant")


@pytest.fixture
def rotate_app(tmp_path, app_template):
    yield from make_app(tmp_path / "rotate", template=app_template, IDP_REFRESH_TOKENS="rotate")


def test_strict_rotation_detects_a_reused_refresh_token(rotate_app):
    from ..pages import Browser

    client = rotate_app.test_client()
    browser = Browser(client)
    first = signed_in(browser, client)
    other = signed_in(browser, client)  # another sign-in: its own family
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    assert_aadsts(refresh(client, first["refresh_token"]), 700082, "invalid_grant")  # reused
    # the reuse revoked every token of that sign-in, the newest included; the other sign-in keeps its tokens
    assert_aadsts(refresh(client, second.json["refresh_token"]), 700082, "invalid_grant")
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_an_unknown_refresh_token_mode_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="IDP_REFRESH_TOKENS must be one of microsoft, rotate, not 'sliding'"):
        create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "x"), "IDP_REFRESH_TOKENS": "sliding"})


def test_the_id_token_of_a_refresh_keeps_the_sign_in(browser, client):
    token = signed_in(browser, client)
    again = refresh(client, token["refresh_token"], scope="User.Read openid profile offline_access").json
    before, after = claims_of(token["id_token"]), claims_of(again["id_token"])
    assert after["sub"] == before["sub"] and after["sid"] == before["sid"] and after["auth_time"] == before["auth_time"]


def test_a_password_change_revokes_the_refresh_tokens(app, browser, client, tmp_path):
    import shutil

    token = signed_in(browser, client)["refresh_token"]
    folder = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), folder)
    users = folder / "users.yaml"
    users.write_text(users.read_text().replace('password: "Demo-2026!"', 'password: "Nouveau-2026!"', 1))
    with app.app_context():
        seeds.load(folder)  # the same seed again changes nothing…
        seeds.load(folder)
    assert_aadsts(refresh(client, token), 700082, "invalid_grant")  # …but the new password ended the sign-in


def test_revoke_sign_in_sessions_revokes_refresh_tokens_and_signs_out(browser, client):
    from ..helpers import authorize_url, callback_params

    token = signed_in(browser, client)
    app_only = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                            "client_secret": CLIENT_SECRET,
                                            "scope": "https://graph.microsoft.com/.default"}).json["access_token"]
    oid = claims_of(token["access_token"])["oid"]
    refused = client.post(f"/v1.0/users/{oid}/revokeSignInSessions", headers={"Authorization": f"Bearer {app_only}"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "Authorization_RequestDenied"
    assert refresh(client, token["refresh_token"]).status_code == 200
    response = client.post("/v1.0/me/revokeSignInSessions", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200 and response.json["value"] is True
    assert_aadsts(refresh(client, token["refresh_token"]), 700082, "invalid_grant")
    url, _ = authorize_url(prompt="none")
    browser.get(url)
    assert callback_params(browser)["error"] == "login_required"


def test_consent_adds_up_across_sign_ins_and_resources(browser, client):
    signed_in(browser, client, scope=f"openid profile offline_access {API_SCOPE}")
    # asked again (prompt=consent) for Graph only: the API stays consented
    graph = signed_in(browser, client, prompt="consent")
    response = refresh(client, graph["refresh_token"], scope=f"api://{API_ID}/.default offline_access")
    assert response.status_code == 200, response.json
    assert verify(client, response.json["access_token"])["aud"] == API_ID


def test_a_sign_in_may_consent_to_several_resources_and_its_tokens_are_for_one(browser, client):
    callback, verifier, _ = sign_in(browser, scope=f"openid profile offline_access User.Read {API_SCOPE}")
    token = redeem(client, callback["code"], verifier).json  # no scope at the redemption: the first resource
    assert token["scope"] == "User.Read profile openid" and verify(client, token["access_token"])["aud"] == GRAPH_ID
    api = refresh(client, token["refresh_token"], scope=f"{API_SCOPE} offline_access")  # consented at the sign-in
    assert api.status_code == 200, api.json
    assert verify(client, api.json["access_token"])["aud"] == API_ID
    plain = refresh(client, token["refresh_token"])  # no scope at all: the sign-in's first resource again
    assert plain.status_code == 200 and verify(client, plain.json["access_token"])["aud"] == GRAPH_ID


def test_the_scope_of_a_code_redemption_chooses_the_resource(browser, client):
    callback, verifier, _ = sign_in(browser, scope=f"openid offline_access User.Read {API_SCOPE}")
    response = redeem(client, callback["code"], verifier, scope=f"{API_SCOPE} openid offline_access")  # as MSAL sends
    assert response.status_code == 200, response.json
    assert verify(client, response.json["access_token"])["aud"] == API_ID and "refresh_token" in response.json
    callback, verifier, _ = sign_in(browser)
    body = assert_aadsts(redeem(client, callback["code"], verifier, scope="Mail.Read openid"), 65001, "invalid_grant")
    assert body["suberror"] == "consent_required"
