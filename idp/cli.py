"""The `idp-emulator` command: up, serve, client, invite, seed, reset, keys rotate (and device helpers)."""
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from . import config, instances


def _app(**overrides):
    """The IdP application; a data folder or database it cannot use stops the command in one line."""
    from sqlalchemy.exc import OperationalError

    from . import create_app

    try:
        return create_app(overrides or None)
    except OSError as exc:
        fail(f"cannot use the data folder: {exc.strerror or exc} ({exc.filename or 'a file in it'}); "
             "check that it exists, is writable and has free space")
    except OperationalError as exc:
        fail(f"cannot use the database: {str(exc.orig).strip().splitlines()[0]} "
             "(a read-only or full data folder, or a database server that is down?)")
    except config.SettingError as exc:  # one line saying what the setting must be
        fail(str(exc))


SCENARIO = "default"  # what `up` loads on first run and with --reset


def ensure_seeded(app, reset=False, idp_url=None, client_url=None):
    """Load seeds/default on first run (or again with reset); the URLs make the seeded invitations' links."""
    from sqlalchemy import select

    from . import seeds
    from .extensions import db
    from .models import Tenant

    from .database import startup_lock

    # Two `serve` started together on an empty database: one seeds, the other then finds the tenant.
    with app.app_context(), startup_lock(db.engine, app.config["IDP_DATA_DIR"]):
        if reset:
            seeds.wipe()
        if db.session.scalar(select(Tenant.id)) is None:
            seeds.load(SCENARIO, idp_url=idp_url, client_url=client_url)
            return True
    return False


def fail(message):
    """Stop with one line on stderr and a non-zero exit: what a person and a script both read at once."""
    click.echo(f"idp-emulator: {message}", err=True)
    sys.exit(1)


def _port_taken(host, port, option):
    """Where host:port is held by another program (bound, or listening on another address of localhost), or None.

    Binds the way gunicorn does (SO_REUSEADDR, so a closed connection's TIME_WAIT is not an owner). On
    loopback, also tries the other loopback address: a server there would answer the printed localhost URLs.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen(1)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                fail(f"cannot listen on {host} port {port} ({exc.strerror}); check --host and {option}")
            return host
    if host in ("127.0.0.1", "localhost", "::1"):
        for other, other_family in (("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)):
            if other == host:
                continue
            with socket.socket(other_family, socket.SOCK_STREAM) as knock:
                knock.settimeout(0.2)
                try:
                    if knock.connect_ex((other, port)) == 0:
                        return other
                except OSError:  # no IPv6 here
                    pass
    return None


def check_ports(wanted):
    """Fail at once, in one line, when a port is taken or asked twice; wanted: [(port, host, option, what)]."""
    seen = {}
    for port, host, option, what in wanted:
        if port in seen:
            fail(f"port {port} is asked for both {seen[port]} and {what}; choose another with {option}")
        seen[port] = what
    for port, host, option, what in wanted:
        where = _port_taken(host, port, option)
        if where:
            fail(f"port {port} on {where} is already in use (another idp-emulator?); "
                 f"choose another for {what} with {option}")


@click.group()
def main():
    """idp-emulator: the Microsoft sign-up and sign-in journey, offline."""


def server_options(func=None, workers=2):
    """--host, --https, --workers (default: workers), --threads, --debug and --keep-alive."""
    if func is None:
        return lambda func: server_options(func, workers=workers)
    func = click.option("--host", default=lambda: os.environ.get("IDP_HOST", "127.0.0.1"), show_default="127.0.0.1",
                        help="Address to listen on (loopback by default).")(func)
    func = click.option("--https", "use_https", is_flag=True, help="Serve over TLS with a local CA (path printed).")(func)
    func = click.option("--workers", default=workers, show_default=True,
                        help="gunicorn worker processes" + (" of each server (one: `up` serves one developer or "
                                                            "trainer)." if workers == 1 else "."))(func)
    func = click.option("--threads", default=4, show_default=True,
                        help="Threads per worker (gthread workers, keep-alive connections); 1 for sync workers.")(func)
    func = click.option("--debug", is_flag=True, help="Flask's development server (never in front of users).")(func)
    func = click.option("--keep-alive", "keep_alive", default=config.KEEPALIVE_SECONDS, show_default=True,
                        type=click.IntRange(1), help="Seconds an idle keep-alive connection stays open "
                        "(longer than clients keep idle connections; gthread workers, i.e. --threads > 1).")(func)
    return func


def _tls(use_https, host):
    if not use_https:
        return None, None, None
    from .tls import ensure_certificates

    return ensure_certificates(config.data_dir(), hosts=[host])


def smtp_option(func):
    return click.option("--smtp-port", type=click.IntRange(0, 65535), default=None,
                        help="Port of the dev mailbox's SMTP server [default: IDP_SMTP_PORT, else the IdP's port + 25, "
                             "e.g. 8425 for 8400]; 0 for none.")(func)


def demo_option(func):
    return click.option("--demo", is_flag=True,
                        help="Demo mode: the printed guide's codes (email 6152), one captcha round, the guide's dates "
                             "(also IDP_DEMO=1; switchable on the emulator home).")(func)


def _shown(host):
    return "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host


@main.command()
@click.option("--port", default=8400, show_default=True)
@click.option("--no-smtp", is_flag=True,
              help="Do not start the loopback SMTP server of the dev mailbox (also IDP_SMTP=off).")
@smtp_option
@demo_option
@server_options
@click.option("--prepared", is_flag=True, hidden=True,
              help="Started by `up`, which prepared the data folder (prepare-up): with one worker, the app is built "
                   "in the worker only (and the SMTP server runs there).")
def serve(port, host, use_https, workers, threads, debug, no_smtp, smtp_port, keep_alive, demo, prepared):
    """Run the IdP alone."""
    from .devices import smtp
    from .serving import hold_collector

    hold_collector()

    smtp_port = smtp.port_for(port, smtp_port)
    serve_smtp = smtp.enabled(no_smtp) and smtp_port != 0
    check_ports([(port, host, "--port", "the IdP")] + ([(smtp_port, smtp.LOOPBACK, "--smtp-port", "SMTP")]
                                                       if serve_smtp else []))
    ca, cert, key = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    os.environ["IDP_LISTEN_HOST"] = host
    os.environ["IDP_SMTP_PORT"] = str(smtp_port)
    if demo:
        os.environ["IDP_DEMO"] = "1"
    settings = dict(IDP_LISTEN_HOST=host, IDP_SMTP_PORT=smtp_port, **({"IDP_DEMO": True} if demo else {}))

    def build():
        app = _app(**settings)
        if serve_smtp and smtp.start(app, smtp_port) is None:
            fail(f"the SMTP server of the dev mailbox did not start on {smtp.LOOPBACK}:{smtp_port}; "
                 "choose another port with --smtp-port")
        return app

    # One worker shares nothing with the master: the app (and its SMTP server) then lives in the worker alone, not
    # twice, once `up` has checked and seeded the data folder. Otherwise the master builds it and the workers share it.
    alone = prepared and workers == 1 and not debug
    if not alone:
        app = build()
        ensure_seeded(app, idp_url=f"{scheme}://{_shown(host)}:{port}")
    shown = _shown(host)

    def ready():
        if ca:
            click.echo(f"CA certificate: {ca}")
        click.echo(f"IdP listening on {scheme}://{shown}:{port}/", err=False)
        sys.stdout.flush()

    from .serving import serve as run

    run(_in_worker(build) if alone else lambda: app, host, port, workers=workers, threads=threads,
        certfile=str(cert) if cert else None, keyfile=str(key) if key else None, debug=debug, on_ready=ready,
        keepalive=keep_alive, preload=not alone)


@main.command()
@click.option("--idp-port", default=8400, show_default=True)
@click.option("--client-port", default=8401, show_default=True)
@click.option("--reset", is_flag=True, help="Start again from the seeds (the Espace Client's database too).")
@smtp_option
@demo_option
@server_options(workers=1)  # one developer or trainer: each server's second worker would only cost memory
def up(idp_port, client_port, reset, host, use_https, workers, threads, debug, smtp_port, keep_alive, demo):
    """Run the IdP and the Espace Client together, print every URL and account, stop both on Ctrl-C."""
    from .devices import smtp

    has_client = _has_client_app()
    smtp_port = smtp.port_for(idp_port, smtp_port)
    serve_smtp = smtp.enabled() and smtp_port != 0
    # Before anything starts: a taken port must never show another server's pages under our URLs.
    check_ports([(idp_port, host, "--idp-port", "the IdP")]
                + ([(client_port, host, "--client-port", "the Espace Client")] if has_client else [])
                + ([(smtp_port, smtp.LOOPBACK, "--smtp-port", "the dev mailbox's SMTP")] if serve_smtp else []))
    _state_folder()  # where the instance is recorded, for the other commands: usable, or one line now
    for record in instances.running():
        # Two instances on one data folder would share one database, so one mailbox.
        if instances.same_folder(record.get("data_dir"), config.data_dir()):
            fail(f"{config.data_dir()} is already used by the idp-emulator at {record['idp_url']}; "
                 "start another one from another folder or with another IDP_DATA_DIR")
    scheme = "https" if use_https else "http"
    shown = _shown(host)
    idp_url = f"{scheme}://{shown}:{idp_port}"
    client_url = f"{scheme}://{shown}:{client_port}"
    prepared = _prepare_up(idp_url, client_url if has_client else None, host, use_https, reset)
    domain, ca = prepared["domain"], prepared["ca"]
    admin_password = prepared["admin_password"]
    common = (["--host", host, "--workers", str(workers), "--threads", str(threads), "--keep-alive", str(keep_alive)]
              + (["--https"] if use_https else []) + (["--debug"] if debug else []))
    # The SMTP port goes to both servers: the IdP's SMTP server and its invitation mail follow it.
    environment = dict(child_environment(), IDP_SMTP_PORT=str(smtp_port), **({"IDP_DEMO": "1"} if demo else {}))
    children = {}
    stop = _handle_stop_signals(children, idp_url)
    children["the IdP"] = ServerProcess(
        ["serve", "--port", str(idp_port), "--smtp-port", str(smtp_port), "--prepared", *common]
        + ([] if serve_smtp else ["--no-smtp"]), env=environment)
    if has_client:
        env = dict(environment, CLIENT_AUTHORITY=f"{idp_url}/{domain}/v2.0", CLIENT_BASE_URL=client_url)
        if ca:
            env["CLIENT_CA_BUNDLE"] = str(ca)
        children["the Espace Client"] = ServerProcess(["client", "--port", str(client_port), "--prepared", *common],
                                                      env=env)
    waiting = {"the IdP": f"{idp_url}/{domain}/v2.0/.well-known/openid-configuration"}
    if has_client:
        waiting["the Espace Client"] = f"{client_url}/"
    problem = _wait_until_ready(waiting, children, verify=str(ca) if ca else True)
    if problem:
        _stop_children(children)
        fail(problem)
    try:
        instances.register(idp_url=idp_url, client_url=client_url if has_client else None, domain=domain,
                           ca=str(ca) if ca else None, data_dir=str(config.data_dir()),
                           smtp_port=smtp_port if serve_smtp else None)
    except OSError as exc:  # the folder became unusable since: never leave the servers running without `up`
        _stop_children(children)
        fail(_unrecorded(exc))
    lines = [
        "idp-emulator is up (local test environment, not the Microsoft service).",
        f"  Start here:     {client_url}/  (the Espace Client; invite yourself with: idp-emulator invite you@example.fr)"
        if has_client else f"  Start here:     {idp_url}/_emulator/",
    ]
    if has_client:
        lines += [f"  Espace Client:  {client_url}/",
                  f"  Client admin:   {client_url}/admin/invitations  ({admin_password})"]
    lines += [
        f"  IdP discovery:  {idp_url}/{domain}/v2.0/.well-known/openid-configuration",
        f"  Mailbox:        {idp_url}/_emulator/mailbox",
        f"  SMTP:           {smtp.LOOPBACK}:{smtp_port}  (mail sent there lands in the mailbox)"
        if serve_smtp else "  SMTP:           off",
        f"  Phones:         {idp_url}/_emulator/phone/",
        f"  Control API:    {idp_url}/_emulator/api/openapi.json",
        f"  Emulator home:  {idp_url}/_emulator/",
        f"  Presenter view: {idp_url}/_emulator/present  (trainers: the journey, the phone and the guide's steps;"
        f" every screen: {idp_url}/_emulator/screens)",
    ]
    if demo:
        lines.append("  Demo mode:      on (the guide's codes: email 6152; switch it off on the emulator home)")
    if prepared["control_key"]:
        # idp.security: the emulator's pages then need the key; a browser gives it once.
        lines.append(f"  Control key:    the /_emulator/ pages ask for IDP_CONTROL_KEY: open {idp_url}/_emulator/?key=<key> once")
    if ca:
        lines.append(f"  CA certificate: {ca}  (trust it in the browser: see the README)")
    lines += prepared["accounts"]
    lines.append("Press Ctrl-C to stop.")
    click.echo("\n".join(lines))
    sys.stdout.flush()
    _supervise(children, stop)


def _prepare_up(idp_url, client_url, host, use_https, reset):
    """Run `prepare-up` in a process of its own, so that `up`, which then only supervises its servers, never holds
    the application; return its answer, or stop as it did (its messages and exit code, on its own stderr)."""
    import json

    command = [sys.executable, "-P", "-m", "idp.cli", "prepare-up", "--idp-url", idp_url, "--host", host]
    command += (["--client-url", client_url] if client_url else []) + (["--https"] if use_https else [])
    command += ["--reset"] if reset else []
    done = subprocess.run(command, env=child_environment(), stdout=subprocess.PIPE, text=True)
    said = done.stdout.splitlines()
    answer = said.pop() if done.returncode == 0 and said else None
    if said:
        click.echo("\n".join(said))
    if answer is None:
        sys.exit(done.returncode or 1)
    return json.loads(answer)


@main.command("prepare-up", hidden=True)
@click.option("--idp-url", required=True)
@click.option("--client-url", default=None, help="The Espace Client's URL (none: no Espace Client).")
@click.option("--host", required=True)
@click.option("--https", "use_https", is_flag=True)
@click.option("--reset", is_flag=True)
def prepare_up(idp_url, client_url, host, use_https, reset):
    """What `up` prepares before its servers start (seeds, certificates, the Espace Client's URLs, admin password
    and --reset); print, as the last line, a JSON object of what `up` then shows."""
    import json

    from .security import is_loopback

    app = _app()
    ensure_seeded(app, reset=reset, idp_url=idp_url, client_url=client_url)
    ca, _, _ = _tls(use_https, host)
    with app.app_context():
        domain = _tenant_domain()
        if client_url:
            _register_client_urls(os.environ.get("CLIENT_ID") or CLIENT_ID, client_url)
    # Before the Espace Client starts: the admin password it would make at first start is made (and shown) here.
    admin_password = _admin_password(renew=reset) if client_url else None
    if client_url and reset:
        from client_app import create_app as create_client_app
        from client_app import reset_database

        reset_database(create_client_app())
    with app.app_context():
        accounts = _accounts_lines(idp_url)
    # idp.security: the emulator's pages need the key off loopback or when one is set.
    control_key = bool(os.environ.get("IDP_CONTROL_KEY")) or not is_loopback(host)
    click.echo(json.dumps({"domain": domain, "ca": str(ca) if ca else None, "admin_password": admin_password,
                           "accounts": accounts, "control_key": control_key}))


def _admin_password(renew=False):
    """What `up` says of the Espace Client admin page's password: CLIENT_ADMIN_PASSWORD, or the random one made
    now (only its hash is kept, in the client's data folder), or that it was shown when it was made."""
    from client_app import admin_password

    shown = admin_password(renew=renew)
    if shown:
        return f"password: {shown}"
    return ("password: made at first start and shown then; `up --reset` makes a new one, "
            "CLIENT_ADMIN_PASSWORD sets one")


def _accounts_lines(idp_url):
    """The seeded accounts (seeds/default, in its order) with their state now and their password (the seed's,
    when it is still theirs), and one phone link per seeded user with a phone or a second factor."""
    from urllib.parse import quote, urlencode

    from . import seeds
    from .models import User

    try:
        seeded = seeds.validate(seeds.resolve(SCENARIO))[2]
    except seeds.SeedError:
        return []
    pairs = [(item, User.by_email(item["email"])) for item in seeded]
    pairs = [(item, user) for item, user in pairs if user is not None]
    if not pairs:
        return []
    width = max(len(user.email) for _, user in pairs)
    lines = [f"Accounts (seeds/{SCENARIO}):"]
    for item, user in pairs:
        state = user.state + (", locked" if user.is_locked() else "")
        password = item.get("password")
        if user.state == "invited":
            what = f"no password yet: its invitation is in {idp_url}/_emulator/mailbox?{urlencode({'to': user.email})}"
        elif password and user.check_password(password):
            what = f"password {password}"
        else:
            what = "password changed since seeding"
        lines.append(f"  {user.email:<{width}}  {state:<20} {what}")
    phones = [user for _, user in pairs if user.phone or user.mfa_method]
    if phones:
        lines.append("Their phones (Authenticator, SMS):")
        for user in phones:
            key = quote(user.phone, safe="") if user.phone else quote(user.email, safe="@")
            lines.append(f"  {user.email:<{width}}  {idp_url}/_emulator/phone/{key}")
    return lines


# The Espace Client of seeds/default (also the client_app's default CLIENT_ID / CLIENT_SECRET).
CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
CLIENT_SECRET = "espace-client-secret-2026"


def child_environment():
    """The environment of a process `up` starts: this very package first, never a folder of the cwd.

    `prepare-up` (and the guide's own `up`) run with `python -P` (no working directory on sys.path: a data folder
    named `idp` must not shadow the package), so the package's own location goes on PYTHONPATH. The servers,
    forked (ServerProcess), drop the working directory from sys.path themselves.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def _state_folder():
    """The folder of the instance records (for the other commands to find this one), or one line and exit 1."""
    try:
        return instances.state_dir()
    except OSError as exc:
        fail(_unrecorded(exc))


def _unrecorded(exc):
    return (f"cannot record the instance in {instances.state_path()}: {exc.strerror or exc}; "
            "set XDG_STATE_HOME to a folder you can write to")


def _has_client_app():
    """Whether the Espace Client is installed (found, not imported: `up` itself stays without Flask)."""
    from importlib.util import find_spec

    return find_spec("client_app") is not None


def _tenant_domain():
    from sqlalchemy import select

    from .extensions import db
    from .models import Tenant

    tenant = db.session.scalar(select(Tenant).order_by(Tenant.domain))
    return tenant.domain if tenant else "organizations"


def _register_client_urls(client_id, client_url):
    """Add the Espace Client's redirect and post-logout URIs for the host and port it runs on (kept across resets)."""
    from . import seeds

    seeds.register_client_urls(client_id, client_url)


def _wait_until_ready(urls, children, verify=True, timeout=60):
    """Wait until every server answers, so the printed URLs work at once; return what went wrong, or None.

    urls and children are keyed by the server's name ("the IdP"); a server that exits while starting
    (a port taken in between, a bad setting) is a failure, never "up". verify: True, or the CA file to trust.
    """
    deadline = time.monotonic() + timeout
    pending = list(urls.items())
    while pending:
        for name, child in children.items():
            if child.poll() is not None:
                return f"{name} stopped while starting (exit {child.returncode}); see its messages above"
        if time.monotonic() > deadline:
            return f"{pending[0][0]} did not answer at {pending[0][1]} within {timeout} s"
        try:
            if _answers(pending[0][1], verify):
                pending.pop(0)
                continue
        except OSError:
            pass
        time.sleep(0.2)
    return None


def _answers(url, verify=True):
    """Whether an HTTP server answers a GET of url (any status, no redirect followed), within 2 s.

    A bare HTTP/1.0 request on a socket: `up` stays without requests' (or http.client's) imports.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port), timeout=2)
    if parts.scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=None if verify is True else verify)
        connection = context.wrap_socket(connection, server_hostname=parts.hostname)
    with connection:
        connection.sendall(f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        start = b""
        while len(start) < 5:
            chunk = connection.recv(5 - len(start))
            if not chunk:
                break
            start += chunk
        return start == b"HTTP/"


class ServerProcess:
    """One of `up`'s servers: this process forked, running this CLI's `serve` or `client` command with `env`.

    Forked, not a new Python: the server's master shares the interpreter, click and gunicorn, already loaded here,
    with `up` and the other server (copy-on-write) instead of loading them again; `up`'s process tree is 12 MB
    smaller (PSS) and each server starts sooner. `up` has no thread when it forks. Offers the part of
    subprocess.Popen that `up` uses: pid, returncode, poll, wait, send_signal, kill.
    """

    STOPS = {signal.SIGINT, signal.SIGTERM}

    def __init__(self, args, env):
        import gc

        import gunicorn.arbiter  # noqa: F401  (what each server's master runs: loaded once, shared)
        import gunicorn.workers.gthread  # noqa: F401

        from . import serving  # noqa: F401

        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the shared objects stay out of either collector's reach (a pass would copy their pages)
        # Until the child has its own handlers, a Ctrl-C must not run `up`'s handler (stop everything) in it.
        signal.pthread_sigmask(signal.SIG_BLOCK, self.STOPS)
        pid = os.fork()
        if pid == 0:
            self._run(args, env)  # never returns
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.STOPS)
        self.pid, self.returncode = pid, None

    def _run(self, args, env):
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # as a new Python has them
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.STOPS)
            os.environ.clear()
            os.environ.update(env)
            # As `python -P`: never the working directory first on sys.path (a folder named like a package there).
            if sys.path and sys.path[0] in ("", os.getcwd()):
                del sys.path[0]
            sys.argv = [sys.argv[0], *args]
            main.main(args, prog_name="idp-emulator")
            status = 0
        except SystemExit as stop:  # click's exit, fail()'s, gunicorn's (its master's and its workers')
            if isinstance(stop.code, int) or stop.code is None:
                status = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - as the interpreter would: the traceback, exit 1
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status & 0xFF)

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"idp-emulator server {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def _stop_children(children):
    """Stop the servers as Ctrl-C in the terminal does (SIGINT: gunicorn's quick shutdown). SIGTERM's graceful one
    waits out every idle keep-alive connection, seconds per server, when `up` is stopped by a script or a test."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _handle_stop_signals(children, idp_url):
    """Ctrl-C (SIGINT) or SIGTERM: stop every child server, forget the instance, then exit (0, or the code given)."""
    stopping = []

    def stop(*_, code=0):
        if stopping:
            return
        stopping.append(True)
        _stop_children(children)
        instances.unregister(idp_url)
        sys.exit(code)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stop


def _supervise(children, stop):
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                click.echo(f"idp-emulator: {name} stopped (exit {child.returncode}); stopping.", err=True)
                stop(code=1)
        time.sleep(0.5)


@main.command()
@click.option("--port", default=8401, show_default=True)
@click.option("--reset", is_flag=True, help="Wipe the Espace Client's database first.")
@server_options
@click.option("--prepared", is_flag=True, hidden=True,
              help="Started by `up`, which set CLIENT_AUTHORITY and made the admin password (prepare-up): with one "
                   "worker, the app is built in the worker only.")
def client(port, reset, host, use_https, workers, threads, debug, keep_alive, prepared):
    """Run the Espace Client alone; it signs in through CLIENT_AUTHORITY (the local IdP by default)."""
    from .serving import hold_collector

    hold_collector()
    check_ports([(port, host, "--port", "the Espace Client")])
    _, cert, key = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    shown = _shown(host)
    os.environ.setdefault("CLIENT_BASE_URL", f"{scheme}://{shown}:{port}")
    if use_https:
        # Trust the local CA for https calls to the IdP (unless a bundle is configured).
        os.environ.setdefault("CLIENT_CA_BUNDLE", str(config.data_dir() / "tls" / "idp-emulator-ca.pem"))
    from .serving import serve as run

    if prepared and workers == 1 and not debug and not reset:
        # As for the IdP's serve: one worker shares nothing with the master, so the app lives in the worker alone.
        def ready_alone():
            click.echo(f"Espace Client listening on {os.environ['CLIENT_BASE_URL'].rstrip('/')}/ "
                       f"(authority {os.environ['CLIENT_AUTHORITY'].rstrip('/')})")
            sys.stdout.flush()

        def build():
            from client_app import create_app as create_client_app

            return create_client_app()

        run(_in_worker(build), host, port, workers=1, threads=threads, certfile=str(cert) if cert else None,
            keyfile=str(key) if key else None, on_ready=ready_alone, preload=False, keepalive=keep_alive)
        return
    from client_app import create_app as create_client_app
    from client_app import reset_database

    app = create_client_app()
    if reset:
        reset_database(app)

    def ready():
        click.echo(f"Espace Client listening on {app.config['CLIENT_BASE_URL']}/ "
                   f"(authority {app.config['CLIENT_AUTHORITY']})")
        if app.config.get("CLIENT_ADMIN_PASSWORD_CREATED"):  # made at this first start; only its hash is kept
            click.echo(f"Admin password of {app.config['CLIENT_BASE_URL']}/admin/invitations (shown once): "
                       f"{app.config['CLIENT_ADMIN_PASSWORD_CREATED']}")
        sys.stdout.flush()

    run(lambda: app, host, port, workers=workers, threads=threads, certfile=str(cert) if cert else None,
        keyfile=str(key) if key else None, debug=debug, on_ready=ready, keepalive=keep_alive)


def _in_worker(build):
    """The factory of a server whose app is built in its worker: a failure there stops the server (gunicorn's
    "worker failed to boot"), never a worker started again and again."""
    def factory():
        from .serving import hold_collector, release_collector

        hold_collector()
        try:
            app = build()
        except SystemExit:  # fail() said why, in one line
            from gunicorn.arbiter import Arbiter

            sys.exit(Arbiter.WORKER_BOOT_ERROR)
        release_collector()
        return app

    return factory


def idp_url_option(func):
    return click.option("--idp-url", default=None,
                        help="The running IdP to talk to [default: IDP_URL, else the instance `up` runs "
                             "(the one of IDP_DATA_DIR, or the only one)].")(func)


def _instance(idp_url=None):
    """The running instance to talk to (see idp.instances.find); a clear one-line error when several run."""
    try:
        return instances.find(idp_url)
    except instances.InstanceError as exc:
        raise click.ClickException(str(exc)) from None


def _verify(record):
    """What requests should trust for this instance: its local CA for https."""
    url = record.get("idp_url", "")
    if not url.startswith("https://"):
        return True
    ca = record.get("ca") or str(Path(record.get("data_dir") or config.data_dir()) / "tls" / "idp-emulator-ca.pem")
    return ca if Path(ca).exists() else True


@main.command()
@click.argument("email")
@click.option("--name", default="", help="The client's display name.")
@click.option("--redirect-url", default=None,
              help="Where the invitation leads once the account is set up [default: the Espace Client's home].")
@idp_url_option
@click.option("--no-email", is_flag=True, help="Create the invitation without sending the email.")
def invite(email, name, redirect_url, idp_url, no_email):
    """Invite a client: the branded invitation email with its "Je configure mon nouvel accès" link.

    Calls the running IdP's Graph API (POST /v1.0/invitations) with a client-credentials token of the
    Espace Client (CLIENT_ID / CLIENT_SECRET, the seeded ones by default). When no IdP answers, creates
    the invitation directly in the database (and the email lands in the mailbox the same way).
    """
    import requests

    record = _instance(idp_url)
    idp_url = (record.get("idp_url") or os.environ.get("IDP_BASE_URL") or "http://localhost:8400").rstrip("/")
    client_url = os.environ.get("CLIENT_BASE_URL") or record.get("client_url") or "http://localhost:8401"
    redirect_url = redirect_url or client_url.rstrip("/") + "/"
    verify = _verify(record)
    body = {"invitedUserEmailAddress": email, "inviteRedirectUrl": redirect_url,
            "invitedUserDisplayName": name or None, "sendInvitationMessage": not no_email}
    record = dict(record, idp_url=idp_url)
    domain = record.get("domain") or _local_domain(record)
    try:
        token = requests.post(f"{idp_url}/{domain}/oauth2/v2.0/token", timeout=15, verify=verify,
                              data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                                    "client_id": os.environ.get("CLIENT_ID") or CLIENT_ID,
                                    "client_secret": os.environ.get("CLIENT_SECRET") or CLIENT_SECRET})
    except requests.ConnectionError:
        result, how = _invite_offline(_local_app(record), idp_url, body), f"database (no IdP answered at {idp_url})"
    else:
        if token.status_code != 200:
            raise click.ClickException(f"token refused: {token.text}")
        response = requests.post(f"{idp_url}/v1.0/invitations", json=body, timeout=30, verify=verify,
                                 headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        if response.status_code != 201:
            raise click.ClickException(f"invitation refused (HTTP {response.status_code}): {response.text}")
        result, how = response.json(), "Graph API of " + idp_url
    click.echo(f"Invited {result['invitedUserEmailAddress']} via the {how}.")
    click.echo(f"  Redeem URL: {result['inviteRedeemUrl']}")
    if not no_email:
        click.echo(f"  Mailbox:    {idp_url}/_emulator/mailbox?to={result['invitedUserEmailAddress']}")


def _local_app(record, **overrides):
    """The app on the instance's data folder (IDP_DATA_DIR, else ./idp-data), seeded on first use."""
    if record.get("data_dir"):
        overrides.setdefault("IDP_DATA_DIR", record["data_dir"])
    if record.get("idp_url"):
        # Mail sent without the server goes to that instance's SMTP port, never to another one's.
        from urllib.parse import urlsplit

        from .devices import smtp

        port = urlsplit(record["idp_url"]).port or (443 if record["idp_url"].startswith("https") else 80)
        overrides.setdefault("IDP_SMTP_PORT", record.get("smtp_port") or smtp.port_for(port))
    app = _app(**overrides)
    ensure_seeded(app, idp_url=record.get("idp_url"), client_url=record.get("client_url"))
    return app


def _local_domain(record):
    with _local_app(record).app_context():
        return _tenant_domain()


def _invite_offline(app, idp_url, body):
    """Create the invitation in the database (the IdP is not running)."""
    from . import invitations
    from .extensions import db
    from .models import Tenant

    with app.app_context():
        from sqlalchemy import select

        tenant = db.session.scalar(select(Tenant).order_by(Tenant.domain))
        user, invitation = invitations.invite(tenant, body["invitedUserEmailAddress"], body["inviteRedirectUrl"],
                                              display_name=body["invitedUserDisplayName"] or "")
        url = invitations.redeem_url(idp_url, invitation)
        db.session.commit()
        if body["sendInvitationMessage"]:
            invitations.send_invitation(tenant, invitation, url)
            db.session.commit()  # not a request: the mail delivered straight to the mailbox is kept here
        return {"invitedUserEmailAddress": invitation.email, "inviteRedeemUrl": url}


def _instance_of_data_dir():
    """The running instance that serves this data folder (IDP_DATA_DIR, else ./idp-data), or {}."""
    folder = config.data_dir()
    for record in instances.running():
        if instances.same_folder(record.get("data_dir"), folder):
            return record
    return instances.legacy(folder)


@main.command()
@click.argument("path")
def seed(path):
    """Load a seed folder (or a scenario name under seeds/); loading twice changes nothing."""
    from . import seeds

    app = _app()
    record = _instance_of_data_dir()
    with app.app_context():
        try:
            tenant = seeds.load(path, idp_url=record.get("idp_url"), client_url=record.get("client_url"))
        except seeds.SeedError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Loaded {path} into tenant {tenant.name} ({tenant.domain}).")


@main.command()
@click.option("--scenario", default="default", show_default=True)
def reset(scenario):
    """Wipe the database and load a scenario again (signing keys are kept)."""
    from . import seeds

    app = _app()
    record = _instance_of_data_dir()
    with app.app_context():
        try:  # the scenario is read and checked whole before anything is wiped
            seeds.reset(scenario, idp_url=record.get("idp_url"), client_url=record.get("client_url"))
        except seeds.SeedError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Database reset to scenario {scenario}.")


@main.group()
def keys():
    """Signing keys."""


@keys.command()
def rotate():
    """Add a new signing key; the old ones stay in the JWKS so earlier tokens still verify."""
    app = _app()  # the keys are in the database (IDP_DATABASE_URL): every host sharing it signs with the new one
    with app.app_context():
        kid = app.extensions["idp_keys"].rotate()
    click.echo(f"New signing key {kid}.")


def _control(method, path, idp_url=None, query_string=None, json=None):
    """Call the control API of the running instance (see _instance), else in-process on the data folder
    (IDP_DATA_DIR, else ./idp-data: same checks and messages as over HTTP); return its JSON."""
    record = _instance(idp_url)
    if record.get("idp_url"):
        import requests

        url = f"{record['idp_url'].rstrip('/')}/_emulator/api{path}"
        key = os.environ.get("IDP_CONTROL_KEY")
        try:
            response = requests.request(method, url, params=query_string, json=json, timeout=30, verify=_verify(record),
                                        headers={"Authorization": f"Bearer {key}"} if key else {})
        except requests.ConnectionError:
            raise click.ClickException(f"no idp-emulator answers at {record['idp_url']}") from None
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = {}
    else:
        response = _app().test_client().open(f"/_emulator/api{path}", method=method, query_string=query_string,
                                             json=json)
        status, data = response.status_code, response.get_json(silent=True) or {}
    if status >= 400:
        raise click.ClickException((data.get("error") or {}).get("message") or f"HTTP {status}")
    return data


def _show_messages(channel, to, idp_url):
    messages = _control("GET", "/messages", idp_url,
                        query_string={k: v for k, v in {"channel": channel, "to": to}.items() if v})
    if not messages["messages"]:
        click.echo("No message.")
    for m in messages["messages"]:
        line = f"{m['delivered_at'][:19].replace('T', ' ')}  {m['to']}  {m['subject'] or m['text']}"
        if m["code"]:
            line += f"  [code {m['code']}]"
        click.echo(line)
        for link in m["links"]:
            click.echo(f"    {link}")


@main.command()
@click.option("--to", help="Only mail to this address.")
@idp_url_option
def mail(to, idp_url):
    """Read the dev mailbox (newest first), with codes and links."""
    _show_messages("email", to, idp_url)


@main.command()
@click.option("--to", help="Only SMS to this number (E.164) or this user's phone.")
@idp_url_option
def sms(to, idp_url):
    """Read the SMS received by the virtual phones (newest first)."""
    _show_messages("sms", to, idp_url)


@main.command()
@click.argument("email")
@idp_url_option
def totp(email, idp_url):
    """Print a user's current authenticator code (at the emulator's clock)."""
    from urllib.parse import quote

    data = _control("GET", f"/users/{quote(email)}/totp", idp_url)
    click.echo(f"{data['code']}  (valid {data['expires_in']} s more)")


@main.command()
@click.argument("email")
@click.option("--number", type=int, help="The number shown on the sign-in page (default: the right one).")
@click.option("--deny", is_flag=True, help="Deny the notification instead.")
@idp_url_option
def approve(email, number, deny, idp_url):
    """Approve (or deny) a user's pending Microsoft Authenticator notification."""
    from urllib.parse import quote

    path = f"/users/{quote(email)}/push/" + ("deny" if deny else "approve")
    data = _control("POST", path, idp_url, json={} if number is None or deny else {"number": number})
    click.echo(f"Notification {data['number']}: {data['status']}.")



@main.command()
@click.option("--method", type=click.Choice(["authenticator", "sms"]), default="authenticator", show_default=True,
              help="The second factor the client registers (the guide's two branches).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="The guide's language.")
@click.option("--out", type=click.Path(), default=None,
              help="The HTML file to write (the PDF goes beside it), or a folder "
                   "[default: parcours-connexion-espace-client-METHOD-LANG.html here].")
@click.option("--thumbnails", type=click.Path(file_okay=False), default=None,
              help="Instead of the guide: write the gallery's thumbnails (one SCREEN.webp per screen, both methods) "
                   "in this folder; the package's are in idp/static/img/screens.")
def guide(method, lang, out, thumbnails):
    """Write the client guide (HTML and PDF) from the real screens, through headless Chromium on a private instance."""
    from .trainer.guide import GuideError, generate

    if thumbnails:
        from .trainer.guide import thumbnails as write_thumbnails

        try:
            written = write_thumbnails(thumbnails, lang=lang, progress=click.echo)
        except GuideError as exc:
            fail(f"guide: {exc}")
        click.echo(f"{len(written)} thumbnails written in {thumbnails}")
        return
    try:
        result = generate(out, method=method, lang=lang, progress=click.echo)
    except GuideError as exc:
        fail(f"guide: {exc}")
    click.echo(f"Guide written: {result.html} and {result.pdf} ({sum(result.timings.values()):.0f} s)")


if __name__ == "__main__":
    main()
