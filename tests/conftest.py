"""Fixtures: an app on a temporary data folder, its test client, page helpers over BeautifulSoup, a live server."""
import gc
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
from werkzeug.routing.rules import Rule

from idp import create_app, seeds
from idp.testing.server import FAST_HASH, LiveServer, free_port
from idp.trainer.guide import CHROMIUM

from .pages import Browser

TENANT = "bakertillyrecette.onmicrosoft.com"
TENANT_ID = "0b7c2f4e-5a1d-4c3b-9e8f-2a6d1c4b7e90"
CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
CLIENT_SECRET = "espace-client-secret-2026"
REDIRECT_URI = "http://localhost:8401/auth/callback"
PUBLIC_CLIENT_ID = "2f1e9d7c-4b3a-4c5d-8e6f-7a8b9c0d1e2f"
PUBLIC_REDIRECT_URI = "http://localhost:8402/callback"
PASSWORD = "Demo-2026!"
# Chromium's flags in every browser test (CHROMIUM is the guide's path; the guide adds rendering flags for its stills).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# The servers the tests start (`up`, the guide's instance, LiveServer) poll every 200 ms where a person's browser polls
# every 1.5 s: a browser test that answers the virtual phone goes on at once (IDP_POLL_MS; issue 14, the suite's time).
os.environ.setdefault("IDP_POLL_MS", "200")


def remember_url_builders():
    """Werkzeug writes and compiles Python code (ast, compile) for the URL builder of every rule it binds: a quarter
    of each create_app, and the suite creates an app for some 600 tests, each with the same hundred rules. The code
    depends only on what the key below holds (the rule, its parsed parts, its defaults as the converters write them,
    append_unknown), so one builder per key and per process builds the same URLs (issue 14: the suite's time)."""
    compile_builder = Rule._compile_builder
    builders = {}

    def remembered(rule, append_unknown=True):
        defaults = tuple((str(name), rule._converters[name].to_url(value) if name in rule._converters else None)
                         for name, value in (rule.defaults or {}).items())
        key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = remembered


remember_url_builders()


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates kept in memory for the apps of the session (make_app), per xdist worker.

    Each app has its own Jinja environment, which compiled every template it rendered anew (lexer, parser, Python
    compile): about a tenth of the in-process tests' time. Jinja's bytecode cache is made for this: a template's code is
    found by its name and file and used only if the source's checksum is the same. Every app made by make_app sets
    up Jinja alike (create_app, idp.i18n), so the code compiled for one is the code compiled for another."""

    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()

# The files that take longest, longest first (tens of seconds each: the guide generator run twice, the screenshot
# tour, Chromium journeys against `up`, several `up` or `serve` instances), from --durations on a 2-core machine.
# Under `-n 2 --dist loadfile` each file goes whole to one worker: started first, they leave the many short files to
# even out the end; started last, one worker runs on alone while the other has finished.
LONGEST_FILES = ["live/test_guide_generator.py", "live/test_screenshots.py", "live/test_guide_journey.py",
                 "live/test_up.py", "live/test_present.py", "live/test_live.py", "live/test_no_500.py",
                 "live/test_e2e_demo.py", "live/test_browser_authenticator.py", "live/test_postgres.py",
                 "live/test_plugin.py", "live/test_readme.py", "live/test_keepalive.py"]


def pytest_collection_finish(session):
    """Python's garbage collector, on each full collection, went through every object the imports made (Flask,
    SQLAlchemy, Playwright…, some 125,000) and an in-process test makes enough objects for dozens of full
    collections: about a seventh of those tests' time. What is imported by the end of collection lives until the end
    of the session: gc.freeze() leaves it out of later collections. The tests' own garbage is collected as before."""
    gc.freeze()


def pytest_configure(config):
    # xdist sends the files with the most tests first (--loadscope-reorder, on by default): the long files, which
    # have few tests, would come last. The order of the collection below is the one to keep.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """LONGEST_FILES first, in their order; every other test after them, in the order collected."""
    tests = Path(__file__).resolve().parent
    rank = {tests / name: number for number, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))


@pytest.fixture
def app(tmp_path, request):
    # IDP_TEST_DATABASE_URL runs the in-process tests on another database (e.g. PostgreSQL), wiped and seeded per test.
    database_url = os.environ.get("IDP_TEST_DATABASE_URL")
    if database_url:
        yield from make_app(tmp_path, database_url)
    else:
        yield from make_app(tmp_path, template=request.getfixturevalue("app_template"))


APP_CONFIG = {"TESTING": True, "IDP_PASSWORD_HASH": FAST_HASH, "IDP_CAPTCHA": "puzzle", "SECRET_KEY": "test-secret"}


@pytest.fixture(scope="session")
def app_template(tmp_path_factory):
    """The SQLite database every in-process test starts from (schema, signing key, the default seeds), built once
    per session, i.e. per xdist worker: RSA key generation, create_all and seeding were half of each test's setup."""
    folder = tmp_path_factory.mktemp("app-template")
    for _ in make_app(folder):
        pass
    return folder / "data" / "idp.sqlite3"


def make_app(tmp_path, database_url=None, template=None, **config):
    """The `app` fixture's body: an app on tmp_path/data, on SQLite or on database_url, with APP_CONFIG and config.

    With a template (a seeded SQLite database file, app_template), the app starts on a copy of it in its data folder;
    with template=True, database_url is already a seeded copy (PostgresServer.create_database's template). Without
    one, the app creates its schema and key, and is seeded (database_url wiped first).
    """
    data_dir = tmp_path / "data"
    config = {**APP_CONFIG, "IDP_DATA_DIR": str(data_dir), **config}
    if database_url:
        config["IDP_DATABASE_URL"] = database_url
    if isinstance(template, Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, data_dir / "idp.sqlite3")
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    if template is None:
        with app.app_context():
            if database_url:
                seeds.wipe()
            seeds.load("default")
    yield app
    with app.app_context():
        from idp.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def browser(client):
    """A person at a browser: follows screens, fills real forms (CSRF included)."""
    return Browser(client)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live_server(tmp_path):
    server = LiveServer(tmp_path / "live")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium under Playwright, launched once per session (i.e. per xdist worker): a test that cannot run
    fails, never skips. Each test opens its own context (chromium.new_context(...)) and closes it, so no test sees
    another's cookies or pages, and none pays for starting Playwright and Chromium (a second or more each).

    While it lives, the worker's main thread has Playwright's event loop: another sync_playwright() or asyncio.run()
    there would fail, so in-process code that needs either runs in a thread of its own."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"Debian's Chromium is needed at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def verify_with_the_emulator_ca(monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=: keep the verify=<ca> that
    MSAL (or the test's own session) is given in charge, whatever the machine's environment says."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="session")
def client_libraries_server(tmp_path_factory):
    """One `serve --https` for the tests of Microsoft's client libraries (MSAL.js, MSAL Python, msal-node, MSAL
    interactive) and of token semantics over TLS.

    Each of those tests signs in with an app registration or a user of its own (so it sees its own consent
    screen) in a browser or session of its own: they share the server, not the state they check.
    """
    server = LiveServer(tmp_path_factory.mktemp("client-libraries"), https=True)
    server.start()
    yield server
    server.stop()


POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


class PostgresServer:
    """A real PostgreSQL server (Debian's `postgresql` package) in a temporary folder, on a free port.

    PostgreSQL refuses to run as root, as the tests do here and in CI: then the server runs as the
    package's `postgres` user (runuser). Clients connect over TCP on loopback, trusted (a throwaway cluster).
    """

    def __init__(self):
        if not POSTGRES_BIN:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does it)")
        self.bin = POSTGRES_BIN[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="idp-postgres-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")

    def run(self, *args):
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120, cwd=self.folder)
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")
        return result

    def start(self):
        data = self.folder / "data"
        self.run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync")
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1 -c fsync=off -c max_connections=200"
        self.run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.folder / "server.log"),
                 "-w", "-t", "60", "start")
        return self

    def sql(self, *statements):
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def create_database(self, name, template=None):
        """Create a database, empty or a copy of the template database; return its SQLAlchemy URL (psycopg 3)."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self.sql(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"{copy}')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, name):
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # FORCE: a test's leftover connections

    def stop(self):
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests fail, never skip, if it cannot start)."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres, tmp_path_factory):
    """The name of a seeded database on the session's PostgreSQL server (app_template's counterpart)."""
    url = postgres.create_database("idp_template")
    for _ in make_app(tmp_path_factory.mktemp("postgres-template"), url):
        pass  # make_app disposes of its engine: a template database must have no connection when copied
    return "idp_template"


DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture
def postgres_url(postgres, postgres_template):
    """The URL of a seeded database of the test's own on the session's PostgreSQL server (CREATE DATABASE … TEMPLATE)."""
    name = f"idp_test_{next(DATABASE_NUMBERS)}"
    yield postgres.create_database(name, template=postgres_template)
    postgres.drop_database(name)
