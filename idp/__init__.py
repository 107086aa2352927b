"""idp-emulator: an offline emulator of the Microsoft sign-up and sign-in journey, as a real OpenID Connect provider.

Flask and SQLAlchemy are imported by the functions that need them, not here: `idp.cli` (and `up`, which only
supervises its servers) imports this package without paying for the web stack.
"""
import os

from . import config


def create_app(test_config=None):
    """Create the IdP application: defaults from the environment, then test_config."""
    from flask import Flask

    # The emulator serves plain http on loopback by design; authlib must accept it.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    app = Flask(__name__)
    app.config.from_mapping(config.from_environment(test_config))

    from .extensions import babel, csrf, db
    from .sqlite import engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    from . import converters, jsonparsing

    converters.init_app(app)  # a 20-digit id in a URL is a 404, not an overflow in the database driver
    jsonparsing.init_app(app)  # 100,000 '[' is a bad body (400), not a RecursionError
    db.init_app(app)
    csrf.init_app(app)
    from . import i18n

    # French or English per request (idp.i18n): Python's flask_babel.gettext and the templates' _() agree.
    babel.init_app(app, default_locale=i18n.DEFAULT_LOCALE, locale_selector=i18n.current_locale)
    # The templates' _() read the request's catalogue from a per-process cache, not through Flask-Babel's lookups.
    i18n.install(app)

    from .oidc.keys import KeyStore

    keys = KeyStore(app.config["IDP_DATA_DIR"])  # its keys are in the database: ensured below, once the tables exist
    app.extensions["idp_keys"] = keys

    from .oidc import cors, server

    server.init_app(app)
    cors.init_app(app)

    from . import security

    security.init_app(app)

    from .blueprints import (branding, control, device, emulator, graph, login, mailbox, mfa, oauth, phone, present,
                             proofup, signup, v1)

    for module in (oauth, login, emulator, signup, proofup, mfa, mailbox, phone, control, graph, device, v1, branding,
                   present):
        app.register_blueprint(module.bp)

    register_error_handlers(app)

    from . import database

    database.init_app(app)  # one commit per request that writes: the first after_request function to run

    from . import purge

    purge.init_app(app)  # abandoned journeys, empty browser sessions and expired codes do not pile up

    from .oidc.published import PublishedDocuments
    app.wsgi_app = PublishedDocuments(app.wsgi_app, app)
    # Outermost: an unknown Host never reaches Flask nor the published-documents cache (idp.security).
    app.wsgi_app = security.AllowedHosts(app.wsgi_app, app.config)
    with app.app_context():
        from . import models  # noqa: F401  (tables)
        from .database import startup_lock

        # Several processes may start at once on an empty database: one creates the schema (and keys), the others wait.
        with startup_lock(db.engine, app.config["IDP_DATA_DIR"]):
            if not schema_current(db.engine, db.metadata):
                db.create_all()
                migrate(db.engine, db.metadata)
            # Shared by every host on this database (idp.oidc.keys); IDP_SECRET_KEY, when set, wins.
            keys.ensure()
            if not app.config.get("SECRET_KEY"):
                from .oidc.keys import session_secret

                app.config["SECRET_KEY"] = session_secret(app.config["IDP_DATA_DIR"])
    return app


# Columns the models no longer have: dropped from older databases, whose NOT NULL would refuse every new row.
DROPPED_COLUMNS = {"authorization_code": ("client_info",)}


def schema_current(engine, metadata):
    """Whether an SQLite database has every table and column of the models and none of DROPPED_COLUMNS: then
    create_all and migrate have nothing to do. One query (the usual restart), where they ask table by table."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                                          "WHERE m.type = 'table'").all()
    existing = {}
    for table, column in rows:
        existing.setdefault(table, set()).add(column)
    for table in metadata.tables.values():
        columns = existing.get(table.name)
        if columns is None or not columns.issuperset(table.columns.keys()) \
                or columns.intersection(DROPPED_COLUMNS.get(table.name, ())):
            return False
    return True


def migrate(engine, metadata):
    """Add the columns models gained since the database was created, keeping every row, and drop DROPPED_COLUMNS."""
    from sqlalchemy import inspect, text
    from sqlalchemy.schema import CreateColumn

    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        existing = {column["name"] for column in inspector.get_columns(table.name)}
        for name in DROPPED_COLUMNS.get(table.name, ()):
            if name in existing:
                with engine.begin() as connection:
                    connection.execute(text(f'ALTER TABLE "{table.name}" DROP COLUMN "{name}"'))
        for column in table.columns:
            if column.name in existing:
                continue
            # Rows already there get NULL: a new column can't be NOT NULL without a server default.
            ddl = str(CreateColumn(column).compile(dialect=engine.dialect)).replace(" NOT NULL", "")
            with engine.begin() as connection:
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))


def wants_json():
    from flask import request

    path = request.path
    if path.startswith("/_emulator/api") or path.startswith("/v1.0") or path.startswith("/oidc/"):
        return True
    if "/oauth2/" in path and not path.endswith(("/authorize", "/logout")):
        return True
    if "/discovery/" in path or path.endswith("openid-configuration"):
        return True
    return request.accept_mimetypes.best == "application/json"


def register_error_handlers(app):
    from flask import g, jsonify, render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from flask_babel import gettext as _

    from .extensions import db
    from .i18n import N_

    # Marked for the catalogue here, translated when shown (the request's language).
    messages = {
        400: N_("La requête est incorrecte."),
        404: N_("Cette page n'existe pas ou n'est plus disponible."),
        405: N_("Cette méthode n'est pas acceptée ici."),
        410: N_("Cette demande de connexion est terminée. Recommencez depuis l'application."),
        413: N_("La requête est trop volumineuse."),
        501: N_("Cet écran n'est pas encore disponible dans cet émulateur."),
    }

    def respond(status, message, code=9002313):
        db.session.rollback()
        if wants_json():
            from .oidc.errors import AADError, json_error_response

            if request.path.startswith("/_emulator/api"):
                return jsonify({"error": {"status": status, "message": message}}), status
            error = AADError("invalid_request", code, detail=message)
            error.status_code = status
            return json_error_response(error)
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return respond(400, _("La page a expiré (jeton de sécurité manquant ou invalide). Revenez en arrière et réessayez."))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        message = messages.get(exc.code)
        return respond(exc.code or 500, _(message) if message else (exc.description or _("Erreur.")))

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        """The database is gone, locked too long, read-only or full: Microsoft's transient error, never a bare 500."""
        app.logger.error("database unavailable: %s", getattr(exc, "orig", exc))
        try:
            db.session.rollback()
        except Exception:  # the connection itself is broken: let the pool replace it
            db.session.remove()
        from . import i18n
        from .oidc.errors import AADError, json_error_response

        # The error page must not ask the database again: the settings' defaults, a language from the request.
        g.settings = {}
        if "i18n_locale" not in g:
            g.i18n_locale = (i18n.supported(request.args.get("ui_locales"))
                             or request.accept_languages.best_match(i18n.LOCALES) or i18n.DEFAULT_LOCALE)
        message = "The emulator's database is unavailable; try again in a moment."
        if request.path.startswith("/_emulator/api"):
            return jsonify({"error": {"status": 503, "message": message}}), 503
        error = AADError("temporarily_unavailable", 90033, status_code=503)
        if wants_json():
            return json_error_response(error)
        from .blueprints.oauth import error_page

        return error_page(error, 503)

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unexpected error")
        return respond(500, _("Une erreur inattendue s'est produite dans l'émulateur."), code=90033)
