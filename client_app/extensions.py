"""The Espace Client's own extensions (never the IdP's: separate database, session and secrets)."""
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
oauth = OAuth()


class PinnedCASession(OAuth2Session):
    """Pass the configured CA bundle with every request (REQUESTS_CA_BUNDLE in the environment beats session.verify)."""

    def request(self, method, url, withhold_token=False, auth=None, **kwargs):
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, withhold_token=withhold_token, auth=auth, **kwargs)
