"""The `idp-emulator` command: up, serve, client, invite, seed, reset, keys rotate (and device helpers)."""
import os
import signal
import subprocess
import sys
import time

import click

from . import config


def _app(**overrides):
    from . import create_app

    return create_app(overrides or None)


def ensure_seeded(app, reset=False):
    """Load seeds/default on first run (or again with reset)."""
    from sqlalchemy import select

    from . import seeds
    from .extensions import db
    from .models import Tenant

    with app.app_context():
        if reset:
            seeds.wipe()
        if db.session.scalar(select(Tenant.id)) is None:
            seeds.load("default")
            return True
    return False


@click.group()
def main():
    """idp-emulator: the Microsoft sign-up and sign-in journey, offline."""


def server_options(func):
    func = click.option("--host", default=lambda: os.environ.get("IDP_HOST", "127.0.0.1"), show_default="127.0.0.1",
                        help="Address to listen on (loopback by default).")(func)
    func = click.option("--https", "use_https", is_flag=True, help="Serve over TLS with a local CA (path printed).")(func)
    func = click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")(func)
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


@main.command()
@click.option("--port", default=8400, show_default=True)
@click.option("--no-smtp", is_flag=True, help="Do not start the loopback SMTP server of the dev mailbox "
              "(also IDP_SMTP=off; its port is IDP_SMTP_PORT, 8425).")
@server_options
def serve(port, host, use_https, workers, threads, debug, no_smtp, keep_alive):
    """Run the IdP alone."""
    ca, cert, key = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    os.environ["IDP_LISTEN_HOST"] = host
    app = _app(IDP_LISTEN_HOST=host)
    ensure_seeded(app)
    from .devices import smtp

    if smtp.enabled(no_smtp):
        # Runs in this (master) process; a taken port only logs a warning.
        smtp.start(app)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host

    def ready():
        if ca:
            click.echo(f"CA certificate: {ca}")
        click.echo(f"IdP listening on {scheme}://{shown}:{port}/", err=False)
        sys.stdout.flush()

    from .serving import serve as run

    run(lambda: app, host, port, workers=workers, threads=threads, certfile=str(cert) if cert else None,
        keyfile=str(key) if key else None, debug=debug, on_ready=ready, keepalive=keep_alive)


@main.command()
@click.option("--idp-port", default=8400, show_default=True)
@click.option("--client-port", default=8401, show_default=True)
@click.option("--reset", is_flag=True, help="Start again from the seeds (the Espace Client's database too).")
@server_options
def up(idp_port, client_port, reset, host, use_https, workers, threads, debug, keep_alive):
    """Run the IdP and the Espace Client together, print every URL, stop both on Ctrl-C."""
    app = _app()
    ensure_seeded(app, reset=reset)
    ca, _, _ = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    idp_url = f"{scheme}://{shown}:{idp_port}"
    client_url = f"{scheme}://{shown}:{client_port}"
    has_client = _has_client_app()
    with app.app_context():
        domain = _tenant_domain()
        if has_client:
            _register_client_urls(os.environ.get("CLIENT_ID") or CLIENT_ID, client_url)
    if has_client and reset:
        from client_app import create_app as create_client_app
        from client_app import reset_database

        reset_database(create_client_app())
    _write_runtime(idp_url=idp_url, client_url=client_url if has_client else None, domain=domain,
                   ca=str(ca) if ca else None)
    common = ["--host", host, "--workers", str(workers), "--threads", str(threads), "--keep-alive", str(keep_alive)] + (
        ["--https"] if use_https else []) + (["--debug"] if debug else [])
    children = []
    _handle_stop_signals(children)
    children.append(subprocess.Popen([sys.executable, "-P", "-m", "idp.cli", "serve", "--port", str(idp_port), *common],
                                     env=child_environment()))
    if has_client:
        env = dict(child_environment(), CLIENT_AUTHORITY=f"{idp_url}/{domain}/v2.0", CLIENT_BASE_URL=client_url)
        if ca:
            env["CLIENT_CA_BUNDLE"] = str(ca)
        children.append(subprocess.Popen([sys.executable, "-P", "-m", "idp.cli", "client", "--port", str(client_port), *common],
                                         env=env))
    waiting = [f"{idp_url}/{domain}/v2.0/.well-known/openid-configuration"] + ([f"{client_url}/"] if has_client else [])
    _wait_until_ready(waiting, children, verify=str(ca) if ca else True)
    lines = [
        "idp-emulator is up (local test environment, not the Microsoft service).",
        f"  Start here:     {client_url}/  (the Espace Client; invite yourself with: idp-emulator invite you@example.fr)"
        if has_client else f"  Start here:     {idp_url}/_emulator/",
    ]
    if has_client:
        lines += [f"  Espace Client:  {client_url}/", f"  Client admin:   {client_url}/admin/invitations"]
    lines += [
        f"  IdP discovery:  {idp_url}/{domain}/v2.0/.well-known/openid-configuration",
        f"  Mailbox:        {idp_url}/_emulator/mailbox",
        f"  Phone:          {idp_url}/_emulator/phone/<phone-or-email>",
        f"  Control API:    {idp_url}/_emulator/api/openapi.json",
        f"  Emulator home:  {idp_url}/_emulator/",
    ]
    if ca:
        lines.append(f"  CA certificate: {ca}")
    lines.append("Press Ctrl-C to stop.")
    click.echo("\n".join(lines))
    sys.stdout.flush()
    _supervise(children)


# The Espace Client of seeds/default (also the client_app's default CLIENT_ID / CLIENT_SECRET).
CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
CLIENT_SECRET = "espace-client-secret-2026"
RUNTIME_FILE = "up.json"


def child_environment():
    """The environment of a server started by `up`: this very package first, never a folder of the cwd.

    The servers run with `python -P` (no working directory on sys.path: a data folder named `idp`
    must not shadow the package), so the package's own location goes on PYTHONPATH.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def _has_client_app():
    try:
        from client_app import create_app  # noqa: F401
    except ImportError:
        return False
    return True


def _tenant_domain():
    from sqlalchemy import select

    from .extensions import db
    from .models import Tenant

    tenant = db.session.scalar(select(Tenant).order_by(Tenant.domain))
    return tenant.domain if tenant else "organizations"


def _register_client_urls(client_id, client_url):
    """Add the Espace Client's redirect and post-logout URIs for the host and port it runs on."""
    from urllib.parse import urlsplit

    from .extensions import db
    from .models import Client
    from .oidc.urls import tenants_changed

    client = db.session.get(Client, client_id)
    if client is None:
        return
    parts = urlsplit(client_url)
    bases = [client_url]
    if parts.hostname in ("localhost", "127.0.0.1"):
        bases = [f"{parts.scheme}://{name}:{parts.port}" for name in ("localhost", "127.0.0.1")]
    redirects = list(client.redirect_uris or [])
    logouts = list(client.post_logout_redirect_uris or [])
    for base in bases:
        if f"{base}/auth/callback" not in redirects:
            redirects.append(f"{base}/auth/callback")
        if f"{base}/" not in logouts:
            logouts.append(f"{base}/")
    if redirects != client.redirect_uris or logouts != client.post_logout_redirect_uris:
        client.redirect_uris, client.post_logout_redirect_uris = redirects, logouts
        db.session.commit()
        tenants_changed()  # workers that cached the client read it again


def _write_runtime(**values):
    """Remember where `up` runs (data folder up.json), so `idp-emulator invite` finds it."""
    import json

    path = config.data_dir() / RUNTIME_FILE
    path.write_text(json.dumps(values, indent=2))


def _read_runtime():
    import json

    try:
        return json.loads((config.data_dir() / RUNTIME_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _wait_until_ready(urls, children, verify=True, timeout=60):
    """Wait until every URL answers (or a server stops), so the printed URLs work at once."""
    import requests

    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return
        try:
            requests.get(pending[0], timeout=2, verify=verify, allow_redirects=False)
            pending.pop(0)
        except requests.RequestException:
            time.sleep(0.2)
    if pending:
        click.echo(f"still waiting for {', '.join(pending)}", err=True)


def _handle_stop_signals(children):
    """Ctrl-C (SIGINT) or SIGTERM: stop every child server, then exit."""
    stopping = []

    def stop(*_):
        if stopping:
            return
        stopping.append(True)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stop


def _supervise(children):
    stop = _handle_stop_signals(children)
    while True:
        for child in children:
            if child.poll() is not None:
                click.echo(f"a server stopped (exit {child.returncode}); stopping.", err=True)
                stop()
        time.sleep(0.5)


@main.command()
@click.option("--port", default=8401, show_default=True)
@click.option("--reset", is_flag=True, help="Wipe the Espace Client's database first.")
@server_options
def client(port, reset, host, use_https, workers, threads, debug, keep_alive):
    """Run the Espace Client alone; it signs in through CLIENT_AUTHORITY (the local IdP by default)."""
    _, cert, key = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    os.environ.setdefault("CLIENT_BASE_URL", f"{scheme}://{shown}:{port}")
    if use_https:
        # Trust the local CA for https calls to the IdP (unless a bundle is configured).
        os.environ.setdefault("CLIENT_CA_BUNDLE", str(config.data_dir() / "tls" / "idp-emulator-ca.pem"))
    from client_app import create_app as create_client_app
    from client_app import reset_database

    app = create_client_app()
    if reset:
        reset_database(app)

    def ready():
        click.echo(f"Espace Client listening on {app.config['CLIENT_BASE_URL']}/ "
                   f"(authority {app.config['CLIENT_AUTHORITY']})")
        sys.stdout.flush()

    from .serving import serve as run

    run(lambda: app, host, port, workers=workers, threads=threads, certfile=str(cert) if cert else None,
        keyfile=str(key) if key else None, debug=debug, on_ready=ready)


@main.command()
@click.argument("email")
@click.option("--name", default="", help="The client's display name.")
@click.option("--redirect-url", default=None,
              help="Where the invitation leads once the account is set up [default: the Espace Client's home].")
@click.option("--idp-url", default=None, help="The running IdP [default: the one `up` started, else http://localhost:8400].")
@click.option("--no-email", is_flag=True, help="Create the invitation without sending the email.")
def invite(email, name, redirect_url, idp_url, no_email):
    """Invite a client: the branded invitation email with its "Je configure mon nouvel accès" link.

    Calls the running IdP's Graph API (POST /v1.0/invitations) with a client-credentials token of the
    Espace Client (CLIENT_ID / CLIENT_SECRET, the seeded ones by default). When no IdP answers, creates
    the invitation directly in the database (and the email lands in the mailbox the same way).
    """
    import requests

    runtime = _read_runtime()
    idp_url = (idp_url or os.environ.get("IDP_BASE_URL") or runtime.get("idp_url") or "http://localhost:8400").rstrip("/")
    client_url = os.environ.get("CLIENT_BASE_URL") or runtime.get("client_url") or "http://localhost:8401"
    redirect_url = redirect_url or client_url.rstrip("/") + "/"
    app = _app()
    ensure_seeded(app)
    with app.app_context():
        domain = _tenant_domain()
    ca = config.data_dir() / "tls" / "idp-emulator-ca.pem"
    verify = str(ca) if idp_url.startswith("https://") and ca.exists() else True
    body = {"invitedUserEmailAddress": email, "inviteRedirectUrl": redirect_url,
            "invitedUserDisplayName": name or None, "sendInvitationMessage": not no_email}
    try:
        token = requests.post(f"{idp_url}/{domain}/oauth2/v2.0/token", timeout=15, verify=verify, data={
            "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
            "client_id": os.environ.get("CLIENT_ID") or CLIENT_ID,
            "client_secret": os.environ.get("CLIENT_SECRET") or CLIENT_SECRET})
    except requests.ConnectionError:
        result, how = _invite_offline(app, idp_url, body), "database (no IdP answered at " + idp_url + ")"
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
        return {"invitedUserEmailAddress": invitation.email, "inviteRedeemUrl": url}


@main.command()
@click.argument("path")
def seed(path):
    """Load a seed folder (or a scenario name under seeds/); loading twice changes nothing."""
    from . import seeds

    app = _app()
    with app.app_context():
        try:
            tenant = seeds.load(path)
        except seeds.SeedError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Loaded {path} into tenant {tenant.name} ({tenant.domain}).")


@main.command()
@click.option("--scenario", default="default", show_default=True)
def reset(scenario):
    """Wipe the database and load a scenario again (signing keys are kept)."""
    from . import seeds

    app = _app()
    with app.app_context():
        seeds.wipe()
        try:
            seeds.load(scenario)
        except seeds.SeedError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"Database reset to scenario {scenario}.")


@main.group()
def keys():
    """Signing keys."""


@keys.command()
def rotate():
    """Add a new signing key; the old ones stay in the JWKS so earlier tokens still verify."""
    from .oidc.keys import KeyStore

    store = KeyStore(config.data_dir())
    store.ensure()
    kid = store.rotate()
    click.echo(f"New signing key {kid}.")


def _control(method, path, **kwargs):
    """Call the control API in-process (same checks and messages as over HTTP); return its JSON."""
    app = _app()
    response = app.test_client().open(f"/_emulator/api{path}", method=method, **kwargs)
    data = response.get_json(silent=True) or {}
    if response.status_code >= 400:
        raise click.ClickException(data.get("error", {}).get("message", response.status))
    return data


def _show_messages(channel, to):
    messages = _control("GET", "/messages", query_string={k: v for k, v in {"channel": channel, "to": to}.items() if v})
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
def mail(to):
    """Read the dev mailbox (newest first), with codes and links."""
    _show_messages("email", to)


@main.command()
@click.option("--to", help="Only SMS to this number (E.164) or this user's phone.")
def sms(to):
    """Read the SMS received by the virtual phones (newest first)."""
    _show_messages("sms", to)


@main.command()
@click.argument("email")
def totp(email):
    """Print a user's current authenticator code (at the emulator's clock)."""
    from urllib.parse import quote

    data = _control("GET", f"/users/{quote(email)}/totp")
    click.echo(f"{data['code']}  (valid {data['expires_in']} s more)")


@main.command()
@click.argument("email")
@click.option("--number", type=int, help="The number shown on the sign-in page (default: the right one).")
@click.option("--deny", is_flag=True, help="Deny the notification instead.")
def approve(email, number, deny):
    """Approve (or deny) a user's pending Microsoft Authenticator notification."""
    from urllib.parse import quote

    path = f"/users/{quote(email)}/push/" + ("deny" if deny else "approve")
    data = _control("POST", path, json={} if number is None or deny else {"number": number})
    click.echo(f"Notification {data['number']}: {data['status']}.")


if __name__ == "__main__":
    main()
