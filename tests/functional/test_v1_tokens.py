"""v1.0 tokens at the v1.0 token endpoint, as Microsoft issues them: the v1 issuer, upn/unique_name, appid, aud = resource."""
from urllib.parse import urlencode

import jwt

from ..conftest import (CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, PUBLIC_REDIRECT_URI, REDIRECT_URI,
                       TENANT, TENANT_ID)
from ..helpers import callback_params, pkce, redeem, sign_in
from .test_protocol import TOKEN_URL, verify

GRAPH = "https://graph.microsoft.com"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
API_ID = "3e7a9c1b-5d2f-4b8e-a6c4-8f1d2e3b4a59"
V1_TOKEN = f"/{TENANT}/oauth2/token"
V1_ISSUER = f"http://localhost/{TENANT_ID}/"
EMAIL = "client.demo@example.fr"


def v1_sign_in(browser, resource=GRAPH, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI, **extra):
    """Sign in through the v1.0 authorize endpoint (resource=, no scope, as ADAL asks); return (code, verifier)."""
    verifier, challenge = pkce()
    query = {"client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri, "state": "v1",
             "resource": resource, "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    page = browser.get(f"/{TENANT}/oauth2/authorize?{urlencode(query)}")
    if page.screen == "email":
        page = browser.submit(page, {"loginfmt": EMAIL}, button="idSIButton9")
    if page.screen == "password":
        page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    if page.screen == "kmsi":
        page = browser.submit(page, button="idSIButton9")
    if page.screen == "app-consent":
        browser.submit(page, button="idBtn_Accept")
    params = callback_params(browser)
    assert params["state"] == "v1", params
    return params["code"], verifier


def v1_redeem(client, code, verifier, resource=GRAPH, client_id=CLIENT_ID, secret=CLIENT_SECRET,
              redirect_uri=REDIRECT_URI):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
            "client_secret": secret, "code_verifier": verifier, "resource": resource}
    response = client.post(V1_TOKEN, data={k: v for k, v in data.items() if v is not None})
    assert response.status_code == 200, response.json
    return response.json


def v1_refresh(client, refresh_token, resource):
    response = client.post(V1_TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                           "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                           "resource": resource})
    assert response.status_code == 200, response.json
    return response.json


def validate_as_a_v1_client(client, id_token, audience=CLIENT_ID):
    """Validate an ID token with PyJWT the way a v1.0 client does: issuer, keys and all from the v1.0 discovery."""
    discovery = client.get(f"/{TENANT}/.well-known/openid-configuration").json
    keys = jwt.PyJWKSet.from_dict(client.get(discovery["jwks_uri"].replace("http://localhost", "")).json)
    header = jwt.get_unverified_header(id_token)
    key = next(k for k in keys.keys if k.key_id == header["kid"])
    return jwt.decode(id_token, key.key, algorithms=["RS256"], audience=audience, issuer=discovery["issuer"],
                      options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]})


def test_a_v1_code_flows_id_token_validates_against_the_v1_discovery(client, browser):
    code, verifier = v1_sign_in(browser, nonce="nonce-v1")
    token = v1_redeem(client, code, verifier)
    claims = validate_as_a_v1_client(client, token["id_token"])
    assert claims["iss"] == V1_ISSUER and claims["aud"] == CLIENT_ID and claims["ver"] == "1.0"
    assert claims["upn"] == EMAIL and claims["unique_name"] == EMAIL and "preferred_username" not in claims
    assert claims["name"] == "Client Démo" and claims["given_name"] == "Client" and claims["family_name"] == "Démo"
    assert claims["tid"] == TENANT_ID and claims["oid"] and claims["sub"] and claims["amr"] == ["pwd"]
    assert claims["nonce"] == "nonce-v1" and claims["nbf"] <= claims["iat"] < claims["exp"]
    assert "azp" not in claims and "at_hash" not in claims
    header = jwt.get_unverified_header(token["id_token"])
    assert header["x5t"] == header["kid"]  # the legacy header claim of v1.0 tokens
    # The same user and app as in v2.0: the same oid and (pairwise) sub.
    params, verifier2, _ = sign_in(browser)
    v2 = verify(client, redeem(client, params["code"], verifier2).json["id_token"])
    assert (v2["oid"], v2["sub"]) == (claims["oid"], claims["sub"])


def test_the_v1_token_response_has_v1s_shape(client, browser):
    code, verifier = v1_sign_in(browser)
    token = v1_redeem(client, code, verifier)
    assert token["token_type"] == "Bearer" and token["resource"] == GRAPH
    assert token["scope"] == "User.Read"  # the resource's scope names, as in scp
    assert token["expires_in"] == "3600" and token["ext_expires_in"] == "3600"
    assert int(token["expires_on"]) == int(token["not_before"]) + 3600
    assert token["refresh_token"] and token["id_token"]  # a v1.0 sign-in always gets both, asked or not
    assert int(token["not_before"]) == verify(client, token["access_token"])["nbf"]


def test_a_v1_access_token_has_the_resource_as_named_for_audience_and_appid(client, browser):
    code, verifier = v1_sign_in(browser)
    access = verify(client, v1_redeem(client, code, verifier)["access_token"])
    assert access["aud"] == GRAPH and access["iss"] == V1_ISSUER and access["ver"] == "1.0"
    assert access["appid"] == CLIENT_ID and access["appidacr"] == "1" and "azp" not in access and "azpacr" not in access
    assert access["upn"] == EMAIL and access["unique_name"] == EMAIL and "preferred_username" not in access
    assert access["scp"] == "User.Read" and access["amr"] == ["pwd"] and access["tid"] == TENANT_ID
    assert access["oid"] and access["sub"] and "idtyp" not in access
    for resource in (f"api://{API_ID}", API_ID):  # a custom API, by its identifier URI or its client id
        code, verifier = v1_sign_in(browser, resource=resource)
        token = v1_redeem(client, code, verifier, resource=resource)
        access = verify(client, token["access_token"])
        assert access["aud"] == resource == token["resource"]
        assert access["scp"] == "access_as_user" == token["scope"] and access["ver"] == "1.0"


def test_a_public_clients_v1_token_says_appidacr_0(client, browser):
    code, verifier = v1_sign_in(browser, client_id=PUBLIC_CLIENT_ID, redirect_uri=PUBLIC_REDIRECT_URI)
    token = v1_redeem(client, code, verifier, client_id=PUBLIC_CLIENT_ID, secret=None, redirect_uri=PUBLIC_REDIRECT_URI)
    access = verify(client, token["access_token"])
    assert access["appid"] == PUBLIC_CLIENT_ID and access["appidacr"] == "0"
    assert validate_as_a_v1_client(client, token["id_token"], audience=PUBLIC_CLIENT_ID)["upn"] == EMAIL


def test_resource_endpoints_take_a_v1_graph_token_and_refuse_v1_id_and_api_tokens(client, browser):
    code, verifier = v1_sign_in(browser)
    token = v1_redeem(client, code, verifier)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    me = client.get("/v1.0/me", headers=bearer)
    assert me.status_code == 200 and me.json["userPrincipalName"] == EMAIL
    assert client.get("/oidc/userinfo", headers=bearer).json["email"] == EMAIL
    by_id = v1_refresh(client, token["refresh_token"], GRAPH_ID)  # Graph named by its app id
    assert verify(client, by_id["access_token"])["aud"] == GRAPH_ID
    assert client.get("/v1.0/me", headers={"Authorization": f"Bearer {by_id['access_token']}"}).status_code == 200
    api = v1_sign_in(browser, resource=f"api://{API_ID}")
    api_token = v1_redeem(client, *api, resource=f"api://{API_ID}")["access_token"]
    for refused in (token["id_token"], api_token):
        response = client.get("/v1.0/me", headers={"Authorization": f"Bearer {refused}"})
        assert response.status_code == 401 and response.json["error"]["code"] == "InvalidAuthenticationToken"
        assert client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {refused}"}).status_code == 401


def test_a_refresh_at_the_v1_endpoint_gives_v1_tokens_and_at_v2_v2_tokens(client, browser):
    code, verifier = v1_sign_in(browser)
    first = v1_redeem(client, code, verifier)
    token = v1_refresh(client, first["refresh_token"], GRAPH)
    access, id_claims = verify(client, token["access_token"]), validate_as_a_v1_client(client, token["id_token"])
    assert access["ver"] == "1.0" and access["aud"] == GRAPH and access["appid"] == CLIENT_ID
    assert id_claims["ver"] == "1.0" and id_claims["upn"] == EMAIL and token["resource"] == GRAPH
    assert token["refresh_token"] and token["expires_on"]
    # The same refresh token at the v2.0 endpoint: v2.0 tokens, as before.
    v2 = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                      "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                      "scope": "openid User.Read"}).json
    claims = verify(client, v2["access_token"])
    assert claims["ver"] == "2.0" and claims["aud"] == GRAPH_ID and claims["azp"] == CLIENT_ID and "appid" not in claims
    assert verify(client, v2["id_token"])["preferred_username"] == EMAIL and "resource" not in v2
    assert v2["expires_in"] == 3600


def test_a_v2_code_redeemed_at_the_v2_endpoint_keeps_v2_tokens(client, browser):
    params, verifier, _ = sign_in(browser)
    token = redeem(client, params["code"], verifier).json
    access, id_claims = verify(client, token["access_token"]), verify(client, token["id_token"])
    assert access["ver"] == id_claims["ver"] == "2.0" and access["aud"] == GRAPH_ID
    assert id_claims["iss"] == f"http://localhost/{TENANT_ID}/v2.0" and "upn" not in id_claims
    assert "x5t" not in jwt.get_unverified_header(token["id_token"])


def test_ropc_at_the_v1_endpoint_gives_v1_tokens_with_a_refresh_token(client):
    from .test_grants import consent

    consent(client, "ropc.demo@example.fr", PUBLIC_CLIENT_ID)
    response = client.post(V1_TOKEN, data={"grant_type": "password", "client_id": PUBLIC_CLIENT_ID,
                                           "username": "ropc.demo@example.fr", "password": PASSWORD,
                                           "resource": GRAPH})
    assert response.status_code == 200, response.json
    token = response.json
    access = verify(client, token["access_token"])
    assert access["ver"] == "1.0" and access["aud"] == GRAPH and access["appidacr"] == "0"
    assert access["upn"] == "ropc.demo@example.fr" and token["refresh_token"] and token["resource"] == GRAPH
    assert validate_as_a_v1_client(client, token["id_token"], audience=PUBLIC_CLIENT_ID)["ver"] == "1.0"
