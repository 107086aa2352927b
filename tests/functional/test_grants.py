"""Grants beyond the code flow, in-process: ROPC, device code and its page, certificate assertions, on-behalf-of,
and a discovery document that advertises only what is served."""
import datetime
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp import clock, seeds
from idp.extensions import db
from idp.models import Client, DeviceCode
from idp.oidc.urls import tenants_changed

from ..conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, PUBLIC_CLIENT_ID, REDIRECT_URI, TENANT, TENANT_ID
from ..helpers import callback_params, pkce, redeem
from ..pages import Browser
from .test_protocol import assert_aadsts, claims_of, verify

TOKEN_URL = f"/{TENANT}/oauth2/v2.0/token"
DEVICE_URL = f"/{TENANT}/oauth2/v2.0/devicecode"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DAEMON_ID = "9d4c7b2a-1e3f-4a5b-8c6d-0e1f2a3b4c5d"
API_ID = "3e7a9c1b-5d2f-4b8e-a6c4-8f1d2e3b4a59"
API_SECRET = "espace-client-api-secret-2026"
GRAPH_ID = "00000003-0000-0000-c000-000000000000"
DATA = Path(__file__).parents[1] / "data"
SEEDS = Path(__file__).parents[2] / "seeds" / "default"


def consent(client, email, *client_ids):
    """Create a user who consented to apps, through the control API (ROPC and on-behalf-of cannot ask for consent)."""
    response = client.post("/_emulator/api/users", json={"email": email, "password": PASSWORD,
                                                          "state": "registered", "consents": list(client_ids)})
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def ropc(client, username="client.demo@example.fr", password=PASSWORD, client_id=PUBLIC_CLIENT_ID, **extra):
    data = {"grant_type": "password", "client_id": client_id, "username": username, "password": password,
            "scope": "User.Read openid profile offline_access", **extra}
    return client.post(TOKEN_URL, data=data)


# --- discovery ---------------------------------------------------------------------------------

def test_discovery_advertises_exactly_what_is_served(client, browser):
    doc = client.get(f"/{TENANT}/v2.0/.well-known/openid-configuration").json
    assert doc["response_types_supported"] == ["code"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic", "private_key_jwt"}
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials", "password",
                                                 DEVICE_GRANT, "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    # Every grant type is known to the token endpoint (never AADSTS70003 unsupported_grant_type).
    for grant_type in doc["grant_types_supported"]:
        body = client.post(TOKEN_URL, data={"grant_type": grant_type, "client_id": PUBLIC_CLIENT_ID}).json
        assert body["error"] != "unsupported_grant_type" and 70003 not in body["error_codes"], (grant_type, body)
    assert client.post(TOKEN_URL, data={"grant_type": "urn:nope", "client_id": PUBLIC_CLIENT_ID}).json["error_codes"] == [70003]
    # Every response type and response mode starts a sign-in.
    for response_type in doc["response_types_supported"]:
        for mode in doc["response_modes_supported"]:
            verifier, challenge = pkce()
            page = browser.get(f"/{TENANT}/oauth2/v2.0/authorize?client_id={CLIENT_ID}&response_type={response_type}"
                               f"&response_mode={mode}&redirect_uri={REDIRECT_URI}&scope=openid"
                               f"&code_challenge={challenge}&code_challenge_method=S256")
            assert page.screen == "email", (response_type, mode)
    # Every client authentication method authenticates a client.
    graph = "https://graph.microsoft.com/.default"
    post = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                        "client_secret": CLIENT_SECRET, "scope": graph})
    basic = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": graph},
                        auth=(CLIENT_ID, CLIENT_SECRET))
    jwt_auth = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": graph,
                                            **assertion_fields(client_assertion())})
    for method, response in zip(("client_secret_post", "client_secret_basic", "private_key_jwt"), (post, basic, jwt_auth)):
        assert response.status_code == 200, (method, response.json)
    # Every endpoint it names is served.
    device = client.post(doc["device_authorization_endpoint"].replace("http://localhost", ""),
                         data={"client_id": PUBLIC_CLIENT_ID, "scope": "User.Read"})
    assert device.status_code == 200 and device.json["user_code"]
    for key in ("jwks_uri", "end_session_endpoint", "authorization_endpoint"):
        assert client.get(doc[key].replace("http://localhost", "")).status_code != 404, key


# --- ROPC --------------------------------------------------------------------------------------

def test_ropc_issues_tokens_once_the_user_consented(client):
    assert_aadsts(ropc(client), 65001, "invalid_grant")
    consent(client, "ropc.demo@example.fr", PUBLIC_CLIENT_ID)
    response = ropc(client, username="ropc.demo@example.fr")
    assert response.status_code == 200, response.json
    token = response.json
    assert token["scope"].split()[0] == "User.Read" and token["refresh_token"]
    claims = verify(client, token["access_token"])
    assert claims["aud"] == GRAPH_ID and claims["scp"] == "User.Read" and claims["azp"] == PUBLIC_CLIENT_ID
    assert verify(client, token["id_token"])["preferred_username"] == "ropc.demo@example.fr"
    refreshed = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "client_id": PUBLIC_CLIENT_ID,
                                             "refresh_token": token["refresh_token"], "scope": "User.Read openid"})
    assert refresh_ok(refreshed)


def refresh_ok(response):
    assert response.status_code == 200, response.json
    return True


def test_ropc_errors_are_microsofts(app, client):
    body = assert_aadsts(ropc(client, password="wrong"), 50126, "invalid_grant")
    assert "invalid username or password" in body["error_description"]
    body = assert_aadsts(ropc(client, username="sms.demo@example.fr"), 50076, "invalid_grant")
    assert body["suberror"] == "basic_action"
    assert_aadsts(ropc(client, username="nouveau.client@example.fr"), 50034, "invalid_grant")
    assert_aadsts(ropc(client, username="personne@example.fr"), 50034, "invalid_grant")
    assert_aadsts(ropc(client, username="verrouille.demo@example.fr"), 50053, "invalid_grant")
    assert_aadsts(ropc(client, username=""), 900144)
    # A confidential app without "allow public client flows" must present its credential.
    assert_aadsts(ropc(client, client_id=CLIENT_ID), 7000218, "invalid_client", status=401)


def test_ropc_wrong_passwords_lock_the_account(app, client):
    consent(client, "ropc.demo@example.fr", PUBLIC_CLIENT_ID)
    for _ in range(app.config["IDP_LOCKOUT_THRESHOLD"]):
        assert_aadsts(ropc(client, username="ropc.demo@example.fr", password="wrong"), 50126)
    assert_aadsts(ropc(client, username="ropc.demo@example.fr"), 50053)


def test_public_client_flows_are_refused_when_the_app_does_not_allow_them(app, client, tmp_path):
    with app.app_context():
        db.session.get(Client, PUBLIC_CLIENT_ID).allow_public_client_flows = False
        db.session.commit()
        tenants_changed()
    consent(client, "ropc.demo@example.fr", PUBLIC_CLIENT_ID)
    assert_aadsts(ropc(client, username="ropc.demo@example.fr"), 7000218, "invalid_client", status=401)
    device = client.post(DEVICE_URL, data={"client_id": PUBLIC_CLIENT_ID, "scope": "User.Read"}).json
    poll = client.post(TOKEN_URL, data={"grant_type": DEVICE_GRANT, "client_id": PUBLIC_CLIENT_ID,
                                        "device_code": device["device_code"]})
    assert_aadsts(poll, 7000218, "invalid_client", status=401)


# --- device code -------------------------------------------------------------------------------

def start_device(client, scope="User.Read openid profile offline_access"):
    response = client.post(DEVICE_URL, data={"client_id": PUBLIC_CLIENT_ID, "scope": scope})
    assert response.status_code == 200, response.json
    return response.json


def poll(client, device):
    return client.post(TOKEN_URL, data={"grant_type": DEVICE_GRANT, "client_id": PUBLIC_CLIENT_ID,
                                        "device_code": device["device_code"]})


def enter_code(browser, user_code):
    page = browser.get("/devicelogin")
    assert page.screen == "device-code"
    assert "Entrer le code" in page.text() and "Entrez le code affiché sur votre application ou appareil." in page.text()
    return browser.submit(page, {"otc": user_code}, button="idSIButton9")


def test_device_code_response_has_microsofts_fields(client):
    device = start_device(client)
    assert set(device) == {"user_code", "device_code", "verification_uri", "expires_in", "interval", "message"}
    assert device["verification_uri"] == "http://localhost/devicelogin"
    assert device["interval"] == 5 and device["expires_in"] == 900
    assert device["message"] == (f"Pour vous connecter, utilisez un navigateur web pour ouvrir la page "
                                 f"http://localhost/devicelogin et entrez le code {device['user_code']} pour l'authentification.")
    assert_aadsts(client.post(DEVICE_URL, data={"client_id": str(uuid.uuid4()), "scope": "User.Read"}), 700016)
    assert_aadsts(client.post(DEVICE_URL, data={"scope": "User.Read"}), 900144)


def test_device_page_runs_the_sign_in_screens_then_the_device_gets_tokens(client, browser):
    device = start_device(client)
    assert_aadsts(poll(client, device), 70016, "authorization_pending")
    page = enter_code(browser, device["user_code"].lower())  # typed in lower case: still the code
    seen = []
    answers = {"email": ({"loginfmt": "client.demo@example.fr"}, "idSIButton9"),
               "password": ({"passwd": PASSWORD}, "idSIButton9"), "kmsi": ({}, "idSIButton9"),
               "app-consent": ({}, "idBtn_Accept")}
    while page.screen in answers:
        seen.append(page.screen)
        data, button = answers[page.screen]
        page = browser.submit(page, data, button=button)
    assert seen == ["email", "password", "kmsi", "app-consent"]
    assert page.screen == "device-done"
    assert ("Vous êtes connecté à l'application Outil de test (client public) sur votre appareil. "
            "Vous pouvez maintenant fermer cette fenêtre.") in page.text()
    token = poll(client, device)
    assert token.status_code == 200, token.json
    claims = verify(client, token.json["id_token"])
    assert claims["aud"] == PUBLIC_CLIENT_ID and claims["preferred_username"] == "client.demo@example.fr"
    assert claims["sid"]  # the device page's sign-in
    assert token.json["refresh_token"]
    # The device code is single-use.
    assert_aadsts(poll(client, device), 70000, "invalid_grant")
    # The user code too: the page does not accept it again.
    assert enter_code(browser, device["user_code"]).error


def test_device_page_with_a_signed_in_browser_asks_nothing_more(client, browser):
    first = start_device(client)
    page = enter_code(browser, first["user_code"])
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idSIButton9")
    page = browser.submit(page, button="idBtn_Accept")
    second = start_device(client)
    assert enter_code(browser, second["user_code"]).screen == "device-done"
    assert poll(client, second).status_code == 200


def test_device_sign_in_declined_at_consent(client, browser):
    device = start_device(client)
    page = enter_code(browser, device["user_code"])
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "app-consent"
    page = browser.submit(page, button="idBtn_Back" if page.form().element.find(id="idBtn_Back") else "cancel")
    assert page.screen == "device-done" and "refusé" in page.text()
    assert_aadsts(poll(client, device), 65004, "authorization_declined")


def test_device_polling_too_fast_is_slow_down_and_an_old_code_is_expired(client):
    device = start_device(client)
    assert_aadsts(poll(client, device), 70016, "authorization_pending")
    assert_aadsts(poll(client, device), 70016, "slow_down")
    response = client.put("/_emulator/api/clock", json={"offset_seconds": 901})
    assert response.status_code == 200, response.json
    body = assert_aadsts(poll(client, device), 70020, "expired_token")
    assert "This device code has expired." in body["error_description"]


def test_a_code_that_expires_during_the_sign_in_is_not_approved(client, browser):
    device = start_device(client)
    page = enter_code(browser, device["user_code"])
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    client.put("/_emulator/api/clock", json={"offset_seconds": 901})
    page = browser.submit(page, button="idSIButton9")
    page = browser.submit(page, button="idBtn_Accept")
    assert page.screen == "device-done" and "a expiré" in page.text()
    assert_aadsts(poll(client, device), 70020, "expired_token")


def test_device_page_limits_wrong_codes(client, browser):
    device = start_device(client)
    page = enter_code(browser, "")
    assert page.screen == "device-code" and page.error
    for _ in range(5):
        page = enter_code(browser, "WRONGCODE")
        assert page.screen == "device-code" and "n'est pas reconnu" in page.error
    page = enter_code(browser, device["user_code"])
    assert page.screen == "device-code" and "trop de fois" in page.error


def test_device_page_form_requires_csrf(client):
    client.get("/devicelogin")
    assert client.post("/devicelogin", data={"otc": "ABCDEFGHJ"}).status_code == 400


def test_device_code_survives_in_the_database(app, client):
    device = start_device(client)
    with app.app_context():
        row = db.session.query(DeviceCode).filter_by(user_code=device["user_code"]).one()
        assert row.device_code_hash != device["device_code"] and row.status == "pending"


# --- certificate assertions ----------------------------------------------------------------------

def daemon_key():
    return RSAKey.import_key((DATA / "daemon-key.pem").read_bytes())


def thumbprints(pem_bytes):
    import base64

    certificate = x509.load_pem_x509_certificate(pem_bytes)
    b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()  # noqa: E731
    return b64(certificate.fingerprint(hashes.SHA1())), b64(certificate.fingerprint(hashes.SHA256()))


def client_assertion(client_id=DAEMON_ID, key=None, header=None, audience=f"http://localhost/{TENANT}/oauth2/v2.0/token",
                     lifetime=600, jti=None, now=None):
    x5t, _ = thumbprints((SEEDS / "certs" / "daemon.pem").read_bytes())
    now = now if now is not None else clock_now()
    claims = {"aud": audience, "iss": client_id, "sub": client_id, "jti": jti or str(uuid.uuid4()),
              "nbf": now, "iat": now, "exp": now + lifetime}
    return jwt.encode(header or {"alg": "RS256", "typ": "JWT", "x5t": x5t}, claims, key or daemon_key(),
                      algorithms=["RS256"])


def clock_now():
    import time

    return int(time.time())


def assertion_fields(assertion):
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


def credentials(client, assertion, scope="https://graph.microsoft.com/.default"):
    return client.post(TOKEN_URL, data={"grant_type": "client_credentials", "scope": scope,
                                        "client_id": DAEMON_ID, **assertion_fields(assertion)})


def test_client_credentials_with_a_certificate(client):
    response = credentials(client, client_assertion())
    assert response.status_code == 200, response.json
    claims = verify(client, response.json["access_token"])
    assert claims["aud"] == GRAPH_ID and claims["azp"] == DAEMON_ID and claims["idtyp"] == "app"
    assert claims["azpacr"] == "2"
    # x5t#S256 names the certificate as well as x5t
    _, s256 = thumbprints((SEEDS / "certs" / "daemon.pem").read_bytes())
    assert credentials(client, client_assertion(header={"alg": "RS256", "x5t#S256": s256})).status_code == 200


def test_client_assertion_errors(client):
    replayed = client_assertion()
    assert credentials(client, replayed).status_code == 200
    body = assert_aadsts(credentials(client, replayed), 700027, "invalid_client", status=401)
    assert "already used" in body["error_description"]
    # a certificate the app does not have
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(other_key.public_key())
             .serial_number(1).not_valid_before(datetime.datetime(2026, 1, 1))
             .not_valid_after(datetime.datetime(2036, 1, 1)).sign(other_key, hashes.SHA256()))
    other_x5t, _ = thumbprints(other.public_bytes(serialization.Encoding.PEM))
    other_pem = other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    body = assert_aadsts(credentials(client, client_assertion(key=RSAKey.import_key(other_pem),
                                                              header={"alg": "RS256", "x5t": other_x5t})),
                         700027, status=401)
    assert "not registered on application" in body["error_description"]
    # the registered thumbprint, signed by another key
    body = assert_aadsts(credentials(client, client_assertion(key=RSAKey.import_key(other_pem))), 700027, status=401)
    assert "signature validation" in body["error_description"]
    assert_aadsts(credentials(client, client_assertion(now=clock_now() - 3600)), 700024, status=401)
    assert_aadsts(credentials(client, client_assertion(audience="https://login.microsoftonline.com/x/oauth2/v2.0/token")),
                  700027, status=401)
    assert_aadsts(credentials(client, client_assertion(client_id=CLIENT_ID)), 700021, status=401)  # iss != client_id
    no_certificate = client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                  "scope": "https://graph.microsoft.com/.default",
                                                  **assertion_fields(client_assertion(client_id=CLIENT_ID))})
    assert "not registered on application" in assert_aadsts(no_certificate, 700027, status=401)["error_description"]
    assert_aadsts(credentials(client, "not.a.jwt"), 700027, status=401)
    assert_aadsts(client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": DAEMON_ID,
                                               "scope": "https://graph.microsoft.com/.default",
                                               "client_assertion": client_assertion()}), 900144)
    # The daemon has no secret: no assertion, no token.
    assert_aadsts(client.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": DAEMON_ID,
                                               "scope": "https://graph.microsoft.com/.default"}), 7000218, status=401)


def test_the_qa_clock_moves_assertion_expiry(client):
    assertion = client_assertion()
    client.put("/_emulator/api/clock", json={"offset_seconds": 3600})
    assert_aadsts(credentials(client, assertion), 700024, status=401)


def test_code_flow_with_a_certificate(app, client, browser):
    with app.app_context():
        db.session.get(Client, DAEMON_ID).redirect_uris = [REDIRECT_URI]
        db.session.commit()
        tenants_changed()
    verifier, challenge = pkce()
    page = browser.get(f"/{TENANT}/oauth2/v2.0/authorize?client_id={DAEMON_ID}&response_type=code&redirect_uri="
                       f"{REDIRECT_URI}&scope=openid+User.Read&code_challenge={challenge}&code_challenge_method=S256")
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    page = browser.submit(page, button="idSIButton9")
    browser.submit(page, button="idBtn_Accept")
    code = callback_params(browser)["code"]
    response = redeem(client, code, verifier, client_id=DAEMON_ID, client_secret=None,
                      **assertion_fields(client_assertion()))
    assert response.status_code == 200, response.json
    assert verify(client, response.json["id_token"])["aud"] == DAEMON_ID


def test_certificates_survive_reseeding_and_bad_files_are_named(app, tmp_path):
    import shutil

    folder = tmp_path / "seed"
    shutil.copytree(SEEDS, folder)
    with app.app_context():
        stored = db.session.get(Client, DAEMON_ID).certificates
        x5t, s256 = thumbprints((SEEDS / "certs" / "daemon.pem").read_bytes())
        assert stored[0]["x5t"] == x5t and stored[0]["x5t#S256"] == s256
        assert "PRIVATE" not in stored[0]["pem"]
        (folder / "certs" / "daemon.pem").write_text("not a certificate")
        with pytest.raises(seeds.SeedError) as error:
            seeds.validate(folder)
        assert "clients.yaml" in str(error.value) and "'certificates'" in str(error.value)
        assert "not a PEM certificate" in str(error.value) and "\n" not in str(error.value)
        (folder / "certs" / "daemon.pem").unlink()
        with pytest.raises(seeds.SeedError) as error:
            seeds.validate(folder)
        assert "certs/daemon.pem not found" in str(error.value)


# --- on-behalf-of --------------------------------------------------------------------------------

def api_token(client, browser, email="client.demo@example.fr"):
    """The Espace Client signs the user in for its API (api://…/access_as_user): the token the API receives."""
    from ..helpers import sign_in

    params, verifier, _ = sign_in(browser, email=email, scope=f"openid profile offline_access api://{API_ID}/access_as_user")
    response = redeem(client, params["code"], verifier)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def obo(client, assertion, scope="https://graph.microsoft.com/User.Read offline_access openid", secret=API_SECRET):
    return client.post(TOKEN_URL, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                        "requested_token_use": "on_behalf_of", "assertion": assertion,
                                        "client_id": API_ID, "client_secret": secret, "scope": scope})


def test_on_behalf_of_trades_the_api_token_for_a_graph_token(app, client, browser):
    incoming = api_token(client, browser)
    assert claims_of(incoming)["aud"] == API_ID
    # The API itself was never consented to by the user: Microsoft answers 65001.
    body = assert_aadsts(obo(client, incoming), 65001, "invalid_grant")
    assert body["suberror"] == "consent_required"
    consent(client, "obo.demo@example.fr", API_ID)
    incoming = api_token(client, Browser(app.test_client()), email="obo.demo@example.fr")
    response = obo(client, incoming)
    assert response.status_code == 200, response.json
    graph = verify(client, response.json["access_token"])
    assert graph["aud"] == GRAPH_ID and graph["scp"] == "User.Read" and graph["azp"] == API_ID
    assert graph["oid"] == claims_of(incoming)["oid"]
    assert response.json["refresh_token"]
    me = client.get("/v1.0/me", headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.status_code == 200 and me.json["mail"] == "obo.demo@example.fr"
    # A scope the user did not consent to
    assert_aadsts(obo(client, incoming, scope="https://graph.microsoft.com/Mail.Read"), 65001)


def test_on_behalf_of_refuses_tokens_not_for_the_api(client, browser):
    from ..helpers import sign_in

    consent(client, "obo.demo@example.fr", API_ID)
    params, verifier, _ = sign_in(browser, email="obo.demo@example.fr")
    graph_token = redeem(client, params["code"], verifier).json["access_token"]  # aud = Graph, not the API
    assert_aadsts(obo(client, graph_token), 50013, "invalid_grant")
    assert_aadsts(obo(client, "garbage"), 50013, "invalid_grant")
    assert_aadsts(obo(client, graph_token, secret="wrong"), 7000215, status=401)
    app_token = credentials(client, client_assertion()).json["access_token"]
    assert_aadsts(obo(client, app_token), 50013)
    missing = client.post(TOKEN_URL, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                           "assertion": graph_token, "client_id": API_ID, "client_secret": API_SECRET,
                                           "scope": "User.Read"})
    assert_aadsts(missing, 900144)
