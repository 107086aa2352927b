"""The Espace Client's seed data (client_app/seed_data.yaml): firm, CGU, known clients, the demo dossier."""
import datetime
from functools import lru_cache

import yaml
from flask import current_app


@lru_cache(maxsize=4)
def _read(path):
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    for key in ("firm", "cgu", "dossier"):
        data.setdefault(key, {})
    data.setdefault("clients", [])
    return data


def data():
    """Return the seed data of the running app."""
    return _read(current_app.config["CLIENT_SEED_DATA"])


def known_client(email):
    """Return the seed entry of a client the firm already knows, or {}."""
    email = (email or "").strip().lower()
    return next((c for c in data()["clients"] if str(c.get("email", "")).lower() == email), {})


def accepted_on(entry):
    """Return when a known client accepted the CGU (seed data), or None for a new client."""
    value = entry.get("cgu_accepted")
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time(9, 0))
    if isinstance(value, str) and value:
        return datetime.datetime.fromisoformat(value)
    return None
