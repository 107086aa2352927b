"""Sign-in benchmark of the idp-emulator (issue 2): run `python bench/signin_bench.py`.

Starts the real server (`idp-emulator serve`, gunicorn) as a subprocess on a free loopback port with a
temporary IDP_DATA_DIR, plays the browser and the relying party with a small http.client-based client
(one keep-alive connection and one cookie jar per simulated browser, csrf_token parsed with a regex),
and prints the figures next to the targets of issue 2. Every loop is bounded by count and by time;
only loopback traffic. See bench/README.md for the method.

Options: --quick (shorter phases), --workers 2,4 (worker counts for the load phases), --json PATH.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from seed_values import CLIENT_ID, CLIENT_SECRET, FAST_HASH, PASSWORD, REDIRECT_URI, TENANT

ROOT = Path(__file__).resolve().parent.parent
DEMO_USER = "client.demo@example.fr"
EXTRA_USERS = 8
CONCURRENCY = 8
BUDGET_S = 165  # the whole run stays under ~3 minutes: later phases shrink or are skipped past this

# Targets of issue 2, and peers for scale.
TARGETS = {
    "cold_start_s": 0.5,
    "signin_serial_per_s": 60,
    "signin_serial_ms": 15,
    "signin_concurrent_per_s": 150,
    "discovery_per_s": 3000,
    "peak_rss_mb": 120,
}
PEERS = ("oidc-provider-mock: 0.85 s cold start, 680 discovery req/s, 13 flows/s; "
         "node-oidc-provider: 0.56 s, ~2,800 req/s, 55 flows/s")

CSRF = re.compile(rb'name="csrf_token"\s+value="([^"]+)"')
SCREEN = re.compile(rb'<body[^>]*data-screen="([^"]*)"')
FORM = re.compile(rb'<form\b([^>]*)>(.*?)</form>', re.S)
ACTION = re.compile(rb'\saction="([^"]*)"')


# ---------------------------------------------------------------- a light HTTP client ---------

class Browser:
    """One simulated browser: a keep-alive http.client connection and a cookie jar (one host)."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def forget_cookies(self):
        self.cookies.clear()

    def request(self, method, path, body=None, headers=None):
        """Return (status, headers dict (lower-case names), body bytes); keeps cookies; no redirects."""
        hdrs = {"Host": f"127.0.0.1:{self.port}", "Accept": "text/html,application/json"}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            if isinstance(body, dict):
                body = urlencode(body).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt or not reused:  # a keep-alive connection the server closed: one retry
                    raise
        headers_out = {}
        for name, value in response.getheaders():
            name = name.lower()
            if name == "set-cookie":
                self._store_cookie(value)
            else:
                headers_out[name] = value
        if response.will_close:
            self.close()
        return response.status, headers_out, data

    def _store_cookie(self, header):
        first, _, attrs = header.partition(";")
        name, _, value = first.strip().partition("=")
        low = attrs.lower()
        if not value or "max-age=0" in low or "expires=thu, 01 jan 1970" in low:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


class RawClient:
    """A minimal keep-alive HTTP/1.1 client for the discovery phase: prepared request bytes, one socket.

    http.client costs the benchmark process about 0.2 ms of CPU per request, which at thousands of
    requests a second is taken from the server on a 2-core machine; this costs a fraction of that.
    """

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buffer = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def get(self, path):
        """Return the status of GET path; the body is read and checked for its length."""
        for attempt in (0, 1):
            reused = self.sock is not None
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.buffer = b""
            try:
                self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode())
                return self._response()
            except (ConnectionError, OSError):
                self.close()
                if attempt or not reused:
                    raise

    def _response(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        fields = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
        length = int(fields.get(b"content-length", b"0"))
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        self.buffer = rest[length:]
        if fields.get(b"connection", b"").strip() == b"close":
            self.close()
        return status

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("server closed the connection")
        self.buffer += chunk


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class SignInError(AssertionError):
    pass


class RelyingParty:
    """What the Espace Client does: discovery and JWKS once, then code -> token -> userinfo per sign-in."""

    def __init__(self, port, discovery_path=f"/{TENANT}/v2.0/.well-known/openid-configuration"):
        api = Browser(port)
        status, _, body = api.request("GET", discovery_path)
        assert status == 200, status
        self.config = json.loads(body)
        status, _, body = api.request("GET", urlsplit(self.config["jwks_uri"]).path)
        assert status == 200, status
        self.keys = KeySet.import_key_set(json.loads(body))
        self.issuer = self.config["issuer"]
        self.token_path = urlsplit(self.config["token_endpoint"]).path
        self.userinfo_path = urlsplit(self.config["userinfo_endpoint"]).path
        api.close()

    def check_id_token(self, token, nonce):
        claims = jwt.decode(token, self.keys, algorithms=["RS256"]).claims
        if claims.get("aud") != CLIENT_ID or claims.get("nonce") != nonce or claims.get("iss") != self.issuer:
            raise SignInError(f"bad id_token claims {claims}")
        if claims.get("exp", 0) <= time.time():
            raise SignInError("expired id_token")
        return claims


def _screen(body):
    match = SCREEN.search(body)
    return match.group(1).decode() if match else None


def _post_form(browser, url, body, fields):
    """Submit the form of the page that holds the first of `fields` (pages also hold e.g. the back-arrow form)."""
    marker = f'name="{next(iter(fields))}"'.encode()
    for attrs, inner in FORM.findall(body):
        if marker in inner:
            break
    else:
        raise SignInError(f"no form with {marker!r} on {url}")
    match = CSRF.search(inner)
    if not match:
        raise SignInError(f"no csrf_token in the form on {url}")
    action = ACTION.search(attrs)
    target = action.group(1).decode() if action and action.group(1) else url
    return browser.request("POST", target, {"csrf_token": match.group(1).decode(), **fields})


def sign_in(browser, rp, email, steps=None):
    """One full returning sign-in in a new browser session; return the token response.

    authorize (login_hint) -> password -> kmsi [-> app-consent] -> redirect with code -> token
    (id_token checked with the JWKS: signature, aud, nonce, iss) -> userinfo.
    """
    browser.forget_cookies()
    clock = time.perf_counter
    t = clock()

    def lap(name):
        nonlocal t
        if steps is not None:
            now = clock()
            steps.setdefault(name, []).append(now - t)
            t = now

    verifier, challenge = pkce()
    nonce, state = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urlencode({"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                       "scope": "openid profile email offline_access User.Read", "state": state, "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256", "login_hint": email})
    status, headers, body = browser.request("GET", f"/{TENANT}/oauth2/v2.0/authorize?{query}")
    lap("authorize")
    location = headers.get("location")
    for _ in range(8):  # at most a handful of screens
        if status != 302 or not location:
            raise SignInError(f"expected a redirect, got {status}: {body[:200]!r}")
        if location.startswith(REDIRECT_URI):
            break
        url = urlsplit(location)
        path = url.path + (f"?{url.query}" if url.query else "")
        status, headers, body = browser.request("GET", path)
        screen = _screen(body)
        lap(f"GET {screen}")
        if status != 200:
            raise SignInError(f"screen {path} answered {status}")
        if screen == "password":
            fields = {"passwd": PASSWORD}
        elif screen == "kmsi":
            fields = {"yes": "Oui"}
        elif screen == "app-consent":
            fields = {"accept": "1"}
        else:
            raise SignInError(f"unexpected screen {screen!r} at {path}")
        status, headers, body = _post_form(browser, path, body, fields)
        lap(f"POST {screen}")
        location = headers.get("location")
    else:
        raise SignInError("too many screens")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if params.get("state") != state or "code" not in params:
        raise SignInError(f"bad callback {location}")
    status, _, body = browser.request("POST", rp.token_path, {
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": verifier})
    lap("POST token (code)")
    if status != 200:
        raise SignInError(f"token endpoint {status}: {body[:300]!r}")
    token = json.loads(body)
    rp.check_id_token(token["id_token"], nonce)
    lap("client: id_token check")
    status, _, body = browser.request("GET", rp.userinfo_path, headers={"Authorization": f"Bearer {token['access_token']}"})
    lap("GET userinfo")
    if status != 200 or json.loads(body).get("email") != email:
        raise SignInError(f"userinfo {status}: {body[:200]!r}")
    return token


def refresh(browser, rp, refresh_token):
    status, _, body = browser.request("POST", rp.token_path, {
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "openid profile email offline_access User.Read"})
    if status != 200:
        raise SignInError(f"refresh {status}: {body[:300]!r}")
    token = json.loads(body)
    if not token.get("refresh_token") or token["refresh_token"] == refresh_token:
        raise SignInError("refresh token not rotated")
    return token["refresh_token"]


# ---------------------------------------------------------------- the server ---------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_DATA_DIR=str(data_dir), IDP_PASSWORD_HASH=FAST_HASH, PYTHONUNBUFFERED="1",
               # The dev mailbox's SMTP server still starts (its cost is part of the cold start), on a
               # free loopback port rather than the fixed 8425 that a developer's server may hold.
               IDP_SMTP_PORT=str(free_port()))
    # Benchmark the source tree this script belongs to (ahead of any installed copy).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return with_bytecode(env)


def with_bytecode(env):
    """Let the servers keep their compiled bytecode, as an installed copy does: a shell with
    PYTHONDONTWRITEBYTECODE would make every cold start compile every module from source."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path.home() / ".cache" / "idp-emulator-bench" / "pycache")
    return env


def idp_command(*args):
    return [sys.executable, "-m", "idp.cli", *args]


class Server:
    ready_path = f"/{TENANT}/v2.0/.well-known/openid-configuration"  # answers 200 once the server is up

    def __init__(self, data_dir, workers=2, threads=4):
        self.data_dir = Path(data_dir)
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.process = None
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"

    def env(self):
        return server_env(self.data_dir)

    def command(self):
        return idp_command("serve", "--port", str(self.port), "--workers", str(self.workers), "--threads", str(self.threads))

    def start(self, timeout=30.0):
        """Start the server; return seconds from process start to discovery answering 200."""
        self.log = open(self.log_path, "wb")
        path = self.ready_path
        t0 = time.perf_counter()
        self.process = subprocess.Popen(self.command(), env=self.env(), stdout=self.log, stderr=subprocess.STDOUT,
                                        cwd=str(self.data_dir.parent))
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.005)
        raise RuntimeError("server did not answer in time")

    def pids(self):
        """The gunicorn master and every descendant (its workers)."""
        if self.process is None:
            return []
        children = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def cpu_seconds(self):
        """CPU time (user + system) used so far by the server's processes."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return ticks / os.sysconf("SC_CLK_TCK")

    def memory(self):
        """Return (sum VmHWM MB, sum VmRSS MB, sum PSS MB, processes, largest VmHWM MB) over the server's process tree."""
        hwm = rss = pss = largest = 0
        pids = self.pids()
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                peak = int(fields["VmHWM"].split()[0])
                hwm += peak
                largest = max(largest, peak)
                rss += int(fields["VmRSS"].split()[0])
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            except (OSError, KeyError):
                continue
        return hwm / 1024, rss / 1024, pss / 1024, len(pids), largest / 1024

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()


def write_seed(folder, users):
    """seeds/default plus `users` extra registered users (already consented to the Espace Client)."""
    shutil.copytree(ROOT / "seeds" / "default", folder)
    with open(folder / "users.yaml", "a", encoding="utf-8") as f:
        f.write("\n# Benchmark users\n")
        for email in users:
            f.write(f'- email: {email}\n  password: "{PASSWORD}"\n  name: Bench {email.split("@")[0]}\n'
                    f"  state: registered\n  consents: [{CLIENT_ID}]\n")


def prepare_data_dir(tmp, users):
    """A data folder with keys, database and the seeds loaded (`idp-emulator seed PATH`)."""
    data = tmp / "data"
    seed = tmp / "seed"
    write_seed(seed, users)
    result = subprocess.run(idp_command("seed", str(seed)), env=server_env(data), capture_output=True, text=True,
                            timeout=120, cwd=str(tmp))
    if result.returncode != 0:
        raise RuntimeError(f"seed failed: {result.stdout}{result.stderr}")
    return data


# ---------------------------------------------------------------- phases -------------------------

class Phase:
    """Run `work(i, state)` in `threads` threads until `count` operations or `seconds` elapsed."""

    def __init__(self, threads, seconds, count, setup, work):
        self.threads, self.seconds, self.count = threads, seconds, count
        self.setup, self.work = setup, work

    def run(self):
        done = [0]
        lock = threading.Lock()
        errors = []
        latencies = []
        ready = threading.Barrier(self.threads + 1)
        go = threading.Event()
        stop_at = [0.0]

        def runner(i):
            state = self.setup(i)
            ready.wait()
            go.wait()
            local = []
            try:
                while time.perf_counter() < stop_at[0]:
                    with lock:
                        if done[0] >= self.count:
                            break
                        done[0] += 1
                    t = time.perf_counter()
                    self.work(i, state)
                    local.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - reported, ends the phase for this thread
                errors.append(repr(exc))
            finally:
                with lock:
                    latencies.extend(local)
                close = getattr(state, "close", None) or (state.get("close") if isinstance(state, dict) else None)
                if close:
                    close()

        pool = [threading.Thread(target=runner, args=(i,), daemon=True) for i in range(self.threads)]
        for t in pool:
            t.start()
        ready.wait()
        cpu0, t0 = time.process_time(), time.perf_counter()
        stop_at[0] = t0 + self.seconds
        go.set()
        for t in pool:
            t.join(self.seconds + 60)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        if errors:
            raise RuntimeError(f"{len(errors)} thread(s) failed: {errors[:3]}")
        n = len(latencies)
        lat = sorted(latencies)
        return {
            "ops": n, "seconds": elapsed, "per_s": n / elapsed if elapsed else 0.0,
            "mean_ms": 1000 * statistics.fmean(lat) if lat else 0.0,
            "p50_ms": 1000 * lat[n // 2] if lat else 0.0,
            "p95_ms": 1000 * lat[min(n - 1, int(n * 0.95))] if lat else 0.0,
            "client_cpu": cpu / elapsed if elapsed else 0.0,  # cores used by this benchmark process
        }


def bench_discovery(port, seconds):
    paths = [f"/{TENANT}/v2.0/.well-known/openid-configuration", f"/{TENANT}/discovery/v2.0/keys"]

    def work(i, client):
        status = client.get(paths[client.n % 2])
        client.n += 1
        if status != 200:
            raise RuntimeError(f"discovery answered {status}")

    def setup(i):
        client = RawClient(port)
        client.n = i
        return client

    return Phase(CONCURRENCY, seconds, 10**7, setup, work).run()


def bench_signins(port, rp, users, threads, seconds, count, steps=None):
    def setup(i):
        return Browser(port)

    def work(i, browser):
        sign_in(browser, rp, users[i % len(users)], steps)

    return Phase(threads, seconds, count, setup, work).run()


def bench_refresh(port, rp, users, threads, seconds, count):
    def setup(i):
        browser = Browser(port)
        token = sign_in(browser, rp, users[i % len(users)])
        return {"browser": browser, "rt": token["refresh_token"], "close": browser.close}

    def work(i, state):
        state["rt"] = refresh(state["browser"], rp, state["rt"])

    return Phase(threads, seconds, count, setup, work).run()


# ---------------------------------------------------------------- report -------------------------

ROWS = []


def row(name, value, unit, target=None, better="higher", note=""):
    if target is None:
        verdict = ""
    elif better == "higher":
        verdict = "OK" if value >= target else "MISS"
    else:
        verdict = "OK" if value <= target else "MISS"
    target_text = "" if target is None else f"{'>=' if better == 'higher' else '<='} {target:g}"
    ROWS.append({"name": name, "value": value, "unit": unit, "target": target_text, "verdict": verdict, "note": note})
    print(f"  {name:<44} {value:>9.2f} {unit:<10} {target_text:>9} {verdict:<4} {note}", flush=True)


def cold_starts(runs, data_dir, deadline, threads):
    """Seconds from process start to discovery answering, for `runs` servers on data_dir(i).

    Past `deadline` (a very slow machine) it stops after the first run rather than make the benchmark longer.
    """
    times = []
    for i in range(runs):
        if times and time.perf_counter() > deadline:
            break
        server = Server(data_dir(i), workers=2, threads=threads)
        try:
            times.append(server.start())
        finally:
            server.stop()
    return times


def server_cpu(server, phase):
    """Run a load phase; add the server's CPU milliseconds per operation to its figures."""
    before = server.cpu_seconds()
    r = phase()
    r["server_ms"] = 1000 * (server.cpu_seconds() - before) / r["ops"] if r["ops"] else 0.0
    return r


def memory_rows(server):
    hwm, rss, pss, nproc, largest = server.memory()
    row("peak RSS (sum of VmHWM, master+workers)", hwm, "MB", TARGETS["peak_rss_mb"], "lower",
        note=f"{nproc} processes; now RSS {rss:.0f} MB")
    row("  memory in use (PSS, shared pages once)", pss, "MB", TARGETS["peak_rss_mb"], "lower",
        note="what the processes take from the machine; RSS counts each page shared after fork once per process")
    row("  largest process (its VmHWM)", largest, "MB",
        note="what the peak RSS of a server running as one process measures; no verdict")


def machine_speed():
    """Milliseconds for a fixed pure-Python loop: this VM's speed drifts, so figures carry it for comparison."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return 1000 * best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (a smoke run)")
    parser.add_argument("--workers", default="2,4", help="gunicorn worker counts for the load phases")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (serve's default: 4; 1 = sync)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    seconds = 1.5 if args.quick else 5.0
    workers_list = [int(w) for w in args.workers.split(",") if w.strip()]
    users = [f"bench.user{i}@example.fr" for i in range(1, EXTRA_USERS + 1)]
    started = time.perf_counter()
    print(f"idp-emulator sign-in benchmark (issue 2) - Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    print(f"  peers: {PEERS}")
    load = os.getloadavg()[0]
    print(f"  load average before: {load:.2f}" + ("  (WARNING: the machine is busy; figures will be low and noisy)"
                                                  if load > 0.5 else ""))
    speed = machine_speed()
    print(f"  machine speed: a 1M-step Python loop takes {speed:.0f} ms (lower is faster; compare runs with it)")
    print(f"  {'figure':<44} {'value':>9} {'unit':<10} {'target':>9}")

    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp_name:
        tmp = Path(tmp_name)

        # Cold start: fresh data folder (keys generated, database created and seeded), then warm.
        runs = 1 if args.quick else 3

        def fresh_dir(i):
            (tmp / f"fresh{i}").mkdir()
            return tmp / f"fresh{i}" / "data"

        fresh = cold_starts(runs, fresh_dir, started + BUDGET_S * 0.25, args.threads)
        row("cold start, fresh data dir (median)", statistics.median(fresh), "s", TARGETS["cold_start_s"], "lower",
            f"runs {', '.join(f'{x:.3f}' for x in fresh)}")
        (tmp / "main").mkdir()
        data = prepare_data_dir(tmp / "main", users)
        warm = cold_starts(runs, lambda i: data, started + BUDGET_S * 0.4, args.threads)
        row("cold start, warm data dir (median)", statistics.median(warm), "s", TARGETS["cold_start_s"], "lower",
            f"runs {', '.join(f'{x:.3f}' for x in warm)}")

        for index, workers in enumerate(workers_list):
            left = BUDGET_S - (time.perf_counter() - started)
            if left < 20:
                print(f"-- gunicorn --workers {workers}: skipped, the time budget is spent", flush=True)
                continue
            # Share what is left between the remaining worker settings (5 phases of `seconds` each, plus setup).
            seconds = max(1.0, min(seconds, (left / (len(workers_list) - index) - 8) / 4.2))
            kind = "sync workers" if args.threads == 1 else "gthread workers, keep-alive"
            print(f"-- gunicorn --workers {workers} --threads {args.threads} ({kind}), phases of {seconds:.1f} s",
                  flush=True)
            server = Server(data, workers=workers, threads=args.threads)
            server.start()
            try:
                rp = RelyingParty(server.port)
                # Warm-up: every worker and every user once (consent screen handled if shown).
                warm_browser = Browser(server.port)
                for email in users + [DEMO_USER] * 2 * workers:
                    sign_in(warm_browser, rp, email)
                warm_browser.close()

                r = bench_discovery(server.port, seconds)
                row(f"discovery+JWKS, {CONCURRENCY} clients", r["per_s"], "req/s", TARGETS["discovery_per_s"],
                    note=f"p50 {r['p50_ms']:.2f} ms; bench client used {r['client_cpu']:.2f} core")

                steps = {} if workers == workers_list[0] else None
                r = server_cpu(server, lambda: bench_signins(server.port, rp, [DEMO_USER], 1, seconds, 1000, steps))
                row("sign-ins, one at a time", r["per_s"], "/s", TARGETS["signin_serial_per_s"],
                    note=f"{r['ops']} sign-ins; server CPU {r['server_ms']:.1f} ms per sign-in")
                row("  mean per sign-in", r["mean_ms"], "ms", TARGETS["signin_serial_ms"], "lower",
                    note=f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; client {r['client_cpu']:.2f} core")

                r = server_cpu(server, lambda: bench_signins(server.port, rp, users, CONCURRENCY, seconds, 5000))
                row(f"sign-ins, {CONCURRENCY} concurrent", r["per_s"], "/s", TARGETS["signin_concurrent_per_s"],
                    note=f"{r['ops']} sign-ins; p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; "
                         f"client {r['client_cpu']:.2f} core; server CPU {r['server_ms']:.1f} ms per sign-in")

                r = bench_refresh(server.port, rp, [DEMO_USER], 1, seconds * 0.6, 2000)
                row("refresh, one at a time", r["per_s"], "req/s",
                    note=f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms")
                r = bench_refresh(server.port, rp, users, CONCURRENCY, seconds * 0.6, 5000)
                row(f"refresh, {CONCURRENCY} concurrent", r["per_s"], "req/s",
                    note=f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; client {r['client_cpu']:.2f} core")

                memory_rows(server)
            finally:
                server.stop()
            if steps:
                print("   per step, one at a time (median ms): " + ", ".join(
                    f"{name} {1000 * statistics.median(v):.2f}" for name, v in steps.items()))

    total = time.perf_counter() - started
    print(f"done in {total:.1f} s (load average now {os.getloadavg()[0]:.2f}; "
          f"machine speed {speed:.0f} ms before, {machine_speed():.0f} ms after)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": ROWS, "seconds": total}, indent=2))


if __name__ == "__main__":
    main()
