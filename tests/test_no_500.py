"""Every URL of both apps, given garbage (unknown ids, odd methods, junk bodies), answers below 500."""
import pytest

from client_app import create_app as create_client_app

JUNK_VALUES = ["x", "-1", "a" * 300]


def concrete_paths(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for value in JUNK_VALUES:
            values = {arg: value for arg in rule.arguments}
            try:
                path = app.url_map.bind("localhost").build(rule.endpoint, values, append_unknown=False)
            except Exception:
                continue
            yield rule, path


def hit_everything(app, client):
    failures = []
    for rule, path in concrete_paths(app):
        for method in ("GET", "POST", "PUT", "DELETE"):
            for kwargs in ({}, {"data": {"x": "é" * 50, "csrf_token": "junk"}}, {"json": {"email": 5, "x": [1]}},
                           {"data": b"\xff\xfe{", "content_type": "application/json"}):
                response = client.open(path, method=method, **kwargs)
                # The Espace Client's one deliberate 5xx: its French "IdP unreachable" page (503).
                unreachable = response.status_code == 503 and b'data-screen="client-error"' in response.data
                if response.status_code >= 500 and not unreachable:
                    failures.append((method, path, kwargs.keys(), response.status_code))
    return failures


def test_idp_never_answers_500(app, client):
    assert hit_everything(app, client) == []


@pytest.fixture
def client_app(tmp_path):
    return create_client_app({"TESTING": True, "CLIENT_DATA_DIR": str(tmp_path / "client"),
                              "CLIENT_AUTHORITY": "http://127.0.0.1:9/tenant/v2.0"})


def test_client_app_never_answers_500(client_app):
    assert hit_everything(client_app, client_app.test_client()) == []
