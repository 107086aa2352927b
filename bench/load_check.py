"""Load check of the idp-emulator (issue 11): run `python bench/load_check.py`.

Not a timed test: it prints what happened under load, on the embedded SQLite database and on a real
PostgreSQL server (Debian's `postgresql` package, started in a temporary folder as in the tests):

1. 200 invited clients sign up at once (200 threads) on `serve --workers 4`: email, new password, profile,
   the code from the dev mailbox (control API), captcha (QA mode `auto`), tenant consent. Then the control
   API's user list must hold each of the 200 exactly once, with an account: 0 errors, 0 lost, 0 duplicated.
2. 32 clients sign in and refresh for 60 s (signin_bench's light http.client browsers): every unexpected
   answer and every connection reset is counted; both must be 0.

Options: --signups N, --seconds S (phase 2), --databases sqlite,postgresql.
"""
import argparse
import http.client
import json
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from bs4 import BeautifulSoup

from seed_values import CLIENT_ID, PASSWORD, REDIRECT_URI, TENANT
from signin_bench import ROOT, Browser, RelyingParty, Server, SignInError, free_port, refresh, server_env, sign_in

sys.path.insert(0, str(ROOT))
from tests.conftest import PostgresServer  # noqa: E402  (the tests' throwaway PostgreSQL server)

NEW_PASSWORD = "Nouveau-Acces-2026"
SIGNIN_USERS = 32
RESETS = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, requests.ConnectionError)


def write_seed(folder, invited, registered):
    """seeds/default plus `invited` users (no account yet) and `registered` ones (consented)."""
    shutil.copytree(ROOT / "seeds" / "default", folder)
    with open(folder / "users.yaml", "a", encoding="utf-8") as f:
        f.write("\n# Load check users\n")
        for email in invited:
            f.write(f"- email: {email}\n  name: Invite {email.split('@')[0]}\n  state: invited\n")
        for email in registered:
            f.write(f'- email: {email}\n  password: "{PASSWORD}"\n  name: Bench {email.split("@")[0]}\n'
                    f"  state: registered\n  consents: [{CLIENT_ID}]\n")
    (folder / "settings.yaml").write_text("captcha: auto\n", encoding="utf-8")


class LoadServer(Server):
    def __init__(self, data_dir, database_url, workers):
        super().__init__(data_dir, workers=workers)
        self.database_url = database_url

    def env(self):
        env = server_env(self.data_dir)
        if self.database_url:
            env["IDP_DATABASE_URL"] = self.database_url
        return env


def start(tmp, database_url, invited, registered, workers=4):
    """Seed (idp-emulator seed) and start `serve --workers N` on the database."""
    import subprocess

    seed, data = tmp / "seed", tmp / "data"
    write_seed(seed, invited, registered)
    server = LoadServer(data, database_url, workers)
    env = server.env()
    result = subprocess.run([sys.executable, "-m", "idp.cli", "seed", str(seed)], env=env, capture_output=True,
                            text=True, timeout=300, cwd=str(tmp))
    if result.returncode:
        raise RuntimeError(f"seed failed: {result.stdout}{result.stderr}")
    import signin_bench

    original = signin_bench.server_env
    signin_bench.server_env = lambda _: env  # Server.start reads it: the same environment, with the database
    try:
        server.start(timeout=60)
    finally:
        signin_bench.server_env = original
    return server


def _form(page, button):
    form = page.find(id=button).find_parent("form")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input")
              if i.get("name") and i.get("type") not in ("submit", "checkbox")}
    element = page.find(id=button)
    if element.get("name"):
        fields[element["name"]] = element.get("value", "")
    return form.get("action"), fields


def sign_up(base, email):
    """One invited client's account creation, screen by screen; return the screens seen."""
    session = requests.Session()
    query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": "openid profile", "state": "s", "nonce": "n", "code_challenge_method": "S256",
                       "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGrSzlsgSpA"[:43]})
    response = session.get(f"{base}/{TENANT}/oauth2/v2.0/authorize?{query}", timeout=60)
    seen = []
    answers = {"email": {"loginfmt": email}, "signup-password": {"new-password": NEW_PASSWORD},
               "signup-profile": {"birth-day": "14", "birth-month": "7", "birth-year": "1985"},
               "captcha-intro": {}, "captcha": {"choice": "0"}, "tenant-consent": {}}
    for _ in range(15):
        if response.status_code != 200:
            raise SignInError(f"{email}: {response.status_code} at {response.url} after {seen}")
        page = BeautifulSoup(response.text, "html.parser")
        screen = page.body.get("data-screen")
        seen.append(screen)
        if screen.startswith("proofup"):  # the account exists and the tenant is accepted: MFA registration next
            return seen
        if screen == "signup-verify-email":
            messages = session.get(f"{base}/_emulator/api/messages", params={"to": email, "channel": "email"},
                                   timeout=60).json()["messages"]
            data = {"otc": next(m["code"] for m in messages if m.get("code"))}
        elif screen in answers:
            data = answers[screen]
        else:
            raise SignInError(f"{email}: unexpected screen {screen} after {seen}")
        action, fields = _form(page, "idBtn_Accept" if screen == "tenant-consent" else "idSIButton9")
        fields.update(data)
        response = session.post(requests.compat.urljoin(response.url, action or response.url), data=fields,
                                timeout=60)
    raise SignInError(f"{email}: too many screens {seen}")


def check_signups(database, tmp, count):
    invited = [f"inscrit{i:03d}.{secrets.token_hex(2)}@example.fr" for i in range(count)]
    registered = [f"bench{i:02d}@example.fr" for i in range(SIGNIN_USERS)]
    server = start(tmp, None if database == "sqlite" else database, invited, registered)
    base = f"http://127.0.0.1:{server.port}"
    errors, t0 = [], time.perf_counter()
    try:
        with ThreadPoolExecutor(count) as pool:  # every sign-up at once; the server's 4 workers queue them
            for email, outcome in zip(invited, pool.map(lambda e: _try(sign_up, base, e), invited)):
                if isinstance(outcome, Exception):
                    errors.append(f"{email}: {outcome!r}"[:300])
        elapsed = time.perf_counter() - t0
        users = requests.get(f"{base}/_emulator/api/users", timeout=60).json()["users"]
        emails = [u["email"] for u in users]
        with_account = {u["email"] for u in users if u.get("state") != "invited"}
        lost = [e for e in invited if e not in with_account]
        duplicated = {e for e in emails if emails.count(e) > 1}
        return server, registered, {"signups": count, "seconds": round(elapsed, 1), "errors": errors,
                                    "lost": lost, "duplicated": sorted(duplicated)}
    except BaseException:
        server.stop()
        raise


def _try(function, *args):
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 (counted and printed)
        return exc


def check_signins(server, registered, seconds):
    """SIGNIN_USERS threads, each signs in, then refreshes and signs in again until the time is up."""
    rp = RelyingParty(server.port)
    stop = time.perf_counter() + seconds
    lock = threading.Lock()
    counts = {"sign-ins": 0, "refreshes": 0, "unexpected": 0, "resets": 0}
    samples = []

    def run(email):
        browser = Browser(server.port)
        while time.perf_counter() < stop:
            try:
                token = sign_in(browser, rp, email)
                with lock:
                    counts["sign-ins"] += 1
                refresh_token = token["refresh_token"]
                for _ in range(3):
                    refresh_token = refresh(browser, rp, refresh_token)
                    with lock:
                        counts["refreshes"] += 1
            except RESETS as exc:
                with lock:
                    counts["resets"] += 1
                    samples.append(repr(exc))
                browser = Browser(server.port)
            except Exception as exc:  # noqa: BLE001 (an unexpected answer: counted and shown)
                with lock:
                    counts["unexpected"] += 1
                    samples.append(repr(exc)[:300])
                browser = Browser(server.port)

    threads = [threading.Thread(target=run, args=(email,)) for email in registered]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {**counts, "samples": samples[:5]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    postgres = None
    failed = False
    try:
        for database in args.databases.split(","):
            tmp = Path(tempfile.mkdtemp(prefix=f"idp-load-{database}-"))
            url = "sqlite"
            if database == "postgresql":
                postgres = postgres or PostgresServer().start()
                url = postgres.create_database(f"load_{secrets.token_hex(3)}")
            server, registered, signups = check_signups(url, tmp, args.signups)
            try:
                signins = check_signins(server, registered, args.seconds)
            finally:
                server.stop()
                shutil.rmtree(tmp, ignore_errors=True)
            print(f"{database}: {signups['signups']} concurrent sign-ups on 4 workers in {signups['seconds']} s: "
                  f"{len(signups['errors'])} errors, {len(signups['lost'])} lost, {len(signups['duplicated'])} duplicated users")
            for line in signups["errors"][:5]:
                print("   ", line)
            print(f"{database}: {SIGNIN_USERS} clients signing in and refreshing for {args.seconds:g} s: "
                  f"{signins['sign-ins']} sign-ins, {signins['refreshes']} refreshes, "
                  f"{signins['unexpected']} unexpected errors, {signins['resets']} connection resets")
            for line in signins["samples"]:
                print("   ", line)
            failed |= bool(signups["errors"] or signups["lost"] or signups["duplicated"] or signins["unexpected"]
                           or signins["resets"])
    finally:
        if postgres:
            postgres.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
