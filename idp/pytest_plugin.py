"""pytest plugin (entry point pytest11): the `idp` fixture, a live emulator driven over the control API.

    def test_sign_in(idp):
        idp.create_user("qa@example.fr", state="mfa_totp", password="Secret-2026!")
        ...  # drive your app against idp.issuer; idp.totp("qa@example.fr") gives the current code

One server per test session (a subprocess on a free port, its own data folder in a temp
directory); before each test the database is reset to a scenario (`default`, or the one named by
`@pytest.mark.idp_scenario("sms-registered")`), so every test starts from fresh data with the
real clock and no fault.
"""
import os
import time
import zlib
from urllib.parse import quote

import pytest
import requests

from .testing.server import LiveServer

DEFAULT_PASSWORD = "Test-2026!"


class EmulatorError(AssertionError):
    """The control API refused a call (its status and message)."""

    def __init__(self, status, message, method, path):
        self.status, self.message = status, message
        super().__init__(f"{method} {path} -> {status}: {message}")


class Emulator(LiveServer):
    """A live idp-emulator (idp.testing.server.LiveServer): its URLs, the seeded client, and the control API as
    methods."""

    def __init__(self, data_dir, port=None, scenario="default", workers=1):
        super().__init__(data_dir, port=port, workers=workers)
        self.scenario = scenario
        self.http = requests.Session()
        # The server inherits IDP_CONTROL_KEY from this environment and then checks it, loopback included.
        if os.environ.get("IDP_CONTROL_KEY"):
            self.http.headers["Authorization"] = f"Bearer {os.environ['IDP_CONTROL_KEY']}"
        self._seed(scenario)

    def stop(self):
        super().stop()
        self.http.close()

    # --- what a relying party needs -----------------------------------------------------------
    def _seed(self, scenario):
        """Read the scenario's tenant and first confidential client (the app under test)."""
        from idp import seeds

        tenant, clients, _ = seeds.validate(seeds.resolve(scenario))
        client = next((c for c in clients if c.get("client_secret")), clients[0] if clients else {})
        self.tenant_id, self.tenant = tenant["id"], tenant["domain"]
        self.client_id = client.get("client_id")
        self.client_secret = client.get("client_secret")
        self.redirect_uri = (client.get("redirect_uris") or [None])[0]

    @property
    def authority(self):
        """The authority an MSAL-style client is configured with."""
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def issuer(self):
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    @property
    def discovery_url(self):
        return f"{self.issuer}/.well-known/openid-configuration"

    # --- the control API ----------------------------------------------------------------------
    def api(self, method, path, json=None, params=None):
        """Call the control API; return the JSON answer (None for 204) or raise EmulatorError."""
        response = self.http.request(method, f"{self.base_url}/_emulator/api{path}", json=json, params=params,
                                     timeout=30)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise EmulatorError(response.status_code, message, method, path)
        return None if response.status_code == 204 else response.json()

    def reset(self, scenario=None):
        """Wipe the data and load a scenario (default: the one of this test); clock and faults go back to normal."""
        scenario = scenario or self.scenario
        result = self.api("POST", "/reset", {"scenario": scenario})
        self._seed(scenario)
        return result

    def create_user(self, email, state="registered", password=DEFAULT_PASSWORD, phone=None, **extra):
        """Create a user directly in a state: invited, registered, mfa_sms, mfa_authenticator, mfa_totp."""
        if state == "mfa_sms" and phone is None:
            phone = "+336" + str(zlib.crc32(email.lower().encode()) % 10**8).zfill(8)
        data = {"email": email, "state": state, **extra}
        if state != "invited":
            data["password"] = password
        if phone is not None:
            data["phone"] = phone
        return self.api("POST", "/users", data)

    def user(self, email):
        return self.api("GET", f"/users/{quote(email)}")

    def users(self):
        return self.api("GET", "/users")["users"]

    def delete_user(self, email):
        self.api("DELETE", f"/users/{quote(email)}")

    def invite(self, email, **extra):
        """Invite a client; return the answer with its `inviteRedeemUrl`."""
        return self.api("POST", "/invitations", {"email": email, **extra})

    def messages(self, to=None, channel=None):
        """Delivered mail and SMS (newest first), each with `code` and `links`."""
        params = {k: v for k, v in {"to": to, "channel": channel}.items() if v}
        return self.api("GET", "/messages", params=params)["messages"]

    def last_code(self, to, channel=None):
        """The code of the newest message to `to` that carries one, or None."""
        return next((m["code"] for m in self.messages(to, channel) if m["code"]), None)

    def totp(self, email):
        """The user's current TOTP code (at the emulator's clock)."""
        return self.api("GET", f"/users/{quote(email)}/totp")["code"]

    def push(self, email):
        return self.api("GET", f"/users/{quote(email)}/push")

    def approve_push(self, email, number=None, wait=10.0):
        """Approve the user's pending Authenticator notification (waits up to `wait` s for it to appear)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.push(email)
                break
            except EmulatorError as exc:
                if exc.status != 404 or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
        body = {} if number is None else {"number": number}
        return self.api("POST", f"/users/{quote(email)}/push/approve", body)

    def deny_push(self, email):
        return self.api("POST", f"/users/{quote(email)}/push/deny", {})

    def captcha(self, email):
        """The answer of the puzzle the user sees now."""
        return self.api("GET", "/captcha", params={"email": email})["answer"]

    def settings(self, **values):
        """Change QA settings (captcha=puzzle|auto|loop, captcha_rounds=1…10, mfa=always|once|never, demo=True|False,
        language="fr"|"en"); return them all."""
        return self.api("PUT", "/settings", values) if values else self.api("GET", "/settings")

    def set_clock(self, offset_seconds):
        """Move the emulator's clock to real time + offset_seconds (expiry of codes, tokens, lockouts)."""
        return self.api("PUT", "/clock", {"offset_seconds": int(offset_seconds)})

    def faults(self, **faults):
        """Turn faults on/off: sms="fail"|"delay"|None, email="fail"|None, push="timeout"|None."""
        return self.api("PUT", "/faults", faults) if faults else self.api("GET", "/faults")

    def journeys(self, email=None):
        return self.api("GET", "/journeys", params={"email": email} if email else None)["journeys"]

    def journey(self, journey_id):
        return self.api("GET", f"/journeys/{quote(journey_id)}")


def pytest_configure(config):
    config.addinivalue_line("markers", "idp_scenario(name): the seed scenario the `idp` fixture resets to")


@pytest.fixture(scope="session")
def idp_server(tmp_path_factory):
    """The emulator process shared by the session (use the `idp` fixture in tests)."""
    server = Emulator(tmp_path_factory.mktemp("idp-emulator") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def idp(idp_server, request):
    """A live emulator with fresh data: reset to the test's scenario before the test."""
    marker = request.node.get_closest_marker("idp_scenario")
    idp_server.scenario = marker.args[0] if marker else "default"
    idp_server.reset()
    return idp_server
