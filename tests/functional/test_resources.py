"""Access tokens per resource: aud and roles per API, unknown resources (AADSTS500011), what exposes an API in clients.yaml."""
import shutil

import pytest

from idp import seeds

from ..conftest import CLIENT_ID, CLIENT_SECRET, TENANT_ID
from ..helpers import redeem, sign_in
from .test_protocol import TOKEN_URL, assert_aadsts, verify

GRAPH_ID = "00000003-0000-0000-c000-000000000000"
API_ID = "3e7a9c1b-5d2f-4b8e-a6c4-8f1d2e3b4a59"
API_SECRET = "espace-client-api-secret-2026"
API_SCOPE = f"api://{API_ID}/access_as_user"


def app_token(client, scope, client_id=CLIENT_ID, secret=CLIENT_SECRET):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": client_id,
                                        "client_secret": secret, "scope": scope})


def test_a_token_for_a_custom_api_has_its_client_id_as_audience(browser, client):
    params, verifier, _ = sign_in(browser, scope=f"openid profile offline_access {API_SCOPE}")
    token = redeem(client, params["code"], verifier).json
    assert token["scope"] == f"{API_SCOPE} profile openid"
    claims = verify(client, token["access_token"])
    assert claims["aud"] == API_ID and claims["scp"] == "access_as_user"
    assert claims["iss"] == f"http://localhost/{TENANT_ID}/v2.0" and claims["ver"] == "2.0"
    assert claims["azp"] == CLIENT_ID and "roles" not in claims


def test_an_unknown_resource_is_500011_at_authorize_and_token(browser, client):
    for scope in ("https://evil.example/.default", "api://nope/.default"):
        body = assert_aadsts(app_token(client, scope), 500011, "invalid_resource")
        resource = scope.rsplit("/", 1)[0]
        assert body["error_description"].startswith(
            f"AADSTS500011: The resource principal named {resource} was not found in the tenant named "
            "BakerTilly STREGO - RECETTE.")
    params, _, _ = sign_in(browser, scope="openid profile api://nope/Read")
    assert params["error"] == "invalid_resource" and params["error_description"].startswith("AADSTS500011: ")


def test_an_unknown_scope_of_a_known_api_is_70011(browser):
    params, _, _ = sign_in(browser, scope=f"openid api://{API_ID}/Delete.Everything")
    assert params["error"] == "invalid_scope" and "AADSTS70011" in params["error_description"]
    assert f"api://{API_ID}/Delete.Everything" in params["error_description"]


def test_app_tokens_carry_the_roles_assigned_for_that_resource_only(client):
    graph = verify(client, app_token(client, "https://graph.microsoft.com/.default").json["access_token"])
    assert graph["aud"] == GRAPH_ID and graph["roles"] == ["User.Invite.All"]
    for scope in (f"api://{API_ID}/.default", f"{API_ID}/.default"):
        api = verify(client, app_token(client, scope).json["access_token"])
        assert api["aud"] == API_ID and api["roles"] == ["Data.Read.All"] and api["idtyp"] == "app"
    # the API itself holds no role on Graph: no roles claim (as Microsoft), never another app's roles
    bare = verify(client, app_token(client, "https://graph.microsoft.com/.default", API_ID, API_SECRET).json["access_token"])
    assert bare["aud"] == GRAPH_ID and "roles" not in bare and bare["azp"] == API_ID


def test_a_graph_app_token_cannot_be_used_for_another_api_and_vice_versa(client):
    api = app_token(client, f"api://{API_ID}/.default").json["access_token"]
    response = client.post("/v1.0/invitations", json={"invitedUserEmailAddress": "x@example.fr",
                                                      "inviteRedirectUrl": "http://localhost:8401/"},
                           headers={"Authorization": f"Bearer {api}"})
    assert response.status_code == 401 and response.json["error"]["code"] == "InvalidAuthenticationToken"


def seed_copy(tmp_path):
    folder = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), folder)
    return folder


@pytest.mark.parametrize("entry, message", [
    ("  identifier_uris: not-a-list\n", "field 'identifier_uris': must be a list of URIs"),
    ("  identifier_uris: [https://graph.microsoft.com]\n", "is Microsoft Graph's"),
    ("  scopes: [access as user]\n", "field 'scopes': must be a list of names"),
    ("  app_roles: [Data/Read]\n", "field 'app_roles': must be a list of names"),
    ("  app_role_assignments: [Data.Read.All]\n", "field 'app_role_assignments': must be a mapping"),
    ("  app_role_assignments: {api://nope: [Data.Read.All]}\n", "no app of this file exposes api://nope"),
    (f"  app_role_assignments: {{api://{API_ID}: [Data.Write.All]}}\n",
     "Espace Client API defines no app role Data.Write.All (its app_roles: Data.Read.All)"),
    (f"  identifier_uris: [api://{API_ID}]\n", "is already the identifier of another app"),
])
def test_bad_api_fields_in_clients_yaml_are_refused_with_a_message(app, tmp_path, entry, message):
    folder = seed_copy(tmp_path)
    path = folder / "clients.yaml"
    path.write_text(path.read_text() + "- client_id: 11111111-2222-4333-8444-555555555555\n  name: Mauvaise appli\n" + entry)
    with app.app_context(), pytest.raises(seeds.SeedError) as caught:
        seeds.load(folder)
    assert "clients.yaml" in str(caught.value) and message in str(caught.value)


def test_an_app_exposing_an_api_is_seeded_with_what_it_exposes(app):
    from idp.extensions import db
    from idp.models import Client

    with app.app_context():
        api = db.session.get(Client, API_ID)
        assert api.identifier_uris == [f"api://{API_ID}"] and api.scopes == ["access_as_user"]
        assert api.app_roles == ["Data.Read.All"]
        assert db.session.get(Client, CLIENT_ID).app_role_assignments == {GRAPH_ID: ["User.Invite.All"],
                                                                         API_ID: ["Data.Read.All"]}


def assert_graph_401(response, message):
    assert response.status_code == 401, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "InvalidAuthenticationToken" and error["message"] == message
    assert error["innerError"]["request-id"] and error["innerError"]["date"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'client_id="00000003-0000-0000-c000-000000000000"' in challenge


def test_userinfo_and_graph_refuse_an_id_token_and_another_apis_token(browser, client):
    params, verifier, _ = sign_in(browser)
    graph = redeem(client, params["code"], verifier).json
    params, verifier, _ = sign_in(browser, scope=f"openid profile {API_SCOPE}")
    api = redeem(client, params["code"], verifier).json
    for path in ("/oidc/userinfo", "/v1.0/me"):
        assert client.get(path, headers={"Authorization": f"Bearer {graph['access_token']}"}).status_code == 200
        for token in (graph["id_token"], api["access_token"], api["id_token"]):
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert_graph_401(response, "Access token validation failure. Invalid audience.")
        assert_graph_401(client.get(path), "Access token is empty.")
        assert_graph_401(client.get(path, headers={"Authorization": "Basic abc"}), "Access token is empty.")
        assert_graph_401(client.get(path, headers={"Authorization": "Bearer abc.def.ghi"}),
                         "Access token validation failure.")


def test_graph_me_with_an_app_token_is_graphs_400(client):
    token = app_token(client, "https://graph.microsoft.com/.default").json["access_token"]
    response = client.get("/v1.0/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.json["error"]["code"] == "BadRequest"
    assert response.json["error"]["message"] == "/me request is only valid with delegated authentication flow."
    assert_graph_401(client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token}"}),
                     "Access token validation failure. The token has no user.")


def test_a_database_from_before_apis_upgrades_and_keeps_issuing_tokens(tmp_path):
    import sqlite3

    from idp import create_app

    config = {"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "x"}
    with create_app(config).app_context():
        seeds.load("default")
    connection = sqlite3.connect(tmp_path / "data" / "idp.sqlite3")
    for table, column in [("client", "identifier_uris"), ("client", "scopes"), ("client", "app_roles"),
                          ("client", "app_role_assignments"), ("authorization_code", "spa"), ("refresh_token", "spa")]:
        connection.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # as the tables were before this issue
    connection.execute("UPDATE client SET roles = '[\"User.Invite.All\"]' WHERE client_id = ?", (CLIENT_ID,))
    connection.commit()
    connection.close()
    app = create_app(config)
    client = app.test_client()
    # not seeded again: the Espace Client's Graph role still comes from its `roles` (the older seeds' field);
    # the API is only an app registration (its client id), its App ID URI is not known yet
    graph = verify(client, app_token(client, "https://graph.microsoft.com/.default").json["access_token"])
    assert graph["roles"] == ["User.Invite.All"]
    assert_aadsts(app_token(client, f"api://{API_ID}/.default"), 500011)
    bare = verify(client, app_token(client, f"{API_ID}/.default").json["access_token"])
    assert bare["aud"] == API_ID and "roles" not in bare
    with app.app_context():
        seeds.load("default")
    api = verify(client, app_token(client, f"api://{API_ID}/.default").json["access_token"])
    assert api["aud"] == API_ID and api["roles"] == ["Data.Read.All"]


def test_the_picture_userinfo_points_at_answers_as_graph_does(browser, client):
    params, verifier, _ = sign_in(browser)
    token = redeem(client, params["code"], verifier).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    picture = client.get("/oidc/userinfo", headers=headers).json["picture"]
    assert picture == "http://localhost/v1.0/me/photo/$value"
    response = client.get("/v1.0/me/photo/$value", headers=headers)
    assert response.status_code == 404 and response.json["error"]["code"] == "ImageNotFound"
    assert_graph_401(client.get("/v1.0/me/photo/$value", headers={"Authorization": f"Bearer {token['id_token']}"}),
                     "Access token validation failure. Invalid audience.")
