"""Web and protocol security (issue #11): the control key on /_emulator/, allowed hosts, same-origin control
requests, no Host injection, session renewal at sign-in, security headers, PKCE, logout, client authentication."""
import base64
import shutil
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from idp import create_app, seeds
from idp.extensions import db
from idp.models import Client, Tenant, User
from idp.oidc.urls import tenants_changed

from ..conftest import CLIENT_ID, CLIENT_SECRET, FAST_HASH, PUBLIC_REDIRECT_URI, REDIRECT_URI, TENANT
from ..helpers import authorize_url, callback_params, pkce, redeem, sign_in

API = "/_emulator/api"
KEY = "s3cret-control-key"
EMULATOR_PAGES = ["/_emulator/", "/_emulator/mailbox", "/_emulator/phone/", "/_emulator/journeys/unknown",
                  "/_emulator/present", "/_emulator/anything-added-later"]


def make_app(tmp_path, template=None, **config):
    """An app with these settings; on a copy of the session's seeded database (conftest.app_template) if given one."""
    data_dir = tmp_path / "d"
    if template:
        data_dir.mkdir(parents=True)
        shutil.copyfile(template, data_dir / "idp.sqlite3")
    settings = {"TESTING": True, "IDP_DATA_DIR": str(data_dir), "IDP_PASSWORD_HASH": FAST_HASH,
                "SECRET_KEY": "test", "IDP_CONTROL_KEY": None, **config}
    app = create_app(settings)
    if not template:
        with app.app_context():
            seeds.load("default")
    return app


def basic(password, user="qa"):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# --- 1. the emulator's pages need the control key beyond loopback, and whenever it is set ------------------

@pytest.fixture
def exposed(tmp_path, app_template):
    return make_app(tmp_path, app_template, IDP_LISTEN_HOST="0.0.0.0", IDP_CONTROL_KEY=KEY).test_client()


@pytest.mark.parametrize("path", EMULATOR_PAGES)
def test_beyond_loopback_every_emulator_page_needs_the_key(exposed, path):
    response = exposed.get(path)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic")
    assert "IDP_CONTROL_KEY" in response.get_data(as_text=True)
    assert exposed.get(path, headers=basic("wrong")).status_code == 403
    assert exposed.get(path, headers=basic(KEY)).status_code != 401


def test_the_phone_and_mailbox_reveal_nothing_without_the_key(exposed):
    for path in ("/_emulator/phone/client.demo@example.fr", "/_emulator/mailbox?to=client.demo@example.fr",
                 "/_emulator/phone/client.demo@example.fr/status.json"):
        assert exposed.get(path).status_code == 401
        assert exposed.get(path, headers=basic(KEY)).status_code == 200


def test_a_key_in_the_address_sets_a_strict_httponly_cookie_then_leaves_the_address(exposed, tmp_path, app_template):
    wrong = exposed.get("/_emulator/?key=nope")
    assert wrong.status_code == 403 and "Set-Cookie" not in wrong.headers
    response = exposed.get("/_emulator/mailbox?key=" + KEY + "&to=a@b.fr")
    assert response.status_code == 302 and response.location == "/_emulator/mailbox?to=a%40b.fr"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and KEY not in cookie
    assert exposed.get("/_emulator/").status_code == 200
    assert exposed.get("/_emulator/phone/").status_code == 200
    assert exposed.get(f"{API}/users").status_code == 200  # a browser may read the control API with it too
    name = cookie.split("=", 1)[0]
    other = make_app(tmp_path / "other", app_template, IDP_LISTEN_HOST="0.0.0.0",
                     IDP_CONTROL_KEY="another-key").test_client()
    other.set_cookie(name, exposed.get_cookie(name, path="/_emulator").value, domain="localhost", path="/_emulator")
    assert other.get("/_emulator/").status_code == 401  # a cookie made for another key opens nothing


def test_beyond_loopback_without_a_key_the_pages_are_off(tmp_path, app_template):
    client = make_app(tmp_path, app_template, IDP_LISTEN_HOST="0.0.0.0").test_client()
    for path in ("/_emulator/", "/_emulator/mailbox", "/_emulator/phone/"):
        response = client.get(path)
        assert response.status_code == 503 and "IDP_CONTROL_KEY" in response.get_data(as_text=True)


def test_on_loopback_a_configured_key_is_checked_too(tmp_path, app_template):
    client = make_app(tmp_path, app_template, IDP_LISTEN_HOST="127.0.0.1", IDP_CONTROL_KEY=KEY).test_client()
    response = client.get(f"{API}/users")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(f"{API}/users", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get(f"{API}/users", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.get("/_emulator/mailbox").status_code == 401
    assert client.get("/_emulator/mailbox", headers=basic(KEY)).status_code == 200


def test_on_loopback_without_a_key_the_pages_stay_open(client):
    assert client.get("/_emulator/").status_code == 200
    assert client.get(f"{API}/users").status_code == 200


# --- 2. cross-site requests and DNS rebinding ----------------------------------------------------------

@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://localhost:8401"},  # the Espace Client: same site, other origin
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}])
def test_a_cross_origin_post_to_the_control_api_is_refused(app, client, headers):
    response = client.post(f"{API}/reset", json={}, headers=headers)
    assert response.status_code == 403 and "Cross-origin" in response.get_json()["error"]["message"]
    response = client.put(f"{API}/clock", json={"offset_seconds": 900}, headers=headers)
    assert response.status_code == 403
    assert client.get(f"{API}/clock").get_json().get("offset_seconds", 0) == 0


def test_a_cross_origin_push_approval_from_the_phone_page_is_refused(client):
    response = client.post("/_emulator/phone/client.demo@example.fr/notification", data={"action": "approve"},
                           headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_same_origin_and_scripts_still_drive_the_control_api(client):
    assert client.put(f"{API}/clock", json={"offset_seconds": 5},
                      headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert client.put(f"{API}/clock", json={"offset_seconds": 0}).status_code == 200  # curl, pytest: no Origin


@pytest.mark.parametrize("path", ["/_emulator/api/users", "/_emulator/", f"/{TENANT}/v2.0/.well-known/openid-configuration",
                                  "/common/discovery/v2.0/keys", "/"])
def test_an_unknown_host_is_refused_everywhere(client, path):
    response = client.get(path, headers={"Host": "rebind.evil.example"})
    assert response.status_code == 400
    assert "IDP_ALLOWED_HOSTS" in response.get_data(as_text=True)


@pytest.mark.parametrize("host", ["localhost", "localhost:8400", "127.0.0.1:8400", "[::1]:8400", "app.localhost:8400",
                                  "127.9.9.9"])
def test_loopback_hosts_are_allowed(client, host):
    assert client.get("/_emulator/api/users", headers={"Host": host}).status_code == 200


def test_base_url_listen_address_and_allowed_hosts_are_allowed(tmp_path):
    app = make_app(tmp_path, IDP_BASE_URL="https://idp.example.test", IDP_LISTEN_HOST="192.0.2.7",
                   IDP_CONTROL_KEY=KEY, IDP_ALLOWED_HOSTS="qa.example.test, *.lab.example.test")
    client = app.test_client()
    discovery = f"/{TENANT}/v2.0/.well-known/openid-configuration"
    for host in ("idp.example.test", "192.0.2.7:8400", "qa.example.test", "a.lab.example.test", "lab.example.test"):
        assert client.get(discovery, headers={"Host": host}).status_code == 200, host
    for host in ("example.test", "qa.example.test.evil", "evil.example", "0.0.0.0", "bad host"):
        assert client.get(discovery, headers={"Host": host}).status_code == 400, host


# --- 3. Host header injection --------------------------------------------------------------------------

def test_issuer_endpoints_and_token_iss_follow_the_base_url_not_the_host(tmp_path):
    app = make_app(tmp_path, IDP_BASE_URL="https://idp.example.test", IDP_ALLOWED_HOSTS="qa.example.test")
    client = app.test_client()
    for host in ("localhost", "qa.example.test"):
        document = client.get(f"/{TENANT}/v2.0/.well-known/openid-configuration", headers={"Host": host}).get_json()
        assert document["issuer"].startswith("https://idp.example.test/")
        assert document["token_endpoint"].startswith("https://idp.example.test/")
    token = client.post(f"/{TENANT}/oauth2/v2.0/token", headers={"Host": "qa.example.test"}, data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default"}).get_json()["access_token"]
    payload = token.split(".")[1]
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"].startswith("https://idp.example.test/")


def test_an_invitation_link_never_names_an_attackers_host(client):
    response = client.post(f"{API}/invitations", json={"email": "victim@example.fr"},
                           headers={"Host": "attacker.example"})
    assert response.status_code == 400
    with client.application.app_context():
        assert User.by_email("victim@example.fr") is None


# --- 4. session fixation and Secure cookies ------------------------------------------------------------

def test_a_planted_session_cookie_does_not_carry_the_victims_sign_in(app, browser):
    attacker = app.test_client()
    url, _ = authorize_url()
    attacker.get(url)  # the attacker gets a browser session of their own
    planted = attacker.get_cookie("ESTSAUTH").value
    browser.client.set_cookie("ESTSAUTH", planted, domain="localhost")  # …and plants it in the victim's browser
    params, _, _ = sign_in(browser)
    assert "code" in params
    assert browser.client.get_cookie("ESTSAUTH").value != planted  # a new id at sign-in
    url, _ = authorize_url(prompt="none")
    response = attacker.get(url)
    assert response.status_code == 302 and "code=" not in response.location
    assert "error=login_required" in response.location
    # The victim's own browser still signs in silently (its accounts moved to the new id).
    url, _ = authorize_url(prompt="none")
    browser.get(url)
    assert "code" in callback_params(browser)


def test_renewal_moves_the_loaded_flow_and_accounts_and_leaves_the_old_id_naming_nothing(app):
    from flask import g, session

    from idp.journey.browser import renew_browser
    from idp.models import BrowserSession, Flow, SessionAccount

    with app.test_request_context():
        user = User.by_email("client.demo@example.fr")
        old = BrowserSession(accounts=[])
        flow = Flow(browser_id=old.id, tenant_id=user.tenant_id, user_id=user.id)
        db.session.add_all([old, flow, SessionAccount(browser=old, user_id=user.id)])
        db.session.flush()
        account = db.session.query(SessionAccount).filter_by(browser_id=old.id).one()
        session["bsid"], g.session_accounts = old.id, {(old.id, user.id): account}
        new = renew_browser(flow)
        # The rows of this request follow the new id, as the database has them.
        assert session["bsid"] == new != old.id
        assert flow.browser_id == account.browser_id == new and g.session_accounts == {(new, user.id): account}
        assert old not in db.session
        db.session.expire_all()
        assert db.session.get(BrowserSession, old.id) is None
        assert [a.user_id for a in db.session.get(BrowserSession, new).accounts] == [user.id]
        assert db.session.get(Flow, flow.id).browser_id == new
        db.session.rollback()


def test_over_https_every_cookie_is_secure(client):
    url, _ = authorize_url()
    response = client.get(url, base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)
    assert any(cookie.startswith("ESTSAUTH=") for cookie in cookies)
    plain = client.get(authorize_url()[0])
    assert all("Secure" not in cookie for cookie in plain.headers.getlist("Set-Cookie"))


def test_an_https_base_url_makes_cookies_secure(tmp_path):
    client = make_app(tmp_path, IDP_BASE_URL="https://localhost:8400").test_client()
    cookies = client.get(authorize_url()[0]).headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)


# --- 5. security headers -------------------------------------------------------------------------------

def assert_framing_by_own_origin_only(response):
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_sign_in_consent_phone_and_mailbox_pages_cannot_be_framed_by_other_sites(app, browser, client):
    url, _ = authorize_url()
    page = browser.get(url)
    assert page.screen == "email"
    assert_framing_by_own_origin_only(page.response)
    for path in ("/_emulator/", "/_emulator/phone/", "/_emulator/phone/client.demo@example.fr",
                 "/_emulator/mailbox", f"/{TENANT}/v2.0/.well-known/openid-configuration", "/no-such-page"):
        assert_framing_by_own_origin_only(client.get(path))
    client.post(f"{API}/invitations", json={"email": "framed@example.fr"})
    message = client.get(f"{API}/messages?to=framed@example.fr").get_json()["messages"][0]
    page = client.get(f"/_emulator/mailbox/{message['id']}")
    assert page.status_code == 200 and "frame-src 'self'" in page.headers["Content-Security-Policy"]
    raw = client.get(f"/_emulator/mailbox/{message['id']}/raw")
    assert raw.status_code == 200  # the mail's own frame still loads, same origin, still sandboxed
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert_framing_by_own_origin_only(raw)


# --- 6. protocol -----------------------------------------------------------------------------------------

def test_a_challenge_without_method_is_s256_never_plain(browser, client):
    verifier, challenge = pkce()
    # A "plain" challenge (the verifier itself) sent without code_challenge_method…
    params, _, _ = sign_in(browser, code_challenge=verifier, code_challenge_method=None)
    response = redeem(client, params["code"], verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert "AADSTS501481" in response.get_json()["error_description"]
    # …while an S256 challenge without the method works.
    params, _, _ = sign_in(browser, code_challenge=challenge, code_challenge_method=None)
    assert redeem(client, params["code"], verifier).status_code == 200


def test_plain_is_refused_at_authorize(browser):
    verifier, _ = pkce()
    url, _ = authorize_url(code_challenge=verifier, code_challenge_method="plain")
    browser.get(url)
    assert callback_params(browser)["error"] == "invalid_request"


@pytest.mark.parametrize("target", ["http://localhost:8401/admin/invitations", "http://localhost:8401/anything",
                                    "http://localhost:8402/elsewhere", "http://localhost:8401/auth/callback/x"])
def test_logout_goes_back_only_to_an_exactly_registered_uri(client, target):
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout", query_string={"post_logout_redirect_uri": target})
    assert response.status_code == 200 and response.location is None


def test_logout_still_returns_to_registered_uris(client):
    for target in ("http://localhost:8401/", REDIRECT_URI, PUBLIC_REDIRECT_URI, "http://localhost:8403/"):
        response = client.get(f"/{TENANT}/oauth2/v2.0/logout", query_string={"post_logout_redirect_uri": target})
        assert response.status_code == 302 and response.location == target, target


@pytest.mark.parametrize("target", ["http://localhost:8401/\r\nSet-Cookie: x=1", "http://localhost:8402/call\r\nback",
                                    "http://localhost:8401/\n", "http://localhost:8402/call\tback"])
def test_a_control_character_in_the_logout_target_is_not_a_500(client, target):
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout", query_string={"post_logout_redirect_uri": target})
    assert response.status_code == 200 and response.location is None


def test_a_client_secret_in_the_url_is_refused(client):
    response = client.post(f"/{TENANT}/oauth2/v2.0/token?client_secret={CLIENT_SECRET}",
                           data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                 "scope": "https://graph.microsoft.com/.default"})
    assert response.status_code == 400 and "client_secret" in response.get_json()["error_description"]
    ok = client.post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default"})
    assert ok.status_code == 200


OTHER_TENANT_ID = "5e0c1d2b-3a4f-4e5d-8c7b-6a5f4e3d2c1b"
OTHER_CLIENT_ID = "7b6a5f4e-3d2c-4b1a-9f8e-7d6c5b4a3f2e"


@pytest.fixture
def other_tenant(app):
    with app.app_context():
        db.session.add(Tenant(id=OTHER_TENANT_ID, domain="autrecabinet.onmicrosoft.com", name="Autre cabinet"))
        db.session.add(Client(client_id=OTHER_CLIENT_ID, tenant_id=OTHER_TENANT_ID, name="Application de B",
                              secret_hash=generate_password_hash("b-secret", method=FAST_HASH),
                              redirect_uris=[REDIRECT_URI], roles=[]))
        db.session.commit()
        tenants_changed()


def test_a_client_of_another_tenant_is_not_found_at_this_tenants_endpoints(client, other_tenant):
    data = {"grant_type": "client_credentials", "client_id": OTHER_CLIENT_ID, "client_secret": "b-secret",
            "scope": "https://graph.microsoft.com/.default"}
    for tenant in (TENANT, "0b7c2f4e-5a1d-4c3b-9e8f-2a6d1c4b7e90"):
        response = client.post(f"/{tenant}/oauth2/v2.0/token", data=data)
        body = response.get_json()
        assert response.status_code in (400, 401) and body["error"] == "unauthorized_client", body
        assert body["error_description"].startswith("AADSTS700016: ")
    # Its own tenant (and the meta tenants, resolved to the app's home) still serve it.
    assert client.post("/autrecabinet.onmicrosoft.com/oauth2/v2.0/token", data=data).status_code == 200
    url, _ = authorize_url(client_id=OTHER_CLIENT_ID)
    response = client.get(url)
    assert response.status_code == 400 and "AADSTS700016" in response.get_data(as_text=True)


def test_an_unknown_resource_is_never_a_token_with_the_apps_roles(client):
    response = client.post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://evil.example/.default"})
    assert response.status_code == 400 and "access_token" not in response.get_json()
    assert response.get_json()["error_description"].startswith("AADSTS500011: ")


def test_inviting_an_existing_member_does_not_make_them_a_guest(app, client):
    token = client.post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default"}).get_json()["access_token"]
    with app.app_context():
        assert User.by_email("client.demo@example.fr").invited is False
    response = client.post("/v1.0/invitations", headers={"Authorization": f"Bearer {token}"}, json={
        "invitedUserEmailAddress": "client.demo@example.fr", "inviteRedirectUrl": "http://localhost:8401/"})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        assert User.by_email("client.demo@example.fr").invited is False
    # A new address still becomes an invited guest.
    client.post("/v1.0/invitations", headers={"Authorization": f"Bearer {token}"}, json={
        "invitedUserEmailAddress": "nouveau@example.fr", "inviteRedirectUrl": "http://localhost:8401/"})
    with app.app_context():
        assert User.by_email("nouveau@example.fr").invited is True


# --- 5b and 7. the Espace Client: headers, no default admin password, throttled tries -------------------

def espace_client(folder, monkeypatch, **extra):
    from client_app import create_app as create_client_app

    monkeypatch.delenv("CLIENT_ADMIN_PASSWORD", raising=False)
    return create_client_app({"TESTING": True, "CLIENT_DATA_DIR": str(folder), "SECRET_KEY": "client-test",
                              "CLIENT_BASE_URL": "http://localhost:8401", **extra})


def admin_login(web, password):
    from bs4 import BeautifulSoup

    page = BeautifulSoup(web.get("/admin/invitations").get_data(as_text=True), "html.parser")
    token = page.find("input", attrs={"name": "csrf_token"})["value"]
    return web.post("/admin/invitations", data={"csrf_token": token, "password": password})


def test_espace_client_pages_cannot_be_framed_by_other_sites(tmp_path, monkeypatch):
    web = espace_client(tmp_path / "c", monkeypatch,
                        CLIENT_AUTHORITY="http://localhost:8400/bakertillyrecette.onmicrosoft.com/v2.0").test_client()
    for path in ("/", "/admin/invitations", "/no-such-page"):
        response = web.get(path)
        assert_framing_by_own_origin_only(response)
        # ...and by the IdP's: the presenter view (same origin as the IdP) shows step 2 in its PC frame.
        ancestors = next(d for d in response.headers["Content-Security-Policy"].split(";") if "frame-ancestors" in d)
        assert ancestors.split() == ["frame-ancestors", "'self'", "http://localhost:8400"]


def test_the_espace_client_admin_has_a_random_password_kept_hashed(tmp_path, monkeypatch):
    folder = tmp_path / "c"
    app = espace_client(folder, monkeypatch)
    made = app.config["CLIENT_ADMIN_PASSWORD_CREATED"]
    assert made and len(made) >= 16 and made != "admin"
    stored = (folder / "admin-password.hash").read_text()
    assert made not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    web = app.test_client()
    assert admin_login(web, "admin").status_code == 400
    assert admin_login(web, made).status_code == 302
    again = espace_client(folder, monkeypatch)  # a restart (or another worker): the same password, not shown again
    assert again.config["CLIENT_ADMIN_PASSWORD_CREATED"] is None
    assert admin_login(again.test_client(), made).status_code == 302
    other = espace_client(tmp_path / "other", monkeypatch)
    assert other.config["CLIENT_ADMIN_PASSWORD_CREATED"] != made


def test_up_prints_the_admin_password_it_made_and_a_reset_makes_a_new_one(tmp_path, monkeypatch):
    from idp.cli import _admin_password

    monkeypatch.delenv("CLIENT_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("CLIENT_DATA_DIR", str(tmp_path / "c"))
    first = _admin_password()
    assert first.startswith("password: ") and len(first) > len("password: ") + 12 and "admin" not in first
    assert "up --reset" in _admin_password()  # made before: only its hash is kept
    renewed = _admin_password(renew=True)
    assert renewed.startswith("password: ") and renewed != first
    monkeypatch.setenv("CLIENT_ADMIN_PASSWORD", "Admin-Secret-1")
    assert _admin_password() == "password: Admin-Secret-1"


def test_the_cli_reaches_the_espace_client_only_through_its_package():
    """idp-emulator up / client use client_app's public functions (create_app, reset_database, admin_password)."""
    import ast

    import client_app
    import idp.cli

    tree = ast.parse(Path(idp.cli.__file__).read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    modules = {alias.name for node in imports if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in imports if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in modules if m.split(".")[0] == "client_app"} == {"client_app"}
    names = {alias.name for node in imports if isinstance(node, ast.ImportFrom) and node.module == "client_app"
             for alias in node.names}
    assert names == {"admin_password", "create_app", "reset_database"}
    assert all(callable(getattr(client_app, name)) for name in names)


def test_wrong_admin_passwords_wait_longer_and_longer(tmp_path, monkeypatch):
    from client_app.admin import FREE_FAILURES, wait_after

    app = espace_client(tmp_path / "c", monkeypatch, CLIENT_ADMIN_PASSWORD="Right-Password-1")
    web = app.test_client()
    for _ in range(FREE_FAILURES):
        response = admin_login(web, "wrong")
        assert response.status_code == 400 and "Mot de passe incorrect." in response.get_data(as_text=True)
    # Now even the right password waits: no check at all until the wait is over.
    response = admin_login(web, "Right-Password-1")
    assert response.status_code == 429 and "Réessayez dans 2 secondes" in response.get_data(as_text=True)
    assert [wait_after(n) for n in range(FREE_FAILURES, FREE_FAILURES + 5)] == [2, 4, 8, 16, 32]
    assert wait_after(100) == 15 * 60
    from datetime import timedelta

    from client_app.extensions import db
    from client_app.models import AdminThrottle

    with app.app_context():  # the wait is over
        row = db.session.get(AdminThrottle, 1)
        row.next_try_at -= timedelta(seconds=3)
        db.session.commit()
    assert admin_login(web, "Right-Password-1").status_code == 302
    with app.app_context():
        assert db.session.get(AdminThrottle, 1).failures == 0


def test_concurrent_wrong_admin_passwords_are_not_all_checked(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from client_app.admin import FREE_FAILURES

    app = espace_client(tmp_path / "c", monkeypatch, CLIENT_ADMIN_PASSWORD="Right-Password-1", WTF_CSRF_ENABLED=False)

    def attempt(_):
        return app.test_client().post("/admin/invitations", data={"password": "wrong"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(24)))
    checked = statuses.count(400)
    assert 1 <= checked <= FREE_FAILURES and statuses.count(429) == len(statuses) - checked, statuses


def test_the_pytest_plugin_sends_a_configured_control_key(tmp_path, monkeypatch):
    from idp.pytest_plugin import Emulator

    monkeypatch.setenv("IDP_CONTROL_KEY", "plugin-control-key")
    emulator = Emulator(tmp_path / "plugin").start()
    try:
        assert any(user["email"] == "client.demo@example.fr" for user in emulator.users())
        import requests

        assert requests.get(f"{emulator.base_url}/_emulator/api/users", timeout=5).status_code == 401
    finally:
        emulator.stop()
