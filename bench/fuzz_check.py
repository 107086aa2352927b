"""Fuzz check (not a timed test): no 5xx from the IdP or the Espace Client, whatever the request.

    pip install -e '.[bench]'
    python bench/fuzz_check.py [--requests 20000] [--threads 8] [--seed 11]

Starts `idp-emulator up` on free ports with a fresh data folder, then:
1. schemathesis generates requests for every operation of the control API from its OpenAPI document
   (/_emulator/api/openapi.json);
2. a form/endpoint fuzzer sends every route of both apps (as their URL maps list them, with real
   journey ids and a signed-in browser as well as garbage) GET/POST/PUT/DELETE requests with random
   query strings, form and JSON bodies, huge values, unicode, CRLF, bad Hosts and cookies.
It prints the requests sent and every 5xx seen (method, URL, status), and exits 1 if there is one.
The Espace Client's deliberate French "IdP unreachable" page (503, data-screen="client-error") is not a fault.
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode, urljoin

import requests
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bakertillyrecette.onmicrosoft.com"
TENANT_ID = "0b7c2f4e-5a1d-4c3b-9e8f-2a6d1c4b7e90"
CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
PASSWORD = "Demo-2026!"
LOG = os.path.join(tempfile.gettempdir(), "fuzz_check-servers.log")  # the servers' output, tracebacks included
OAUTH_PARAMS = ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "prompt", "login_hint",
                "domain_hint", "max_age", "code_challenge", "code_challenge_method", "response_mode",
                "post_logout_redirect_uri", "id_token_hint", "grant_type", "code", "code_verifier", "refresh_token",
                "client_secret", "client_assertion", "client_assertion_type", "device_code", "username", "password",
                "assertion", "requested_token_use", "code", "to", "email", "tenant", "invitation", "limit", "channel",
                "loginfmt", "passwd", "otc", "csrf_token", "key", "user_code", "error", "next"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def junk(rng):
    """One random value: garbage of many kinds (unicode digits, CRLF, huge numbers, nesting, very long)."""
    kind = rng.randrange(16)
    if kind == 0:
        return ""
    if kind == 1:
        return str(rng.choice([-1, 0, 1, 2**31, 2**63, 10**20, 10**400]))
    if kind == 2:
        return "\u00b2\u0663\u2167\U0001F600é\u202e\u0000"[: rng.randrange(1, 8)]
    if kind == 3:
        return "http://localhost:8401/\r\nSet-Cookie: x=1"
    if kind == 4:
        return "a" * rng.choice([255, 256, 2049, 70_000])
    if kind == 5:
        return rng.choice(["javascript:alert(1)", "https://evil.example/", "//evil.example", "http://[::1", "%", "%zz"])
    if kind == 6:
        return "[" * rng.choice([10, 1000, 100_000])
    if kind == 7:
        return rng.choice(["openid", "openid profile offline_access", "https://graph.microsoft.com/.default",
                           "api://x/.default User.Read", "none", "login", "consent", "select_account", "S256", "plain",
                           "code", "id_token", "form_post", "fragment", "query", "authorization_code",
                           "refresh_token", "client_credentials", "password"])
    if kind == 8:
        return rng.choice([CLIENT_ID, TENANT_ID, TENANT, "client.demo@example.fr", "organizations", "common"])
    if kind == 9:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 40)))
    if kind == 10:
        return "' OR 1=1 --"
    if kind == 11:
        return "{{7*7}}<script>x</script>"
    if kind == 12:
        return "../../etc/passwd"
    if kind == 13:
        return str(rng.random())
    if kind == 14:
        return "x@" + "a" * 300 + ".fr"
    return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(1, 20)))


def junk_json(rng, depth=0):
    kind = rng.randrange(9 if depth < 3 else 5)
    if kind == 0:
        return junk(rng)
    if kind == 1:
        return rng.choice([None, True, False, 0, -1, 2**64, 1e308, 3.5])
    if kind == 2:
        return rng.choice(["registered", "invited", "mfa_sms", "mfa_totp", "mfa_authenticator", "default", "puzzle",
                           "loop", "off", "delay", "fail", "timeout"])
    if kind == 3:
        return "client.demo@example.fr"
    if kind == 4:
        return rng.randrange(-10**20, 10**20)
    if kind in (5, 6):
        keys = ["email", "state", "password", "phone", "name", "scenario", "offset_seconds", "captcha", "mfa",
                "sms", "email_delivery", "push", "number", "locked", "locked_seconds", "consents", "tenant", "send",
                "redirect_url", "invitedUserEmailAddress", "inviteRedirectUrl", "sendInvitationMessage", "code"]
        return {rng.choice(keys) if rng.random() < 0.8 else junk(rng)[:30]: junk_json(rng, depth + 1)
                for _ in range(rng.randrange(0, 6))}
    return [junk_json(rng, depth + 1) for _ in range(rng.randrange(0, 4))]


class Fuzzer:
    def __init__(self, idp, client, seed, threads):
        self.idp, self.client = idp, client
        self.rng = random.Random(seed)
        self.threads = threads
        self.sent = 0
        self.failures = []
        self.lock = threading.Lock()
        self.real_paths = {idp: [], client: []}
        self.sessions = {}

    # --- recording --------------------------------------------------------------------------
    def record(self, method, url, response, note=""):
        with self.lock:
            self.sent += 1
            if response is None:
                self.failures.append((method, url[:200], "connection error " + note))
                return
            if response.status_code >= 500:
                deliberate = (response.status_code == 503 and b'data-screen="client-error"' in response.content)
                if not deliberate:
                    self.failures.append((method, url[:200], response.status_code))

    def send(self, session, method, url, **kwargs):
        try:
            response = session.request(method, url, allow_redirects=False, timeout=60, **kwargs)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError, ValueError):
            return None  # refused by requests itself: never sent, not counted
        except requests.RequestException as exc:
            self.record(method, url, None, repr(exc)[:200])
            return None
        self.record(method, url, response)
        return response

    # --- real state: a signed-in browser, journey ids -----------------------------------------
    def sign_in(self):
        """A browser signed in to the Espace Client through the IdP (requests follows the screens)."""
        session = requests.Session()
        answers = {"email": ("idSIButton9", {"loginfmt": "client.demo@example.fr"}),
                   "password": ("idSIButton9", {"passwd": PASSWORD}), "kmsi": ("idSIButton9", {}),
                   "app-consent": ("idBtn_Accept", {})}
        response = session.get(f"{self.client}/login", timeout=60)
        for _ in range(15):
            soup = BeautifulSoup(response.text, "html.parser")
            screen = soup.body.get("data-screen") if soup.body else None
            if screen is not None and response.url.startswith(self.idp):
                self.real_paths[self.idp].append(response.url[len(self.idp):])
            if screen not in answers:
                break
            button, data = answers[screen]
            form = soup.find(id=button).find_parent("form")
            fields = {i["name"]: i.get("value", "") for i in form.find_all("input")
                      if i.get("name") and i.get("type") != "submit"}
            element = soup.find(id=button)
            if element.get("name"):
                fields[element["name"]] = element.get("value", "")
            fields.update(data)
            response = session.post(urljoin(response.url, form.get("action") or response.url), data=fields, timeout=60)
        for link in BeautifulSoup(response.text, "html.parser").find_all("a", href=True):
            if link["href"].startswith("/"):
                self.real_paths[self.client].append(link["href"])
        self.sessions["signed-in"] = session
        return response.url

    def journeys(self, count=30):
        """Start cookieful journeys and remember their screen URLs (real flow ids)."""
        for _ in range(count):
            session = requests.Session()
            query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "scope": "openid profile",
                               "redirect_uri": f"{self.client}/auth/callback", "state": "s", "nonce": "n"})
            response = session.get(f"{self.idp}/{TENANT}/oauth2/v2.0/authorize?{query}", timeout=60)
            self.real_paths[self.idp].append(response.url[len(self.idp):])
            self.sessions.setdefault("journeys", []).append(session)

    # --- routes -------------------------------------------------------------------------------
    @staticmethod
    def rules(create):
        with tempfile.TemporaryDirectory() as folder:
            app = create(folder)
            return [(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}), list(rule.arguments))
                    for rule in app.url_map.iter_rules() if rule.endpoint != "static"]

    def path_for(self, rule, arguments):
        path = rule
        for name in arguments:
            value = junk(self.rng) if self.rng.random() < 0.7 else self.rng.choice(
                [TENANT, TENANT_ID, "client.demo@example.fr", "1", "x", "organizations", "common", "consumers"])
            path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", quote(value[:300], safe="") or "x", path)
        return path

    def one(self, base, rules):
        rng = self.rng
        if rng.random() < 0.3 and self.real_paths[base]:
            path = rng.choice(self.real_paths[base]).split("?")[0]
            methods = ["GET", "POST"]
        else:
            rule, methods, arguments = rng.choice(rules)
            path = self.path_for(rule, arguments)
        method = rng.choice(methods + ["GET", "POST", "PUT", "DELETE"]) if rng.random() < 0.2 else rng.choice(methods)
        params = {rng.choice(OAUTH_PARAMS): junk(rng)[:3000] for _ in range(rng.randrange(0, 6))}
        kwargs = {"params": params}
        body = rng.randrange(6)
        if method != "GET" and body == 0:
            kwargs["data"] = {rng.choice(OAUTH_PARAMS): junk(rng)[:5000] for _ in range(rng.randrange(0, 8))}
        elif method != "GET" and body == 1:
            kwargs["data"] = json.dumps(junk_json(rng)).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif method != "GET" and body == 2:
            kwargs["data"] = junk(rng).encode("utf-8", "surrogatepass")[:200_000]
            kwargs["headers"] = {"Content-Type": rng.choice(["application/json", "application/x-www-form-urlencoded",
                                                              "multipart/form-data; boundary=x", "text/plain"])}
        elif method != "GET" and body == 3:
            kwargs["files"] = {rng.choice(["document", "file", "x"]): (junk(rng)[:300] or "f", b"%PDF-1.4 " + os.urandom(64))}
            kwargs["data"] = {"note": junk(rng)[:300]}
        headers = dict(kwargs.get("headers", {}))
        roll = rng.random()
        if roll < 0.05:
            headers["Host"] = rng.choice(["evil.example", "localhost:1", "[::1", "a" * 300, "127.0.0.1:0", ""])
        elif roll < 0.1:
            headers["Origin"] = rng.choice(["https://evil.example", "null", "http://127.0.0.1"])
        elif roll < 0.15:
            headers["Authorization"] = rng.choice(["Bearer " + junk(rng)[:500], "Basic " + junk(rng)[:100], "Bearer"])
        elif roll < 0.2:
            headers["Cookie"] = f"ESTSAUTH={junk(rng)[:200]}; session={junk(rng)[:200]}"
        if headers:
            # What an HTTP client can send: latin-1, one line (the server never sees anything else).
            kwargs["headers"] = {k: v.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")
                                 for k, v in headers.items()}
        session_roll = rng.random()
        if session_roll < 0.3 and "signed-in" in self.sessions:
            session = self.sessions["signed-in"]
        elif session_roll < 0.5 and self.sessions.get("journeys"):
            session = rng.choice(self.sessions["journeys"])
        else:
            session = requests.Session()
        url = base + (path if path.startswith("/") else "/" + path)
        return session, method, url, kwargs

    def run_routes(self, count, idp_rules, client_rules):
        batch = []
        for index in range(count):
            base, rules = (self.idp, idp_rules) if index % 3 else (self.client, client_rules)
            batch.append(self.one(base, rules))
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(lambda args: self.send(args[0], args[1], args[2], **args[3]), batch))


def run_schemathesis(fuzzer, examples):
    """schemathesis over the control API: every operation, `examples` generated cases each."""
    import hypothesis
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{fuzzer.idp}/_emulator/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    session = requests.Session()
    for operation in operations:
        if operation.path == "/reset" and operation.method.upper() == "POST":
            budget = max(5, examples // 20)  # each reset reloads the scenario: keep them few
        else:
            budget = examples

        @hypothesis.settings(max_examples=budget, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(hypothesis.HealthCheck),
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        @hypothesis.given(case=operation.as_strategy())
        def check(case):
            method = case.method.upper()
            url = f"{fuzzer.idp}/_emulator/api{case.formatted_path}"
            try:
                response = case.call(base_url=f"{fuzzer.idp}/_emulator/api", session=session, timeout=60)
            except requests.RequestException as exc:
                fuzzer.record(method, url, None, repr(exc)[:200])
                return
            fuzzer.record(method, url, response)

        check()
    return len(operations)


def start(folder):
    idp_port, client_port, smtp_port = free_port(), free_port(), free_port()
    env = {**os.environ, "IDP_DATA_DIR": str(folder / "idp"), "CLIENT_DATA_DIR": str(folder / "client"),
           "IDP_PASSWORD_HASH": "pbkdf2:sha256:1000", "PYTHONPATH": str(ROOT), "HOME": str(folder)}
    process = subprocess.Popen([sys.executable, "-m", "idp.cli", "up", "--idp-port", str(idp_port),
                                "--client-port", str(client_port), "--smtp-port", str(smtp_port), "--workers", "2"],
                               env=env, cwd=folder, stdout=open(LOG, "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    idp, client = f"http://localhost:{idp_port}", f"http://localhost:{client_port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"up exited: {Path(LOG).read_text()[-3000:]}")
        try:
            if requests.get(f"{client}/", timeout=2).status_code < 500 and \
                    requests.get(f"{idp}/{TENANT}/v2.0/.well-known/openid-configuration", timeout=2).ok:
                return process, idp, client
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("up did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests of the route fuzzer")
    parser.add_argument("--examples", type=int, default=100, help="schemathesis cases per control API operation")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from client_app import create_app as create_client_app
    from idp import create_app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        process, idp, client = start(folder)
        try:
            fuzzer = Fuzzer(idp, client, args.seed, args.threads)
            started = time.monotonic()
            operations = run_schemathesis(fuzzer, args.examples)
            print(f"schemathesis: {operations} control API operations, {fuzzer.sent} requests, "
                  f"{len(fuzzer.failures)} 5xx ({time.monotonic() - started:.0f} s)", flush=True)
            requests.post(f"{idp}/_emulator/api/reset", json={}, timeout=60)
            landed = fuzzer.sign_in()
            fuzzer.journeys()
            idp_rules = Fuzzer.rules(lambda d: create_app({"IDP_DATA_DIR": d, "SECRET_KEY": "x"}))
            client_rules = Fuzzer.rules(lambda d: create_client_app({"CLIENT_DATA_DIR": d}))
            before = fuzzer.sent
            fuzzer.run_routes(args.requests, idp_rules, client_rules)
            print(f"route fuzzer: {len(idp_rules)} IdP routes, {len(client_rules)} Espace Client routes, signed in at "
                  f"{landed}, {fuzzer.sent - before} requests", flush=True)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    dropped = [f for f in fuzzer.failures if isinstance(f[2], str)]
    print(f"TOTAL: {fuzzer.sent} requests sent, {len(fuzzer.failures) - len(dropped)} 5xx, "
          f"{len(dropped)} connections closed without a response ({time.monotonic() - started:.0f} s)")
    seen = {}
    for method, url, status in fuzzer.failures:
        key = (method, re.sub(r"\?.*", "", url)[:120], status)
        seen[key] = seen.get(key, 0) + 1
    for (method, url, status), times in sorted(seen.items(), key=lambda item: -item[1])[:60]:
        print(f"  {status} {method} {url}  x{times}")
    if fuzzer.failures:
        print(f"The servers' tracebacks: {LOG}")
    sys.exit(1 if fuzzer.failures else 0)


if __name__ == "__main__":
    main()
