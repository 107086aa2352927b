"""Several hosts on one PostgreSQL database: two `idp-emulator serve`, each with its own data folder, behind one
public URL (IDP_BASE_URL, the load balancer's). Every request may land on either host."""
from itertools import cycle
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from ..conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TENANT, TENANT_ID, LiveServer, free_port
from ..helpers import authorize_url
from .test_live import walk_screens


@pytest.fixture(scope="module")
def hosts(postgres, tmp_path_factory):
    url = postgres.create_database("multihost")
    balancer = f"http://127.0.0.1:{free_port()}"  # the public URL; the test plays the load balancer
    env = {"IDP_DATABASE_URL": url, "IDP_BASE_URL": balancer}
    servers = [LiveServer(tmp_path_factory.mktemp(f"host-{name}"), extra_env=env) for name in "ab"]
    try:
        for server in servers:
            server.start()
        yield balancer, servers
    finally:
        for server in servers:
            server.stop()


class Balanced(requests.Session):
    """A browser behind a round-robin load balancer: each request goes to the next host, the cookie jar is one
    (cookies are per host name, not per port, so both hosts receive the same cookies)."""

    def __init__(self, balancer, servers):
        super().__init__()
        self.public = urlsplit(balancer).netloc
        self.hosts = {urlsplit(s.base_url).netloc for s in servers}
        self.next_host = cycle(sorted(self.hosts)).__next__
        self.sent = []

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if parts.netloc == self.public or parts.netloc in self.hosts:
            parts = parts._replace(netloc=self.next_host())
            url = urlunsplit(parts)
        self.sent.append(parts.netloc)
        return super().request(method, url, *args, **kwargs)


def keys_of(server):
    return KeySet.import_key_set(requests.get(f"{server.base_url}/{TENANT}/discovery/v2.0/keys", timeout=10).json())


def test_a_journey_alternating_hosts_on_every_request_and_tokens_valid_on_both(hosts):
    balancer, (a, b) = hosts
    for server in (a, b):  # both publish the load balancer's URLs, whatever host answers
        metadata = requests.get(f"{server.base_url}/{TENANT}/v2.0/.well-known/openid-configuration", timeout=10).json()
        assert metadata["issuer"] == f"{balancer}/{TENANT_ID}/v2.0"
    browser = Balanced(balancer, (a, b))
    path, verifier = authorize_url(prompt="login")
    params, seen = walk_screens(browser, balancer + path)
    assert seen == ["email", "password", "kmsi", "app-consent"] or seen == ["email", "password", "kmsi"]
    assert len(browser.sent) >= 6 and all(browser.sent[i] != browser.sent[i + 1] for i in range(len(browser.sent) - 1))
    assert params["state"] == "state-123"

    # The code is redeemed at host A, the tokens verified with host B's keys, refreshed at host B.
    token = requests.post(f"{a.base_url}/{TENANT}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier}).json()
    claims = jwt.decode(token["id_token"], keys_of(b), algorithms=["RS256"]).claims
    assert claims["iss"] == f"{balancer}/{TENANT_ID}/v2.0" and claims["aud"] == CLIENT_ID
    refreshed = requests.post(f"{b.base_url}/{TENANT}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "openid profile offline_access User.Read"})
    assert refreshed.status_code == 200, refreshed.text
    assert jwt.decode(refreshed.json()["id_token"], keys_of(a), algorithms=["RS256"]).claims["oid"] == claims["oid"]

    # userinfo at either host accepts the other's access token
    for server in (a, b):
        info = requests.get(f"{server.base_url}/oidc/userinfo", timeout=10,
                            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"})
        assert info.status_code == 200 and info.json()["sub"] == claims["sub"]


def test_a_key_rotated_on_one_host_signs_and_verifies_on_both(hosts):
    _, (a, b) = hosts
    before = {k.kid for k in keys_of(b)}
    rotated = a.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    for server in (a, b):
        assert {k.kid for k in keys_of(server)} > before  # the other host publishes it at its next request
    assert not (a.data_dir / "keys").exists() and not (a.data_dir / "secret-key").exists()  # nothing local
