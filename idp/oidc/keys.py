"""Signing keys and the session secret, in the database: every host sharing it signs and verifies alike.

The first key is created on first start (or moved from IDP_DATA_DIR/keys, where earlier versions kept them, so
tokens issued before still verify), `idp-emulator keys rotate` adds one. Several processes starting at once on an
empty database each offer a key with INSERT … ON CONFLICT DO NOTHING and all read back the one that won.
"""
import base64
import datetime
import json
import secrets
from pathlib import Path
from typing import NamedTuple

import hashlib
import ssl

from sqlalchemy import func, select

from .. import stamps
from ..extensions import db
from ..models import AppSecret, SigningKey
from .tokens import b64url


def _insert_ignoring(model, **values):
    """INSERT a row unless one with the same key is there (ON CONFLICT DO NOTHING); return whether it was inserted."""
    from ..database import dialect_insert

    # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT SQLAlchemy gives a RETURNING clause.
    key = list(model.__table__.primary_key.columns)
    statement = dialect_insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    return db.session.execute(statement).first() is not None


def session_secret(data_dir):
    """Return the secret that signs browser cookies and CSRF tokens, the same for every host on this database.

    Created once, race-safe; a data folder from an earlier version gives its secret-key file's value, so the
    browsers' cookies stay valid.
    """
    stored = select(AppSecret.value).where(AppSecret.name == "session")
    found = db.session.scalar(stored)
    if found is not None:  # every start but the first: no write
        return found
    legacy = Path(data_dir) / "secret-key"
    candidate = legacy.read_text().strip() if legacy.is_file() else ""
    _insert_ignoring(AppSecret, name="session", value=candidate or secrets.token_urlsafe(48))
    db.session.commit()
    return db.session.scalar(stored)


class KeyStore:
    """The signing keys of the database; the newest signs, all of them verify."""

    def __init__(self, data_dir):
        self.legacy = Path(data_dir) / "keys"  # where earlier versions kept the keys (index.json, kid.pem, kid.crt)
        # One immutable snapshot of the loaded keys, swapped whole when the "keys" version changes (safe for
        # gunicorn's threads): version, [(kid, joserfc RSAKey, x5c, x5t)] newest last, and the public KeySet
        # every token check uses.
        self._loaded = None

    def ensure(self):
        """Give the database its first key if it has none: the data folder's earlier keys, else a new one."""
        if db.session.scalar(select(SigningKey.seq).limit(1)) is not None:
            return
        offered = self._legacy_keys() or [_new_key()]
        for seq, (kid, private_pem, certificate_pem) in enumerate(offered, 1):
            _insert_ignoring(SigningKey, seq=seq, kid=kid, private_pem=private_pem, certificate_pem=certificate_pem)
        stamps.bump("keys")
        db.session.commit()

    def rotate(self):
        """Add a new signing key; older keys stay published so earlier tokens still verify."""
        while True:
            top = db.session.scalar(select(func.max(SigningKey.seq))) or 0
            kid, private_pem, certificate_pem = _new_key()
            if _insert_ignoring(SigningKey, seq=top + 1, kid=kid, private_pem=private_pem,
                                certificate_pem=certificate_pem):
                stamps.bump("keys")
                db.session.commit()
                return kid
            db.session.rollback()  # another process rotated at the same moment: take the next number

    def _legacy_keys(self):
        try:
            kids = json.loads((self.legacy / "index.json").read_text())
            return [(kid, (self.legacy / f"{kid}.pem").read_text(), (self.legacy / f"{kid}.crt").read_text())
                    for kid in kids]
        except (OSError, ValueError):
            return []

    def _load(self):
        """Return the loaded keys, (re)loading them when the "keys" version changed (a rotation on any host).

        Called on every use: no query beyond the request's read of the versions when nothing changed.
        """
        version = stamps.version("keys")
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        rows = db.session.execute(select(SigningKey.kid, SigningKey.private_pem, SigningKey.certificate_pem)
                                  .order_by(SigningKey.seq)).all()
        if not rows:
            self.ensure()
            return self._load()
        # Here, not at import: a server starts without cryptography and joserfc (cold start); its first token loads them.
        from cryptography.hazmat.primitives import serialization
        from joserfc.jwk import KeySet, RSAKey

        keys = []
        for kid, private_pem, certificate_pem in rows:
            der = ssl.PEM_cert_to_DER_cert(certificate_pem)  # the certificate's bytes, for x5c and x5t
            # Our own keys (written by _new_key): skip OpenSSL's RSA consistency check, which costs
            # ~150 ms per key in every worker process; the result is the same key.
            private = serialization.load_pem_private_key(private_pem.encode(), None, unsafe_skip_rsa_key_validation=True)
            key = RSAKey(private, private_pem.encode(), {"kid": kid, "use": "sig", "alg": "RS256"})
            keys.append((kid, key, base64.b64encode(der).decode(), b64url(_sha1(der))))
        key_set = KeySet([RSAKey.import_key(k.as_dict(private=False)) for _, k, _, _ in keys])
        loaded = self._loaded = _Loaded(version, keys, key_set)
        return loaded

    @property
    def signing_key(self):
        return self._load().keys[-1][1]

    def key_set(self):
        """Return the public keys as a joserfc KeySet, for verifying tokens (built once per set of keys)."""
        return self._load().key_set

    def jwks(self, issuer):
        """Return the JWKS document in Microsoft's shape (kty, use, kid, x5t, n, e, x5c, issuer).

        Built on each call: the published-documents layer (idp.oidc.published) keeps the bytes served.
        """
        out = []
        for kid, key, x5c, x5t in reversed(self._load().keys):
            public = key.as_dict(private=False)
            out.append({"kty": "RSA", "use": "sig", "kid": kid, "x5t": x5t,
                        "n": public["n"], "e": public["e"], "x5c": [x5c], "issuer": issuer})
        return {"keys": out}


def _new_key():
    """Return (kid, private key PEM, self-signed certificate PEM) of a new RSA signing key."""
    # Here, not at import: a server that already has its keys never builds a certificate (cold start).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp-emulator token signing")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    kid = b64url(_sha1(cert.public_bytes(serialization.Encoding.DER)))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return kid, pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


class _Loaded(NamedTuple):
    version: int
    keys: list
    key_set: object  # joserfc's KeySet


def _sha1(data):
    return hashlib.sha1(data, usedforsecurity=False).digest()  # a certificate thumbprint (x5t), not a security check
