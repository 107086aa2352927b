"""Microsoft's `identity` package (identity.flask.Auth) against the real server over https, only the host changed:
sign in through the real screens, a view with login_required(scopes=["User.Read"]) calling /v1.0/me, sign out at the IdP."""
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup
from cachelib import FileSystemCache
from flask import Flask, jsonify

from ..conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TENANT, LiveServer
from .test_live import ANSWERS, walk_screens

APP_BASE = "http://localhost:8401"  # the Espace Client's registered redirect and post-logout URIs


@pytest.fixture
def tls(tmp_path):
    server = LiveServer(tmp_path / "tls", https=True)
    server.start()
    yield server
    server.stop()


def web_app(server, tmp_path):
    from identity.flask import Auth

    app = Flask("identity_demo")
    app.config.update(SECRET_KEY="demo", SESSION_TYPE="cachelib",
                      SESSION_CACHELIB=FileSystemCache(str(tmp_path / "sessions")))
    auth = Auth(app, authority=f"{server.base_url}/{TENANT}", client_id=CLIENT_ID, client_credential=CLIENT_SECRET,
                redirect_uri=REDIRECT_URI)

    @app.route("/")
    def index():
        return "Accueil"

    @app.route("/profile")
    @auth.login_required(scopes=["User.Read"])
    def profile(*, context):
        me = requests.get(f"{server.base_url}/v1.0/me", headers={"Authorization": f"Bearer {context['access_token']}"})
        return jsonify(user=context["user"]["preferred_username"], scopes=context["scopes"], me=me.json())

    return app


def auth_uri_of(page):
    """The IdP URL identity's login page sends the browser to (a meta refresh, or a "Sign In" link)."""
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    refresh = soup.find("meta", attrs={"http-equiv": "refresh"})
    if refresh is not None:
        return refresh["content"].split("URL=", 1)[1]
    return soup.find("a", string="Sign In")["href"]


# identity 0.11 starts the code flow without response_mode=form_post, which MSAL recommends with a warning.
@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")
def test_identity_flask_signs_in_calls_a_protected_view_and_signs_out_at_the_idp(tls, tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_path))  # identity's and MSAL's requests trust the local CA
    app = web_app(tls, tmp_path).test_client()
    login = app.get("/profile", base_url=APP_BASE)
    assert login.status_code == 200
    auth_uri = auth_uri_of(login)
    assert auth_uri.startswith(f"{tls.base_url}/{TENANT}/oauth2/v2.0/authorize?")
    browser = requests.Session()  # the user's browser at the IdP
    params, seen = walk_screens(browser, auth_uri)
    assert seen == ["email", "password", "kmsi", "app-consent"]
    done = app.get(urlsplit(REDIRECT_URI).path, query_string=params, base_url=APP_BASE)
    assert done.status_code == 302 and done.location.endswith("/profile"), done.get_data(as_text=True)
    profile = app.get("/profile", base_url=APP_BASE)
    assert profile.status_code == 200, profile.get_data(as_text=True)
    assert profile.json["user"] == "client.demo@example.fr"
    assert "User.Read" in profile.json["scopes"] and profile.json["me"]["mail"] == "client.demo@example.fr"
    # login_required(scopes=…) again: served from identity's token cache or by a silent refresh, never a new sign-in
    assert app.get("/profile", base_url=APP_BASE).status_code == 200
    logout = app.get("/auth/logout", base_url=APP_BASE)
    assert logout.status_code == 302
    end_session = logout.location
    assert end_session.startswith(f"{tls.base_url}/{TENANT}/oauth2/logout?")  # read from the v1.0 discovery document
    assert parse_qs(urlsplit(end_session).query)["post_logout_redirect_uri"] == [f"{APP_BASE}/"]
    signed_out = browser.get(end_session, allow_redirects=False)
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == f"{APP_BASE}/"
    # Signed out at the IdP too: a new sign-in asks for the password again.
    again = app.get("/profile", base_url=APP_BASE)
    auth_uri = auth_uri_of(again)
    answers = {**ANSWERS, "account-picker": ("otherTile", {"upn": "client.demo@example.fr"})}  # the remembered tile
    params, seen = walk_screens(browser, auth_uri, answers=answers)
    assert seen[:2] == ["account-picker", "password"] and params["code"]
