"""docker-compose.yml: the idp and client services, and PostgreSQL under an optional profile."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_idp_and_the_client_services_served_by_gunicorn_commands():
    services = compose()["services"]
    idp, client = services["idp"], services["client"]
    assert idp["command"][:2] == ["idp-emulator", "serve"] and "0.0.0.0" in idp["command"]
    assert client["command"][:2] == ["idp-emulator", "client"] and "0.0.0.0" in client["command"]
    assert "profiles" not in idp and "profiles" not in client
    # Published on the host's loopback only: the mailbox and the phone show codes to whoever reaches them.
    assert {"127.0.0.1:8400:8400", "127.0.0.1:8401:8401"} <= set(idp["ports"])


def test_client_reaches_the_idp_at_the_address_the_browser_uses():
    services = compose()["services"]
    client = services["client"]
    assert client["network_mode"] == "service:idp"
    env = client["environment"]
    assert env["CLIENT_AUTHORITY"] == "http://localhost:8400/bakertillyrecette.onmicrosoft.com/v2.0"
    assert env["CLIENT_BASE_URL"] == "http://localhost:8401"
    assert services["idp"]["environment"]["IDP_BASE_URL"] == "http://localhost:8400"


def test_postgres_is_an_optional_profile_and_the_idp_can_point_at_it():
    document = compose()
    postgres = document["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert postgres["image"].startswith("postgres:")
    url = document["x-postgres-url"]
    env = postgres["environment"]
    assert url == (f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
                   f"{env['POSTGRES_DB']}")
    assert "IDP_DATABASE_URL" in document["services"]["idp"]["environment"]


def test_the_image_installs_the_postgres_driver_and_both_apps():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'pip install ".[postgres]"' in dockerfile
    assert "COPY client_app" in dockerfile and "COPY idp" in dockerfile and "COPY seeds" in dockerfile


def test_the_postgres_profile_runs_two_idp_replicas_on_one_database_behind_one_port():
    document = compose()
    services = document["services"]
    idp, replica, balancer = services["idp"], services["idp-replica"], services["balancer"]
    assert replica["profiles"] == balancer["profiles"] == ["postgres"]
    # The replica: the same image and command, the same public URL, the profile's database, its own data folder.
    assert replica["image"] == idp["image"] and replica["command"][:2] == ["idp-emulator", "serve"]
    assert replica["environment"]["IDP_BASE_URL"] == idp["environment"]["IDP_BASE_URL"] == "http://localhost:8400"
    assert replica["environment"]["IDP_DATABASE_URL"] == document["x-postgres-url"]
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["volumes"] != idp["volumes"] and "idp-replica-data" in document["volumes"]
    # The balancer: nginx in the idp's network namespace, so it answers on the published port 8400 where the
    # browser and the Espace Client reach the IdP; the idp then listens on IDP_PORT (8410 with this profile).
    assert balancer["image"].startswith("nginx:") and balancer["network_mode"] == "service:idp"
    assert "${IDP_PORT:-8400}" in idp["command"]
    mount = next(v for v in balancer["volumes"] if v.endswith("/etc/nginx/conf.d/default.conf:ro"))
    conf = (ROOT / mount.split(":")[0]).read_text()
    assert "listen 8400;" in conf and "server 127.0.0.1:8410;" in conf and "server idp-replica:8400;" in conf
    assert "proxy_set_header Host $http_host;" in conf
    header = (ROOT / "docker-compose.yml").read_text()
    assert f"IDP_PORT=8410 IDP_DATABASE_URL={document['x-postgres-url']} docker compose --profile postgres up" in header
