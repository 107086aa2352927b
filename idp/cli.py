"""The `idp-emulator` command: up, serve, seed, reset, keys rotate (and device helpers)."""
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
    func = click.option("--debug", is_flag=True, help="Flask's development server (never in front of users).")(func)
    return func


def _tls(use_https, host):
    if not use_https:
        return None, None, None
    from .tls import ensure_certificates

    return ensure_certificates(config.data_dir(), hosts=[host])


@main.command()
@click.option("--port", default=8400, show_default=True)
@server_options
def serve(port, host, use_https, workers, debug):
    """Run the IdP alone."""
    ca, cert, key = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    os.environ["IDP_LISTEN_HOST"] = host
    app = _app(IDP_LISTEN_HOST=host)
    ensure_seeded(app)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host

    def ready():
        if ca:
            click.echo(f"CA certificate: {ca}")
        click.echo(f"IdP listening on {scheme}://{shown}:{port}/", err=False)
        sys.stdout.flush()

    from .serving import serve as run

    run(lambda: app, host, port, workers=workers, certfile=str(cert) if cert else None,
        keyfile=str(key) if key else None, debug=debug, on_ready=ready)


@main.command()
@click.option("--idp-port", default=8400, show_default=True)
@click.option("--client-port", default=8401, show_default=True)
@click.option("--reset", is_flag=True, help="Start again from the seeds.")
@server_options
def up(idp_port, client_port, reset, host, use_https, workers, debug):
    """Run the IdP and the Espace Client together, print every URL, stop both on Ctrl-C."""
    app = _app()
    ensure_seeded(app, reset=reset)
    ca, _, _ = _tls(use_https, host)
    scheme = "https" if use_https else "http"
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    idp_url = f"{scheme}://{shown}:{idp_port}"
    client_url = f"{scheme}://{shown}:{client_port}"
    common = ["--host", host, "--workers", str(workers)] + (["--https"] if use_https else []) + (["--debug"] if debug else [])
    children = [subprocess.Popen([sys.executable, "-m", "idp.cli", "serve", "--port", str(idp_port), *common])]
    if _has_client_app():
        env = dict(os.environ, CLIENT_AUTHORITY_HOST=idp_url, CLIENT_BASE_URL=client_url)
        children.append(subprocess.Popen([sys.executable, "-m", "idp.cli", "client", "--port", str(client_port), *common], env=env))
    with app.app_context():
        from sqlalchemy import select

        from .extensions import db
        from .models import Tenant

        tenant = db.session.scalar(select(Tenant).order_by(Tenant.domain))
        domain = tenant.domain if tenant else "common"
    lines = [
        "idp-emulator is up (local test environment, not the Microsoft service).",
        f"  Start here:     {client_url}/" if _has_client_app() else f"  Start here:     {idp_url}/_emulator/",
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


def _has_client_app():
    try:
        from client_app import create_app  # noqa: F401
    except ImportError:
        return False
    return True


def _supervise(children):
    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        for child in children:
            if child.poll() is not None:
                click.echo(f"a server stopped (exit {child.returncode}); stopping.", err=True)
                stop()
        time.sleep(0.5)


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


if __name__ == "__main__":
    main()
