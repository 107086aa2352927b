"""The Espace Client of the accounting firm: a relying party that signs its clients in through the IdP."""
import functools
import os
import re
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from . import config

OAUTH = "espace_client_oauth"


class RowIdConverter(IntegerConverter):
    """`<int:…>` bounded to what a database id can hold (2**63 - 1)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|(?=[^:]{1,253}(?::|$))[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                  r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?)(?::[0-9]{1,5})?$")


class ValidHost:
    """WSGI middleware: 400 for a Host header that is not a host name (labels of 63 characters at most), an
    IPv4 or a bracketed IPv6 address, with an optional port."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST")
        if host is not None and not HOST.match(host):
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Bad Request: the Host header is not a host name.\n"]
        return self.wsgi_app(environ, start_response)


def create_app(test_config=None):
    """Create the Espace Client: defaults from CLIENT_* environment variables, then test_config."""
    app = Flask(__name__)
    app.config.from_mapping(config.from_environment(test_config))
    if app.config["CLIENT_AUTHORITY"].startswith("http://"):
        # The local emulator speaks plain http on loopback; authlib must accept it there.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

    from .extensions import csrf, db

    # /etre-recontacte/99999999999999999999 is no row (a 404), not an overflow in the database driver.
    app.url_map.converters["int"] = RowIdConverter

    db.init_app(app)
    csrf.init_app(app)
    register_oauth(app)

    from . import admin, auth, portal

    app.register_blueprint(auth.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(admin.bp)
    register_error_handlers(app)
    # The same security headers as the IdP's pages (no framing by other sites, nosniff, Referrer-Policy); the
    # IdP's origin may frame the Espace Client: trainer mode's presenter view shows step 2 in its PC frame.
    from idp.security import add_headers

    authority = urlsplit(app.config["CLIENT_AUTHORITY"])
    app.after_request(functools.partial(add_headers, framed_by=(f"{authority.scheme}://{authority.netloc}",)))
    if not app.config["CLIENT_ADMIN_PASSWORD"]:
        # First start: a random admin password, kept hashed in the data folder (`up` prints it).
        app.config["CLIENT_ADMIN_PASSWORD_CREATED"] = config.ensure_admin_password(app.config["CLIENT_DATA_DIR"])

    @app.context_processor
    def firm():
        from . import seed

        return {"firm": seed.data()["firm"]}

    @app.context_processor
    def demo_mode():
        from . import demo

        return {"demo_mode": demo.active(app.config)}

    with app.app_context():
        from . import models  # noqa: F401  (tables)

        db.create_all()
    # Outermost: a Host no URL can be built for is refused before Flask (it would fail building every link).
    app.wsgi_app = ValidHost(app.wsgi_app)
    return app


def register_oauth(app):
    """One authlib OAuth registry per app: the IdP, from its discovery document."""
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    client_kwargs = {"scope": app.config["CLIENT_SCOPE"], "code_challenge_method": "S256", "timeout": 15}
    if app.config["CLIENT_CA_BUNDLE"]:
        client_kwargs["verify"] = app.config["CLIENT_CA_BUNDLE"]
    oauth.register(
        "idp",
        client_id=app.config["CLIENT_ID"],
        client_secret=app.config["CLIENT_SECRET"],
        server_metadata_url=app.config["CLIENT_AUTHORITY"] + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    if app.config["CLIENT_CA_BUNDLE"]:
        from .extensions import PinnedCASession

        oauth.create_client("idp").client_cls = PinnedCASession
    app.extensions[OAUTH] = oauth


def admin_password(renew=False):
    """The admin page's password when it can be shown (idp-emulator up): CLIENT_ADMIN_PASSWORD, or the random one
    made by this call at first start (`renew`: a new one); None when it was made before (only its hash is kept)."""
    return config.admin_password() or config.ensure_admin_password(config.data_dir(), renew=renew)


def reset_database(app):
    """Drop and recreate the Espace Client's tables (idp-emulator up --reset)."""
    from .extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and a busy timeout so gunicorn workers share the embedded database."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def error_page(status, title, message, **context):
    """A French error page of the Espace Client (never a stack trace)."""
    return render_template("error.html", status=status, title=title, message=message, **context), status


def register_error_handlers(app):
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from .extensions import db

    titles = {
        400: "Requête incorrecte",
        403: "Accès refusé",
        404: "Page introuvable",
        405: "Méthode non acceptée",
        413: "Fichier trop volumineux",
    }
    messages = {
        400: "La requête est incorrecte.",
        403: "Vous n'avez pas accès à cette page.",
        404: "Cette page n'existe pas ou n'est plus disponible.",
        405: "Cette action n'est pas acceptée ici.",
        413: "Le fichier dépasse la taille autorisée (10 Mo).",
    }

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        db.session.rollback()
        return error_page(400, "Page expirée",
                          "La page a expiré (jeton de sécurité manquant ou invalide). Revenez en arrière et réessayez.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        db.session.rollback()
        code = exc.code or 500
        return error_page(code, titles.get(code, "Erreur"), messages.get(code, exc.description or "Erreur."))

    @app.errorhandler(Exception)
    def unexpected(exc):
        db.session.rollback()
        app.logger.exception("unexpected error on %s", request.path)
        return error_page(500, "Erreur inattendue",
                          "Une erreur inattendue s'est produite. Réessayez dans un instant ou contactez le support.")
