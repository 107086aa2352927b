"""A client secret is checked against its slow hash once per process, then against a SHA-256 kept in memory."""
from werkzeug.security import generate_password_hash

from idp import models
from idp.models import Client


def counting_check(monkeypatch):
    calls = []
    real = models.check_password_hash

    def check(stored, secret):
        calls.append(secret)
        return real(stored, secret)

    monkeypatch.setattr(models, "check_password_hash", check)
    return calls


def test_a_matched_secret_is_not_hashed_again(monkeypatch):
    client = Client(client_id="c1", secret_hash=generate_password_hash("s3cret", method="scrypt:32768:8:1"))
    calls = counting_check(monkeypatch)
    assert client.check_secret("s3cret")
    assert client.check_secret("s3cret")
    assert client.check_secret("s3cret")
    assert len(calls) == 1


def test_a_wrong_secret_is_refused_after_the_right_one_matched(monkeypatch):
    client = Client(client_id="c2", secret_hash=generate_password_hash("right", method="pbkdf2:sha256:1000"))
    assert client.check_secret("right")
    assert not client.check_secret("wrong")
    assert not client.check_secret("")
    assert not client.check_secret(None)


def test_a_new_secret_hash_forgets_the_old_secret():
    client = Client(client_id="c3", secret_hash=generate_password_hash("old", method="pbkdf2:sha256:1000"))
    assert client.check_secret("old")
    client.secret_hash = generate_password_hash("new", method="pbkdf2:sha256:1000")
    assert not client.check_secret("old")
    assert client.check_secret("new")


def test_a_public_client_has_no_secret_to_match():
    assert not Client(client_id="c4", secret_hash=None).check_secret("anything")
