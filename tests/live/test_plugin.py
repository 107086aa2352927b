"""The installed pytest plugin: a QA suite outside the project uses only the `idp` fixture, and passes."""
import os
import subprocess
import sys
import textwrap
import time

import requests

from ..conftest import free_port

QA_SUITE = textwrap.dedent('''
    """A QA suite of another project: it knows only the `idp` fixture and HTTP."""
    import base64
    import hashlib
    import re
    import secrets
    from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

    import pytest
    import requests

    PASSWORD = "Secret-2026!"


    class Person:
        """A browser without JavaScript: follows the IdP's redirects, fills its forms."""

        def __init__(self, idp):
            self.idp, self.http, self.callback = idp, requests.Session(), None

        def go(self, response):
            while response.is_redirect:
                url = urljoin(response.url, response.headers["Location"])
                if not url.startswith(self.idp.base_url):
                    self.callback = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
                    return None
                response = self.http.get(url, allow_redirects=False)
            assert response.status_code == 200, response.text
            return response

        def screen(self, page):
            return re.search(r'data-screen="([^"]*)"', page.text).group(1)

        def submit(self, page, **fields):
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            return self.go(self.http.post(page.url, data={"csrf_token": token, **fields}, allow_redirects=False))

        def authorize(self):
            self.verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=")
            query = urlencode({"client_id": self.idp.client_id, "response_type": "code",
                               "redirect_uri": self.idp.redirect_uri, "scope": "openid profile offline_access",
                               "state": "s", "nonce": "n", "code_challenge": challenge.decode(),
                               "code_challenge_method": "S256"})
            url = f"{self.idp.base_url}/{self.idp.tenant_id}/oauth2/v2.0/authorize?{query}"
            return self.go(self.http.get(url, allow_redirects=False))

        def to_mfa(self, email):
            page = self.submit(self.authorize(), loginfmt=email)
            return self.submit(page, passwd=PASSWORD)

        def finish(self, page):
            while page is not None:
                screen = self.screen(page)
                page = self.submit(page, **({"yes": "y"} if screen == "kmsi" else {"accept": "y"}))
            return self.callback

        def redeem(self):
            return requests.post(f"{self.idp.base_url}/{self.idp.tenant_id}/oauth2/v2.0/token", data={
                "grant_type": "authorization_code", "code": self.callback["code"],
                "redirect_uri": self.idp.redirect_uri, "client_id": self.idp.client_id,
                "client_secret": self.idp.client_secret, "code_verifier": self.verifier})


    def test_discovery_names_the_issuer(idp):
        assert requests.get(f"{idp.issuer}/.well-known/openid-configuration").json()["issuer"] == idp.issuer


    def test_totp_sign_in_then_the_code_expires_with_the_clock(idp):
        idp.create_user("qa.totp@example.fr", state="mfa_totp", password=PASSWORD)
        person = Person(idp)
        page = person.to_mfa("qa.totp@example.fr")
        assert person.screen(page) == "mfa-otp"
        callback = person.finish(person.submit(page, otc=idp.totp("qa.totp@example.fr"), action="verify"))
        assert callback["state"] == "s"
        idp.set_clock(601)
        assert person.redeem().json()["error_codes"] == [70008]


    def test_push_approved_by_the_fixture(idp):
        idp.create_user("qa.push@example.fr", state="mfa_authenticator", password=PASSWORD)
        person = Person(idp)
        page = person.to_mfa("qa.push@example.fr")
        assert person.screen(page) == "mfa-push"
        assert idp.approve_push("qa.push@example.fr")["status"] == "approved"
        person.finish(person.submit(page, action="next"))
        tokens = person.redeem().json()
        assert tokens["token_type"] == "Bearer" and "refresh_token" in tokens


    def test_sms_code_from_the_messages(idp):
        idp.create_user("qa.sms@example.fr", state="mfa_sms", password=PASSWORD, phone="+33611223344")
        person = Person(idp)
        page = person.to_mfa("qa.sms@example.fr")
        code = idp.messages("qa.sms@example.fr")[0]["code"]
        assert person.finish(person.submit(page, otc=code, action="verify"))["code"]


    def test_invitation_email_carries_the_redeem_link(idp):
        url = idp.invite("new.client@example.fr")["inviteRedeemUrl"]
        assert url in idp.messages("new.client@example.fr")[0]["links"]


    def test_every_test_starts_from_fresh_data(idp):
        emails = [u["email"] for u in idp.users()]
        assert not any(e.startswith("qa.") for e in emails) and "client.demo@example.fr" in emails
        assert idp.settings()["clock_offset_seconds"] == 0


    @pytest.mark.idp_scenario("locked-account")
    def test_a_scenario_by_marker(idp):
        assert idp.user("verrouille.demo@example.fr")["locked"] is True
        idp.reset("default")
        assert "totp.demo@example.fr" in [u["email"] for u in idp.users()]
''')


def test_a_qa_suite_outside_the_project_passes_with_the_installed_plugin(tmp_path):
    suite = tmp_path / "qa-suite"
    suite.mkdir()
    (suite / "test_espace_client.py").write_text(QA_SUITE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PYTEST_"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(suite)],
                            cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout


def test_serve_beyond_loopback_refuses_the_control_api_without_the_key(tmp_path):
    port = free_port()
    env = {**os.environ, "IDP_DATA_DIR": str(tmp_path / "data"), "IDP_PASSWORD_HASH": "pbkdf2:sha256:1000",
           "IDP_CONTROL_KEY": "qa-control-key", "IDP_SMTP": "off"}
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
                               "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/_emulator/api/users"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(url, timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        assert response.status_code == 401 and "Bearer" in response.json()["error"]["message"]
        assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 403
        assert requests.get(url, headers={"Authorization": "Bearer qa-control-key"}, timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
