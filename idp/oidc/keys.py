"""Signing keys kept in IDP_DATA_DIR/keys: created on first start, rotated by `idp-emulator keys rotate`."""
import base64
import datetime
import fcntl
import json
import os
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import KeySet, RSAKey

from .. import stamps


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyStore:
    """The signing keys of one data folder; the newest signs, all of them verify."""

    def __init__(self, folder):
        self.folder = Path(folder) / "keys"
        self.index = self.folder / "index.json"  # the list of key ids, oldest first; replaced whole on rotation
        # One immutable snapshot of the loaded keys, swapped whole when the index changes on disk
        # (safe for gunicorn's threads): index version, [(kid, joserfc RSAKey, x5c, x5t)] newest last,
        # and the public KeySet every token check uses.
        self._loaded = None

    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = open(self.folder / ".lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def ensure(self):
        """Create the first key if the folder has none (safe across processes)."""
        if self.index.exists():
            return
        with self._locked():
            if not self.index.exists():
                self._add_key()

    def rotate(self):
        """Add a new signing key; older keys stay published so earlier tokens still verify."""
        with self._locked():
            return self._add_key()

    def _add_key(self):
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
        der = cert.public_bytes(serialization.Encoding.DER)
        kid = _b64url(_sha1(der))
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_path = self.folder / f"{kid}.pem"
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        (self.folder / f"{kid}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        index = self._read_index()
        index.append(kid)
        tmp = self.index.with_suffix(".tmp")
        tmp.write_text(json.dumps(index))
        tmp.replace(self.index)
        self._loaded = None
        return kid

    def _read_index(self):
        try:
            return json.loads(self.index.read_text())
        except FileNotFoundError:
            return []

    def _load(self):
        """Return the loaded keys, (re)loading them when the index changed on disk (another process rotated them).

        Called on every use: one stat of the index when nothing changed.
        """
        version = stamps.version(self.index)
        if version is None:
            self.ensure()
            version = stamps.version(self.index)
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        keys = []
        for kid in self._read_index():
            pem = (self.folder / f"{kid}.pem").read_bytes()
            cert = x509.load_pem_x509_certificate((self.folder / f"{kid}.crt").read_bytes())
            der = cert.public_bytes(serialization.Encoding.DER)
            # Our own keys (written by _add_key): skip OpenSSL's RSA consistency check, which costs
            # ~150 ms per key in every worker process; the result is the same key.
            private = serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)
            key = RSAKey(private, pem, {"kid": kid, "use": "sig", "alg": "RS256"})
            keys.append((kid, key, base64.b64encode(der).decode(), _b64url(_sha1(der))))
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


class _Loaded(NamedTuple):
    version: tuple
    keys: list
    key_set: KeySet


def _sha1(data):
    digest = hashes.Hash(hashes.SHA1())
    digest.update(data)
    return digest.finalize()
