"""The figures of issue 14, side by side in one run: `python bench/compare_bench.py [--quick]`.

Four providers, measured in alternating turns (round by round, batch by batch) so that the machine's drift
hits all alike, with the light client of signin_bench.py:

- this checkout's `idp-emulator serve` (PYTHONPATH = this checkout);
- the same at commit 28cc068 (`git archive` into a temporary folder, or --base DIR);
- the floor app (bench/floor_app.py), started through the same idp.serving function and default options
  as this checkout's `serve`, so that it follows a change of server;
- panva's oidc-provider 9 (bench/peer/panva.mjs, installed with npm into ~/.cache/idp-emulator-bench/npm),
  signed in through its own default login and consent pages.

It prints each figure for each, the ratios the issue asks for with OK/MISS, and each figure's ratio to
panva's. Not a test: the figures depend on the machine. See bench/README.md.
"""
import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import signin_bench as sb
from floor_bench import FloorServer
from seed_values import CLIENT_ID, CLIENT_SECRET, FAST_HASH, PASSWORD, REDIRECT_URI, TENANT

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE_REV = "28cc068"
NPM_DIR = Path(os.environ.get("IDP_BENCH_NPM_DIR") or Path.home() / ".cache" / "idp-emulator-bench" / "npm")
PANVA_PACKAGE = "oidc-provider@9"
DEMO_USER = sb.DEMO_USER
REFRESH_CLIENTS = 4

THIS, BASE, FLOOR, PANVA = "this checkout", BASE_REV, "floor", "panva"


# ---------------------------------------------------------------- the providers -------------------

def emulator_env(root, data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "CLIENT_"))}
    env.update(IDP_DATA_DIR=str(data_dir), IDP_PASSWORD_HASH=FAST_HASH, PYTHONUNBUFFERED="1",
               IDP_SMTP_PORT=str(sb.free_port()), PYTHONPATH=str(root))
    return sb.with_bytecode(env)


class Emulator(sb.Server):
    """`python -m idp.cli serve --port P` of one checkout, with serve's default options."""

    def __init__(self, root, data_dir):
        super().__init__(data_dir)
        self.root = Path(root)

    def env(self):
        return emulator_env(self.root, self.data_dir)

    def command(self):
        return [sys.executable, "-m", "idp.cli", "serve", "--port", str(self.port)]


class Floor(FloorServer):
    """bench/floor_app.py with no --workers/--threads: it takes `serve`'s defaults and idp.serving's function."""

    def env(self):
        env = sb.server_env(self.data_dir)
        env["PYTHONPATH"] = str(ROOT)
        return env

    def command(self):
        return [sys.executable, str(HERE / "floor_app.py"), "--port", str(self.port), "--data", str(self.data_dir),
                "--users", ",".join(self.users)]


class Panva(sb.Server):
    ready_path = "/.well-known/openid-configuration"

    def __init__(self, data_dir, users):
        super().__init__(data_dir)
        self.users = users

    def env(self):
        return dict(os.environ, BENCH_PASSWORD=PASSWORD, BENCH_CLIENT_ID=CLIENT_ID, BENCH_CLIENT_SECRET=CLIENT_SECRET,
                    BENCH_REDIRECT_URI=REDIRECT_URI)

    def command(self):
        return ["node", str(HERE / "peer" / "panva.mjs"), "--port", str(self.port), "--data", str(self.data_dir),
                "--modules", str(NPM_DIR / "node_modules"), "--users", ",".join(self.users)]


def install_panva():
    """npm install oidc-provider@9 into the cache folder (once); return its version."""
    package = NPM_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not package.exists():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        if not (NPM_DIR / "package.json").exists():
            (NPM_DIR / "package.json").write_text('{"name": "idp-emulator-bench-peer", "private": true}\n')
        print(f"  installing {PANVA_PACKAGE} into {NPM_DIR} ...", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", PANVA_PACKAGE],
                       cwd=NPM_DIR, check=True, timeout=600)
    return json.loads(package.read_text())["version"]


def base_checkout(tmp, rev, given):
    """A checkout of `rev`: the folder given, else `git archive rev` of this repository unpacked in tmp."""
    if given:
        return Path(given).resolve()
    folder = tmp / f"checkout-{rev}"
    folder.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", rev], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise RuntimeError(f"git archive {rev} failed")
    return folder


def seeded_data_dir(root, folder, users):
    """`idp-emulator seed` of that checkout: its seeds/default plus the bench users, in folder/data."""
    folder.mkdir(parents=True)
    seed = folder / "seed"
    shutil.copytree(root / "seeds" / "default", seed)
    with open(seed / "users.yaml", "a", encoding="utf-8") as f:
        f.write("\n# Benchmark users\n")
        for email in users:
            f.write(f'- email: {email}\n  password: "{PASSWORD}"\n  name: Bench {email.split("@")[0]}\n'
                    f"  state: registered\n  consents: [{CLIENT_ID}]\n")
    data = folder / "data"
    result = subprocess.run([sys.executable, "-m", "idp.cli", "seed", str(seed)], env=emulator_env(root, data),
                            capture_output=True, text=True, timeout=180, cwd=str(folder))
    if result.returncode != 0:
        raise RuntimeError(f"seed ({root}) failed: {result.stdout}{result.stderr}")
    return data


# ---------------------------------------------------------------- panva's pages -----------------------

PANVA_SCOPE = "openid profile email offline_access"
HIDDEN_PROMPT = re.compile(rb'name="prompt" value="([a-z]+)"')


class PanvaParty(sb.RelyingParty):
    def __init__(self, port):
        super().__init__(port, "/.well-known/openid-configuration")
        self.authorize_path = urlsplit(self.config["authorization_endpoint"]).path


def _path(location):
    url = urlsplit(location)
    return url.path + (f"?{url.query}" if url.query else "")


def panva_sign_in(browser, rp, email):
    """authorize -> its login page (login, password) -> its consent page ("Continue") -> code -> token
    (id_token checked with its JWKS) -> userinfo; 9 requests, in a new browser session."""
    browser.forget_cookies()
    verifier, challenge = sb.pkce()
    nonce, state = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": PANVA_SCOPE, "state": state, "nonce": nonce, "code_challenge": challenge,
                       "code_challenge_method": "S256", "login_hint": email, "prompt": "consent"})
    status, headers, body = browser.request("GET", f"{rp.authorize_path}?{query}")
    for _ in range(12):
        location = headers.get("location")
        if status in (302, 303) and location:
            if location.startswith(REDIRECT_URI):
                break
            status, headers, body = browser.request("GET", _path(location))
            continue
        if status != 200:
            raise sb.SignInError(f"panva answered {status}: {body[:300]!r}")
        match = interaction_form(body)
        if match is None:
            raise sb.SignInError(f"no interaction form: {body[:300]!r}")
        action, prompt = match
        fields = {"prompt": prompt}
        if prompt == "login":
            fields.update(login=email, password=PASSWORD)
        status, headers, body = browser.request("POST", action, fields)
    else:
        raise sb.SignInError("too many panva steps")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if params.get("state") != state or "code" not in params:
        raise sb.SignInError(f"bad callback {location}")
    status, _, body = browser.request("POST", rp.token_path, {
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier})
    if status != 200:
        raise sb.SignInError(f"token endpoint {status}: {body[:300]!r}")
    token = json.loads(body)
    rp.check_id_token(token["id_token"], nonce)
    status, _, body = browser.request("GET", rp.userinfo_path, headers={"Authorization": f"Bearer {token['access_token']}"})
    if status != 200 or json.loads(body).get("email") != email:
        raise sb.SignInError(f"userinfo {status}: {body[:200]!r}")
    return token


def interaction_form(body):
    """(action, prompt) of the page's form that carries the hidden `prompt` field, or None."""
    for attrs, inner in sb.FORM.findall(body):
        prompt = HIDDEN_PROMPT.search(inner)
        if prompt:
            action = sb.ACTION.search(attrs)
            return _path(action.group(1).decode()), prompt.group(1).decode()
    return None


def refresh(browser, rp, refresh_token, scope):
    status, _, body = browser.request("POST", rp.token_path, {
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": scope})
    if status != 200:
        raise sb.SignInError(f"refresh {status}: {body[:300]!r}")
    token = json.loads(body)
    if not token.get("refresh_token") or token["refresh_token"] == refresh_token:
        raise sb.SignInError("refresh token not rotated")
    return token["refresh_token"]


class Side:
    """One provider under test: its server, its relying party, how it signs in and what it answers."""

    def __init__(self, name, server, panva=False, refreshes=True):
        self.name, self.server, self.panva, self.refreshes = name, server, panva, refreshes
        self.rp = None

    def start(self):
        self.server.start()
        self.rp = PanvaParty(self.server.port) if self.panva else sb.RelyingParty(self.server.port)

    def sign_in(self, browser, email):
        return (panva_sign_in if self.panva else sb.sign_in)(browser, self.rp, email)

    def refresh(self, browser, token):
        scope = PANVA_SCOPE if self.panva else "openid profile email offline_access User.Read"
        return refresh(browser, self.rp, token, scope)

    def discovery_paths(self):
        return [urlsplit(self.rp.config["jwks_uri"]).path,
                "/.well-known/openid-configuration" if self.panva else f"/{TENANT}/v2.0/.well-known/openid-configuration"]


# ---------------------------------------------------------------- phases ----------------------------------

def serial_batch(side, users, batch, out):
    """`batch` sign-ins one at a time; add their latencies, wall time and server CPU (seconds) to out.

    The server's CPU comes from /proc in clock ticks (10 ms): it is summed over all batches, not taken per batch."""
    browser = sb.Browser(side.server.port)
    cpu, t0 = side.server.cpu_seconds(), time.perf_counter()
    for i in range(batch):
        t = time.perf_counter()
        side.sign_in(browser, users[i % len(users)])
        out["latencies"].append(time.perf_counter() - t)
    out["wall"] += time.perf_counter() - t0
    out["cpu"] += side.server.cpu_seconds() - cpu
    browser.close()


def concurrent_phase(side, users, seconds):
    def setup(i):
        return sb.Browser(side.server.port)

    def work(i, browser):
        side.sign_in(browser, users[i % len(users)])

    return sb.server_cpu(side.server, lambda: sb.Phase(sb.CONCURRENCY, seconds, 10**6, setup, work).run())


def discovery_phase(side, seconds):
    paths = side.discovery_paths()

    def setup(i):
        client = sb.RawClient(side.server.port)
        client.n = i
        return client

    def work(i, client):
        status = client.get(paths[client.n % 2])
        client.n += 1
        if status != 200:
            raise RuntimeError(f"{side.name}: discovery answered {status}")

    return sb.Phase(sb.CONCURRENCY, seconds, 10**7, setup, work).run()


def refresh_phase(side, users, seconds):
    def setup(i):
        browser = sb.Browser(side.server.port)
        token = side.sign_in(browser, users[i % len(users)])
        return {"browser": browser, "rt": token["refresh_token"], "close": browser.close}

    def work(i, state):
        state["rt"] = side.refresh(state["browser"], state["rt"])

    return sb.Phase(REFRESH_CLIENTS, seconds, 10**6, setup, work).run()


# ---------------------------------------------------------------- `idp-emulator up` ------------------------

class Up(sb.Server):
    """`idp-emulator up` of one checkout on free ports (its own data, client data and instance-state folders)."""

    def __init__(self, root, folder, data_template):
        folder.mkdir(parents=True)
        shutil.copytree(data_template, folder / "data")
        super().__init__(folder / "data")
        self.root, self.folder = Path(root), folder
        self.client_port = sb.free_port()

    def env(self):
        env = emulator_env(self.root, self.data_dir)
        env.update(CLIENT_DATA_DIR=str(self.folder / "client"), XDG_STATE_HOME=str(self.folder / "state"))
        return env

    def command(self):
        return [sys.executable, "-m", "idp.cli", "up", "--idp-port", str(self.port),
                "--client-port", str(self.client_port)]

    def start(self, timeout=60.0):
        seconds = super().start(timeout)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:  # the Espace Client too
            browser = sb.Browser(self.client_port)
            try:
                status, _, _ = browser.request("GET", "/")
                if status < 500:
                    return seconds
            except OSError:
                pass
            finally:
                browser.close()
            time.sleep(0.05)
        raise RuntimeError("the Espace Client of `up` did not answer")


def espace_client_sign_in(up, email):
    """Sign in once through the Espace Client: /login -> the IdP's screens -> /auth/callback -> its page."""
    browsers = {up.client_port: sb.Browser(up.client_port), up.port: sb.Browser(up.port)}
    status, headers, body = browsers[up.client_port].request("GET", f"/login?{urlencode({'login_hint': email})}")
    seen, port, browser, path = [], up.client_port, None, None
    for _ in range(16):
        location = headers.get("location")
        if status in (301, 302, 303) and location:
            url = urlsplit(location)
            port = url.port or port
            browser = browsers[port]
            path = _path(location)
            status, headers, body = browser.request("GET", path)
            continue
        if status != 200:
            raise sb.SignInError(f"`up` sign-in: {status} after {seen}: {body[:300]!r}")
        if port == up.client_port:
            for each in browsers.values():
                each.close()
            return seen
        screen = sb._screen(body)
        seen.append(screen)
        fields = {"password": {"passwd": PASSWORD}, "kmsi": {"yes": "Oui"}, "app-consent": {"accept": "1"}}.get(screen)
        if fields is None:
            raise sb.SignInError(f"`up` sign-in: unexpected screen {screen!r} after {seen}")
        status, headers, body = sb._post_form(browser, path, body, fields)
    raise sb.SignInError(f"`up` sign-in: too many steps {seen}")


# ---------------------------------------------------------------- report ----------------------------------

def verdict(ok):
    return "OK" if ok else "MISS"


def fmt(value, digits):
    return "-" if value is None else f"{value:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about 1 to 2 minutes")
    parser.add_argument("--base", help=f"an existing checkout of the base commit (default: git archive {BASE_REV})")
    parser.add_argument("--base-rev", default=BASE_REV, help=f"the commit to compare with (default {BASE_REV})")
    parser.add_argument("--no-peer", action="store_true", help="leave out panva's oidc-provider")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    quick = args.quick
    cold_rounds, serial_rounds, batch = (3, 3, 10) if quick else (7, 8, 20)
    load_rounds, load_seconds = (2, 1.5) if quick else (3, 3.0)
    disc_seconds, refresh_seconds = (1.0, 1.0) if quick else (2.0, 2.0)
    up_rounds = 1 if quick else 2
    users = [f"bench.user{i}@example.fr" for i in range(1, sb.EXTRA_USERS + 1)]
    started = time.perf_counter()
    base_label = args.base_rev
    print(f"idp-emulator, issue 14 figures side by side ({'quick' if quick else 'full'} run) - "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    print(f"  load average before: {os.getloadavg()[0]:.2f}; machine speed: 1M-step loop {sb.machine_speed():.0f} ms")
    peer_version = None if args.no_peer else install_panva()

    with tempfile.TemporaryDirectory(prefix="idp-compare-") as tmp_name:
        tmp = Path(tmp_name)
        base_root = base_checkout(tmp, args.base_rev, args.base)
        print(f"  {THIS}: {ROOT} ({git_describe(ROOT)}); {base_label}: {base_root}; "
              f"panva: {'left out' if args.no_peer else 'oidc-provider ' + peer_version}", flush=True)
        data = {THIS: seeded_data_dir(ROOT, tmp / "this", users),
                BASE: seeded_data_dir(base_root, tmp / "base", users)}
        (tmp / "floor").mkdir()
        (tmp / "panva").mkdir()

        def make(name):
            if name == THIS:
                return Side(name, Emulator(ROOT, data[THIS]))
            if name == BASE:
                return Side(name, Emulator(base_root, data[BASE]))
            if name == FLOOR:
                return Side(name, Floor(tmp / "floor" / "data", users), refreshes=False)
            return Side(name, Panva(tmp / "panva" / "data", users), panva=True)

        names = [THIS, BASE, FLOOR] + ([] if args.no_peer else [PANVA])
        emulators = [THIS, BASE]

        # Cold start on a warm data dir, alternating (the order rotates each round; a first round makes the
        # floor's and panva's data and warms the disk cache: not counted).
        print(f"-- cold start, {cold_rounds} rounds", flush=True)
        cold = {name: [] for name in names}
        for round_ in range(cold_rounds + 1):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                side = make(name)
                try:
                    seconds = side.server.start()
                finally:
                    side.server.stop()
                if round_:
                    cold[name].append(seconds)

        sides = {name: make(name) for name in names}
        try:
            for side in sides.values():
                side.start()
                browser = sb.Browser(side.server.port)
                for email in users * 2:  # each worker and each user, before anything is measured
                    side.sign_in(browser, email)
                browser.close()

            print(f"-- sign-ins one at a time: {serial_rounds} rounds of {batch} per provider", flush=True)
            serial = {name: {"latencies": [], "wall": 0.0, "cpu": 0.0} for name in names}
            for round_ in range(serial_rounds):
                for name in rotate(names, round_):
                    serial_batch(sides[name], users, batch, serial[name])

            print(f"-- sign-ins, {sb.CONCURRENCY} clients: {load_rounds} rounds of {load_seconds:g} s", flush=True)
            concurrent = {name: [] for name in names}
            for round_ in range(load_rounds):
                for name in rotate(names, round_):
                    concurrent[name].append(concurrent_phase(sides[name], users, load_seconds))

            print(f"-- discovery + JWKS, {sb.CONCURRENCY} clients: {load_rounds} rounds of {disc_seconds:g} s", flush=True)
            discovery = {name: [] for name in names}
            for round_ in range(load_rounds):
                for name in rotate(names, round_):
                    discovery[name].append(discovery_phase(sides[name], disc_seconds)["per_s"])

            refreshing = [name for name in names if sides[name].refreshes]
            print(f"-- refresh, {REFRESH_CLIENTS} clients: {load_rounds} rounds of {refresh_seconds:g} s", flush=True)
            refreshes = {name: [] for name in refreshing}
            for round_ in range(load_rounds):
                for name in rotate(refreshing, round_):
                    refreshes[name].append(refresh_phase(sides[name], users, refresh_seconds)["per_s"])

            memory = {name: sides[name].server.memory() for name in names}
        finally:
            for side in sides.values():
                side.server.stop()

        print(f"-- idp-emulator up: {up_rounds} round(s), one sign-in through the Espace Client each", flush=True)
        up_pss = {name: [] for name in emulators}
        up_procs = {}
        for round_ in range(up_rounds):
            for name in rotate(emulators, round_):
                root = ROOT if name == THIS else base_root
                up = Up(root, tmp / f"up-{round_}-{'this' if name == THIS else 'base'}", data[name])
                try:
                    up.start()
                    espace_client_sign_in(up, DEMO_USER)
                    _, _, pss, nproc, _ = up.memory()
                    up_pss[name].append(pss)
                    up_procs[name] = nproc
                finally:
                    up.stop()

    # ------------------------------------------------------------ the figures
    def each(function, among=names):
        return {name: function(name) if name in among else None for name in names}

    figures = [
        ("cold start, warm data dir (median)", "s", 3, each(lambda n: statistics.median(cold[n]))),
        ("sign-ins one at a time", "/s", 1, each(lambda n: len(serial[n]["latencies"]) / serial[n]["wall"])),
        ("  p50 per sign-in", "ms", 1, each(lambda n: 1000 * statistics.median(serial[n]["latencies"]))),
        ("  server CPU per sign-in", "ms", 2, each(lambda n: 1000 * serial[n]["cpu"] / len(serial[n]["latencies"]))),
        (f"sign-ins, {sb.CONCURRENCY} clients (median phase)", "/s", 1,
         each(lambda n: statistics.median(r["per_s"] for r in concurrent[n]))),
        (f"  server CPU per sign-in, {sb.CONCURRENCY} clients", "ms", 2,
         each(lambda n: statistics.median(r["server_ms"] for r in concurrent[n]))),
        (f"discovery + JWKS, {sb.CONCURRENCY} clients (median)", "req/s", 0, each(lambda n: statistics.median(discovery[n]))),
        (f"refresh, {REFRESH_CLIENTS} clients (median)", "req/s", 0,
         each(lambda n: statistics.median(refreshes[n]), refreshing)),
        ("PSS of serve's process tree", "MB", 1, each(lambda n: memory[n][2])),
        ("PSS of up's process tree (after a sign-in)", "MB", 1, each(lambda n: statistics.median(up_pss[n]), emulators)),
    ]
    peer = PANVA if PANVA in names else None
    head = (f"  {'figure':<44} {'unit':<5} {THIS:>14} {base_label:>9} {FLOOR:>8} {PANVA:>8}  "
            f"{'this/' + base_label:>13} {'this/floor':>10} {'this/panva':>10}")
    print(head)
    out_rows = []
    for label, unit, digits, values in figures:
        this = values[THIS]
        row = (f"  {label:<44} {unit:<5} {fmt(this, digits):>14} {fmt(values[BASE], digits):>9} "
               f"{fmt(values[FLOOR], digits):>8} {fmt(values.get(PANVA), digits):>8}  "
               f"{fmt(ratio(this, values[BASE]), 2):>13} {fmt(ratio(this, values[FLOOR]), 2):>10} "
               f"{fmt(ratio(this, values.get(PANVA)) if peer else None, 2):>10}")
        print(row)
        out_rows.append({"figure": label, "unit": unit, **values})
    v = {label: values for label, _, _, values in figures}

    def get(label):
        return v[label]

    serial_rate = get("sign-ins one at a time")
    conc_rate = get(f"sign-ins, {sb.CONCURRENCY} clients (median phase)")
    cpu = get("  server CPU per sign-in")
    cold_s = get("cold start, warm data dir (median)")
    targets = [
        (f"sign-ins one at a time, this / {base_label}", ratio(serial_rate[THIS], serial_rate[BASE]), ">= 2", lambda x: x >= 2),
        (f"sign-ins, {sb.CONCURRENCY} clients, this / {base_label}", ratio(conc_rate[THIS], conc_rate[BASE]), ">= 2",
         lambda x: x >= 2),
        ("server CPU per sign-in, this / floor (one at a time)", ratio(cpu[THIS], cpu[FLOOR]), "<= 1.25",
         lambda x: x <= 1.25),
        (f"cold start, this / {base_label}", ratio(cold_s[THIS], cold_s[BASE]), "<= 0.8", lambda x: x <= 0.8),
        ("PSS of serve (MB)", get("PSS of serve's process tree")[THIS], "<= 100", lambda x: x <= 100),
        ("PSS of up (MB)", get("PSS of up's process tree (after a sign-in)")[THIS], "<= 160", lambda x: x <= 160),
    ]
    print("  targets of issue 14:")
    for label, value, target, test in targets:
        print(f"    {label:<52} {fmt(value, 2):>8}  {target:<8} {verdict(test(value))}")
    print(f"  processes: serve {', '.join(f'{n} {memory[n][3]}' for n in names)}; "
          f"up {', '.join(f'{n} {up_procs.get(n)}' for n in emulators)}")
    print("  (PSS: Pss of /proc/<pid>/smaps_rollup summed over the process tree; pages shared with other processes, "
          "e.g. another Python's, count in part)")
    total = time.perf_counter() - started
    print(f"done in {total:.0f} s (load average now {os.getloadavg()[0]:.2f}; machine speed after {sb.machine_speed():.0f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": out_rows, "seconds": total}, indent=2, default=str))


def rotate(names, round_):
    k = round_ % len(names)
    return names[k:] + names[:k]


def git_describe(root):
    result = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return result.stdout.strip() + (" + uncommitted changes" if dirty else "")


if __name__ == "__main__":
    main()
