"""Seed files and control-API user bodies: one user rule, one-line errors naming file, entry and field; resets that
check before they wipe and keep what `up` registered."""
import shutil

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from idp import seeds
from idp.extensions import db
from idp.models import Client, User

from ..conftest import CLIENT_ID, PASSWORD


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), path)
    return path


def refused(app, folder, match):
    with app.app_context(), pytest.raises(seeds.SeedError) as caught:
        seeds.load(folder)
    message = str(caught.value)
    assert "\n" not in message and match in message, message
    return message


@pytest.mark.parametrize("entry, field", [
    ("name: [1]", "name"),
    ("locked: 'no'", "locked"),
    ("locked: yes-please", "locked"),
    ("locked: true\n  locked_seconds: soon", "locked_seconds"),
    ("locked_seconds: 99999999999999999999", "locked_seconds"),
    ("consents: espace-client", "consents"),
    ("phone: 0612345678", "phone"),
    ("country: France", "country"),
    ("totp_secret: '!!!'", "totp_secret"),
    ("birth_date: tomorrow", "birth_date"),
    ("invited: 1", "invited"),
])
def test_a_mistyped_user_field_is_refused_in_one_line(app, folder, entry, field):
    (folder / "users.yaml").write_text(f"- email: a@example.fr\n  password: x\n  {entry}\n", encoding="utf-8")
    message = refused(app, folder, f"entry 1, field '{field}'")
    assert "users.yaml" in message


def test_a_string_where_a_list_is_expected_is_refused_not_split_into_characters(app, folder):
    (folder / "clients.yaml").write_text(
        f"- client_id: {CLIENT_ID}\n  name: Espace\n  redirect_uris: [http://localhost:8401/auth/callback]\n"
        "  roles: User.Invite.All\n", encoding="utf-8")
    refused(app, folder, "clients.yaml, entry 1, field 'roles'")
    (folder / "clients.yaml").write_text(
        f"- client_id: {CLIENT_ID}\n  name: Espace\n  post_logout_redirect_uris: http://localhost:8401/\n", encoding="utf-8")
    refused(app, folder, "field 'post_logout_redirect_uris'")


def test_tenant_and_client_names_must_be_text(app, folder):
    text = (folder / "tenant.yaml").read_text(encoding="utf-8")
    (folder / "tenant.yaml").write_text("\n".join("name: [1]" if line.startswith("name:") else line
                                                  for line in text.splitlines()) + "\n", encoding="utf-8")
    refused(app, folder, "tenant.yaml, field 'name'")


def test_a_file_that_is_not_utf8_is_refused(app, folder):
    (folder / "users.yaml").write_bytes("- email: a@example.fr\n  name: Cl\u00e9ment\n  password: x\n".encode("latin-1"))
    refused(app, folder, "users.yaml: is not UTF-8 text")


def test_a_yaml_alias_bomb_is_refused_before_it_expands(app, folder):
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(["*" + chr(97 + i)] * 9) + "]\n" for i in range(8))
    assert len(bomb) < 400
    tenant = (folder / "tenant.yaml").read_text(encoding="utf-8")
    (folder / "tenant.yaml").write_text(bomb, encoding="utf-8")
    refused(app, folder, "aliases expand to more than")
    (folder / "tenant.yaml").write_text(tenant, encoding="utf-8")
    (folder / "users.yaml").write_text("&a [*a]\n", encoding="utf-8")
    refused(app, folder, "recursive alias")


def test_small_anchors_and_merge_keys_still_work(app, folder):
    (folder / "users.yaml").write_text(
        "- &base {email: a@example.fr, password: x, state: registered}\n- <<: *base\n  email: b@example.fr\n",
        encoding="utf-8")
    with app.app_context():
        seeds.load(folder)
        assert User.by_email("b@example.fr").has_account


def test_a_huge_clock_offset_is_refused(app, folder):
    (folder / "settings.yaml").write_text("clock_offset_seconds: 99999999999999999\n", encoding="utf-8")
    with app.app_context(), pytest.raises(seeds.SeedError, match="settings.yaml, field 'clock_offset_seconds'"):
        seeds.read_settings(folder)


def test_the_control_api_applies_the_same_user_rule(client):
    base = {"email": "api@example.fr", "password": PASSWORD}
    for extra, field in (({"locked": "no"}, "locked"), ({"consents": "abc"}, "consents"),
                         ({"locked_seconds": "soon"}, "locked_seconds"), ({"name": [1]}, "name"),
                         ({"country": "France"}, "country")):
        response = client.post("/_emulator/api/users", json={**base, **extra})
        assert response.status_code == 400, (extra, response.get_json())
        assert f"'{field}'" in response.get_json()["error"]["message"]
    assert client.post("/_emulator/api/users", json=base).status_code == 201


# --- resets ------------------------------------------------------------------------------------

def user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_cli_reset_with_an_unknown_or_broken_scenario_wipes_nothing(app, folder, monkeypatch):
    from idp import cli

    monkeypatch.setenv("IDP_DATA_DIR", app.config["IDP_DATA_DIR"])
    monkeypatch.setenv("IDP_PASSWORD_HASH", "pbkdf2:sha256:1000")
    before = user_count(app)
    assert before > 0
    result = CliRunner().invoke(cli.main, ["reset", "--scenario", "typo"])
    assert result.exit_code != 0 and "no such seed folder" in result.output
    (folder / "users.yaml").write_text("- email: a@example.fr\n  state: flying\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["reset", "--scenario", str(folder)])
    assert result.exit_code != 0 and "'state'" in result.output
    assert user_count(app) == before


def test_control_api_reset_keeps_the_espace_client_urls_up_registered(app, client):
    with app.app_context():
        seeds.register_client_urls(CLIENT_ID, "http://localhost:9555")
    assert client.post("/_emulator/api/reset", json={"scenario": "default"}).status_code == 200
    with app.app_context():
        registered = db.session.get(Client, CLIENT_ID)
        assert "http://localhost:9555/auth/callback" in registered.redirect_uris
        assert "http://127.0.0.1:9555/auth/callback" in registered.redirect_uris
        assert "http://localhost:9555/" in registered.post_logout_redirect_uris
