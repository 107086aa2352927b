"""The floor: a returning sign-in on the same stack as idp-emulator, with none of its logic.

It answers the 7 requests of the benchmark's sign-in (authorize -> password -> kmsi -> code -> token
-> userinfo) and discovery + JWKS with what no implementation on this stack can do without: Flask and
its signed session cookie, Flask-WTF's CSRF token, a Jinja page, SQLAlchemy (Core only, cheaper than
the ORM) on SQLite in WAL mode, werkzeug's password hash, two RS256 tokens signed by joserfc, and
gunicorn with the options of `idp-emulator serve` (idp.serving). No tenants, no journey, no recorder,
no authlib, one page of a few lines, one client, one key.

Not a product and not a test: `bench/floor_bench.py` runs it beside the real server, so that the
figures of issue 2 can be compared with what this stack costs on this machine before any work is
done. Run alone: `python bench/floor_app.py --port 8500 --data /tmp/floor`.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect, generate_csrf
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, delete, event, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from seed_values import CLIENT_ID, CLIENT_SECRET, FAST_HASH, PASSWORD, REDIRECT_URI, TENANT


meta = MetaData()
accounts = Table("accounts", meta, Column("id", Integer, primary_key=True), Column("email", String, unique=True),
                 Column("password_hash", String), Column("name", String), Column("oid", String))
flows = Table("flows", meta, Column("id", String, primary_key=True), Column("state", String), Column("nonce", String),
              Column("challenge", String), Column("scope", String), Column("login_hint", String),
              Column("account_id", Integer), Column("auth_time", Integer))
codes = Table("codes", meta, Column("code", String, primary_key=True), Column("flow_id", String),
              Column("expires_at", Integer))
refresh_tokens = Table("refresh_tokens", meta, Column("token_hash", String, primary_key=True),
                       Column("account_id", Integer))
consents = Table("consents", meta, Column("account_id", Integer), Column("client_id", String))

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body data-screen="{{ screen }}"><main><div id="displayName">{{ email }}</div><h1>{{ title }}</h1>
<form method="post" action="{{ action }}"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
{% if screen == "password" %}<input type="password" name="passwd" id="i0118" placeholder="Mot de passe">
<button type="submit" id="idSIButton9">Se connecter</button>
{% else %}<p>Faites cela pour réduire le nombre de fois où vous êtes invité à vous connecter.</p>
<button name="no" value="Non" id="idBtn_Back">Non</button><button name="yes" value="Oui" id="idSIButton9">Oui</button>
{% endif %}</form></main><footer>Émulateur local</footer></body></html>"""


def create_app(data_dir, users):
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(16), SESSION_COOKIE_NAME="ESTSAUTH")
    csrf = CSRFProtect(app)
    engine = create_engine(f"sqlite:///{data_dir}/floor.db")

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
            connection.execute(f"PRAGMA {pragma}")

    meta.create_all(engine)
    with engine.begin() as c:
        if c.execute(select(accounts.c.id).limit(1)).first() is None:
            for email in users:
                account_id = c.execute(insert(accounts).values(
                    email=email, name=email.split("@")[0], oid=secrets.token_hex(16),
                    password_hash=generate_password_hash(PASSWORD, FAST_HASH))).inserted_primary_key[0]
                c.execute(insert(consents).values(account_id=account_id, client_id=CLIENT_ID))
    engine.dispose()  # the app is built before the fork (preload): no pooled connection is shared by the workers
    key_file = Path(data_dir) / "key.json"
    if not key_file.exists():
        key_file.write_text(json.dumps(RSAKey.generate_key(2048, {"kid": "floor"}, private=True).as_dict(private=True)))
    key = RSAKey.import_key(json.loads(key_file.read_text()))
    jwks = {"keys": [key.as_dict(private=False)]}
    secret_hash = generate_password_hash(CLIENT_SECRET, FAST_HASH)
    page = app.jinja_env.from_string(PAGE)

    class Form(FlaskForm):
        pass

    def issuer():
        return f"http://{request.host}/floor/v2.0"

    @app.get(f"/{TENANT}/v2.0/.well-known/openid-configuration")
    def discovery():
        base = f"http://{request.host}/{TENANT}"
        return jsonify(issuer=issuer(), jwks_uri=f"{base}/discovery/v2.0/keys",
                       authorization_endpoint=f"{base}/oauth2/v2.0/authorize", token_endpoint=f"{base}/oauth2/v2.0/token",
                       userinfo_endpoint=f"http://{request.host}/oidc/userinfo")

    @app.get(f"/{TENANT}/discovery/v2.0/keys")
    def keys():
        return jsonify(jwks)

    @app.get(f"/{TENANT}/oauth2/v2.0/authorize")
    def authorize():
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("redirect_uri") != REDIRECT_URI:
            abort(400)
        flow_id = secrets.token_urlsafe(16)
        with engine.begin() as c:
            c.execute(insert(flows).values(id=flow_id, state=args.get("state"), nonce=args.get("nonce"),
                                           challenge=args.get("code_challenge"), scope=args.get("scope"),
                                           login_hint=args.get("login_hint")))
        session["flow"] = flow_id
        return redirect(f"/login/password?flow={flow_id}")

    def load_flow():
        with engine.connect() as c:
            flow = c.execute(select(flows, accounts.c.id.label("user_id"), accounts.c.email, accounts.c.password_hash)
                             .join(accounts, accounts.c.email == flows.c.login_hint)
                             .where(flows.c.id == request.args.get("flow"))).first()
        if flow is None or session.get("flow") != flow.id:
            abort(404)
        return flow

    def render(screen, title, flow):
        return page.render(csrf_token=generate_csrf, screen=screen, title=title, email=flow.email,
                           action=request.full_path)

    @app.route("/login/password", methods=["GET", "POST"])
    def password():
        flow = load_flow()
        if Form().validate_on_submit() and check_password_hash(flow.password_hash, request.form.get("passwd", "")):
            with engine.begin() as c:
                c.execute(update(flows).where(flows.c.id == flow.id).values(account_id=flow.user_id,
                                                                            auth_time=int(time.time())))
            return redirect(f"/login/kmsi?flow={flow.id}")
        return render("password", "Entrez le mot de passe", flow)

    @app.route("/login/kmsi", methods=["GET", "POST"])
    def kmsi():
        flow = load_flow()
        if flow.account_id is None:
            abort(403)
        if Form().validate_on_submit():
            code = secrets.token_urlsafe(32)
            with engine.begin() as c:
                consent = c.execute(select(consents.c.client_id).where(consents.c.account_id == flow.account_id,
                                                                        consents.c.client_id == CLIENT_ID)).first()
                if consent is None:
                    abort(403)
                c.execute(insert(codes).values(code=code, flow_id=flow.id, expires_at=int(time.time()) + 600))
            return redirect(f"{REDIRECT_URI}?{urlencode({'code': code, 'state': flow.state})}")
        return render("kmsi", "Rester connecté ?", flow)

    @app.post(f"/{TENANT}/oauth2/v2.0/token")
    @csrf.exempt
    def token():
        form = request.form
        if form.get("client_id") != CLIENT_ID or not check_password_hash(secret_hash, form.get("client_secret", "")):
            return jsonify(error="invalid_client"), 401
        with engine.begin() as c:
            row = c.execute(select(codes.c.code, codes.c.expires_at, flows, accounts.c.oid, accounts.c.name, accounts.c.email)
                            .join(flows, flows.c.id == codes.c.flow_id).join(accounts, accounts.c.id == flows.c.account_id)
                            .where(codes.c.code == form.get("code"))).first()
            if row is None or row.expires_at < time.time():
                return jsonify(error="invalid_grant"), 400
            c.execute(delete(codes).where(codes.c.code == row.code))  # single use
            verifier = form.get("code_verifier", "").encode()
            if base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode() != row.challenge:
                return jsonify(error="invalid_grant"), 400
            refresh_token = secrets.token_urlsafe(32)
            c.execute(insert(refresh_tokens).values(token_hash=hashlib.sha256(refresh_token.encode()).hexdigest(),
                                                    account_id=row.account_id))
        now = int(time.time())
        header = {"alg": "RS256", "kid": "floor", "typ": "JWT"}
        common = {"iss": issuer(), "iat": now, "nbf": now, "exp": now + 3600, "oid": row.oid, "tid": "floor"}
        id_token = jwt.encode(header, {**common, "aud": CLIENT_ID, "nonce": row.nonce, "sub": row.oid, "name": row.name,
                                       "preferred_username": row.email, "email": row.email, "ver": "2.0",
                                       "auth_time": row.auth_time}, key)
        access_token = jwt.encode(header, {**common, "aud": "00000003-0000-0000-c000-000000000000",
                                           "scp": "openid profile email User.Read"}, key)
        return jsonify(token_type="Bearer", scope=row.scope, expires_in=3600, id_token=id_token,
                       access_token=access_token, refresh_token=refresh_token)

    @app.get("/oidc/userinfo")
    def userinfo():
        try:
            claims = jwt.decode(request.headers.get("Authorization", "")[len("Bearer "):], key, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            abort(401)
        if claims["exp"] < time.time():
            abort(401)
        with engine.connect() as c:
            account = c.execute(select(accounts).where(accounts.c.oid == claims["oid"])).first()
        return jsonify(sub=account.oid, oid=account.oid, name=account.name, email=account.email)

    return app


def serve_options():
    """The options `idp-emulator serve` runs with by default (its click command's defaults), in the names of
    idp.serving.serve, so that the floor runs on the same server and settings as the emulator whatever they become."""
    import inspect

    from idp.cli import serve as serve_command
    from idp.serving import serve

    accepted = inspect.signature(serve).parameters
    defaults = {param.name: param.default for param in serve_command.params}
    options = {}
    for option, parameter in (("workers", "workers"), ("threads", "threads"), ("keep_alive", "keepalive")):
        value = defaults.get(option)
        if parameter in accepted and value is not None and not callable(value):
            options[parameter] = value
    return options


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True, help="a folder for the database and the key")
    parser.add_argument("--workers", type=int, help="default: the emulator's `serve` default")
    parser.add_argument("--threads", type=int, help="default: the emulator's `serve` default")
    parser.add_argument("--users", default="", help="comma-separated emails to create (password Demo-2026!)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from idp.serving import serve  # the same server and code path as `idp-emulator serve`

    options = serve_options() if args.workers is None or args.threads is None else {}
    options.update({name: value for name, value in (("workers", args.workers), ("threads", args.threads))
                    if value is not None})
    os.makedirs(args.data, exist_ok=True)
    users = [u for u in args.users.split(",") if u]
    serve(lambda: create_app(args.data, users), "127.0.0.1", args.port, **options)


if __name__ == "__main__":
    main()
