"""Redirect URIs match exactly, except the port of an http loopback URI (RFC 8252 §7.3, as Microsoft does)."""
import pytest

from idp.extensions import db
from idp.models import Client
from idp.oidc.redirects import registered
from idp.oidc.urls import tenants_changed

from ..conftest import PUBLIC_CLIENT_ID, TENANT, TENANT_ID
from ..helpers import authorize_url

REGISTERED = ["http://localhost", "http://127.0.0.1:8402/callback", "http://[::1]/cb", "https://localhost:8443/cb",
              "https://app.example.fr:8443/cb"]


@pytest.mark.parametrize("requested", [
    "http://localhost", "http://localhost:53127", "http://127.0.0.1:8402/callback", "http://127.0.0.1/callback",
    "http://127.0.0.1:1/callback", "http://[::1]:8080/cb", "https://localhost:8443/cb", "https://app.example.fr:8443/cb",
])
def test_registered(requested):
    assert registered(REGISTERED, requested)


@pytest.mark.parametrize("requested", [
    "http://localhost:53127/", "http://localhost:53127/other",  # another path
    "http://127.0.0.1:8402/callback?x=1", "http://127.0.0.1:8402/callback/",  # another query, a trailing slash
    "http://localhost:8402/callback",  # localhost is not 127.0.0.1
    "https://localhost:9443/cb",  # https loopback keeps its port
    "https://app.example.fr:9443/cb", "https://app.example.fr/cb",  # any other host keeps its port
    "http://app.example.fr:8443/cb", "http://evil.example/cb", "http://localhost:notaport",
    "http://user@localhost:53127",
])
def test_not_registered(requested):
    assert not registered(REGISTERED, requested)


def authorize(client, **params):
    url, _ = authorize_url(client_id=PUBLIC_CLIENT_ID, **params)
    return client.get(url)


def test_authorize_accepts_a_loopback_redirect_uri_on_any_port(client):
    # "http://localhost" is registered without a port: MSAL's interactive flow picks its own.
    for redirect_uri in ("http://localhost:53127", "http://127.0.0.1:61000/callback"):
        response = authorize(client, redirect_uri=redirect_uri)
        assert response.status_code == 302 and "/login/" in response.location, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("redirect_uri", ["http://localhost:53127/other", "http://127.0.0.1:61000/callback/x"])
def test_authorize_refuses_a_loopback_redirect_uri_with_another_path(client, redirect_uri):
    response = authorize(client, redirect_uri=redirect_uri)
    assert response.status_code == 400 and response.location is None
    assert "AADSTS50011" in response.get_data(as_text=True)


def test_authorize_matches_the_port_of_other_hosts(app, client):
    with app.app_context():
        db.session.add(Client(client_id="c0ffee00-0000-4000-8000-000000000001", tenant_id=TENANT_ID,
                              name="App hébergée", redirect_uris=["https://app.example.fr:8443/cb"]))
        db.session.commit()
        tenants_changed()
    base = {"client_id": "c0ffee00-0000-4000-8000-000000000001"}
    ok, _ = authorize_url(redirect_uri="https://app.example.fr:8443/cb", **base)
    assert client.get(ok).status_code == 302
    refused, _ = authorize_url(redirect_uri="https://app.example.fr:9443/cb", **base)
    response = client.get(refused)
    assert response.status_code == 400 and "AADSTS50011" in response.get_data(as_text=True)


def test_logout_returns_to_a_loopback_post_logout_uri_on_any_port(client):
    # The SPA registers http://127.0.0.1:8403/; MSAL.js runs it on whatever port the developer chose.
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=http://127.0.0.1:52017/")
    assert response.status_code == 302 and response.location == "http://127.0.0.1:52017/"
    https = client.get(f"/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=https://127.0.0.1:52017/")
    assert https.status_code == 200 and https.location is None
